"""The synchronous client: the smoke tool and the dashboard reach the Kubernetes API with it.

It uses the official ``kubernetes`` client for configuration, authentication and transport, and
speaks plain JSON: objects go in and come out as dicts, the same dicts ``kura_core`` renders.
No client retries: an unreachable API server shows at once, and the callers poll on their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from kubernetes import config as kube_config
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError, NewConnectionError, TimeoutError

from kura_core import Kind, transport_reason
from kura_kube import requests
from kura_kube.errors import ConfigError, KubeError
from kura_kube.requests import Request


def load_configuration(kubeconfig: Path | None = None, context: str | None = None) -> Configuration:
    """The client configuration of a kubeconfig, or of the in-cluster service account when no
    kubeconfig was named and none is found.

    ``kubeconfig`` None means ``$KUBECONFIG`` or ``~/.kube/config``, as kubectl does. A
    kubeconfig that cannot be used is one :class:`ConfigError`.
    """
    configuration = Configuration()
    try:
        kube_config.load_kube_config(
            config_file=str(kubeconfig) if kubeconfig else None,
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )
    except (kube_config.ConfigException, OSError, ValueError) as exc:
        if kubeconfig is not None:
            raise ConfigError(f"cannot load the kubeconfig {kubeconfig}: {exc}") from None
        try:
            kube_config.load_incluster_config(client_configuration=configuration)
        except kube_config.ConfigException:
            raise ConfigError(
                f"no usable kubeconfig ({exc}) and not running in a cluster"
            ) from None
    configuration.retries = False
    return configuration


class KubeClient:
    """Sends :class:`~kura_kube.requests.Request` s, with one error type: :class:`KubeError`."""

    def __init__(self, api: ApiClient, *, timeout: float = 15.0) -> None:
        self.api = api
        self.timeout = timeout

    @classmethod
    def from_kubeconfig(
        cls, kubeconfig: Path | None = None, context: str | None = None, *, timeout: float = 15.0
    ) -> KubeClient:
        return cls(ApiClient(load_configuration(kubeconfig, context)), timeout=timeout)

    @property
    def host(self) -> str:
        """The API server's URL."""
        return str(self.api.configuration.host)

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def send(self, request: Request) -> dict[str, Any]:
        """The decoded answer; :class:`KubeError` for a refusal, or for no answer (status 0,
        reason ``Timeout`` or ``Unreachable``)."""
        serialized = self.api.param_serialize(**requests.client_arguments(request))
        try:
            response = self.api.call_api(
                serialized[0],
                serialized[1],
                header_params=serialized[2],
                body=serialized[3],
                _request_timeout=self.timeout,
            )
            data = response.read()
        except (HTTPError, ApiException, OSError) as exc:
            # urllib3 counts a refused connection as a connect timeout: it is not one.
            if isinstance(exc, TimeoutError) and not isinstance(exc, NewConnectionError):
                raise KubeError(
                    0, "Timeout", f"nothing within {self.timeout:g}s", action=request.action
                ) from exc
            raise KubeError(0, "Unreachable", transport_reason(exc), action=request.action) from exc
        return requests.answer(
            request, response.status, response.reason or "", data, response.getheader("Retry-After")
        )

    def version(self) -> dict[str, Any]:
        return self.send(requests.version())

    def get(self, kind: Kind, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The object, or ``None`` when it does not exist."""
        try:
            return self.send(requests.get(kind, namespace, name))
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    def list(
        self, kind: Kind, namespace: str | None, *, label_selector: str = ""
    ) -> list[dict[str, Any]]:
        answer = self.send(requests.list_objects(kind, namespace, label_selector=label_selector))
        return [item for item in answer.get("items") or [] if isinstance(item, dict)]

    def create(self, obj: Mapping[str, Any], *, field_manager: str) -> dict[str, Any]:
        """POST ``obj``: 409 (:class:`KubeError`) when it exists, so nothing is overwritten."""
        return self.send(requests.create(obj, field_manager=field_manager))

    def apply(self, obj: Mapping[str, Any], *, field_manager: str) -> dict[str, Any]:
        """Server-side apply of ``obj`` as given, forced."""
        return self.send(requests.apply(obj, field_manager=field_manager))

    def delete(self, kind: Kind, namespace: str | None, name: str, *, uid: str) -> bool:
        """Delete the object with this uid: True when deleted, False when it was already gone.

        A 409 (:class:`KubeError`) means the name now holds another object, which is left alone.
        """
        try:
            self.send(requests.delete(kind, namespace, name, uid=uid))
        except KubeError as exc:
            if exc.status == 404:
                return False
            raise
        return True
