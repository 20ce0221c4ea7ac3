"""The thin, synchronous adapter between the smoke and the Kubernetes API.

It uses the official ``kubernetes`` client's ``ApiClient`` for configuration, authentication and
transport, and speaks plain JSON: objects go in and come out as dicts, the same dicts
``kura_core`` renders. Writes are a create, or a server-side apply under the field manager
``kura-smoke`` with ``force`` over an object the caller has read and found to be the smoke's own;
deletes carry the uid read before them as a precondition.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import config as kube_config
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.exceptions import ApiException
from pydantic import BaseModel, ConfigDict
from urllib3.exceptions import HTTPError

from kura_core import GROUP, VERSION, InputError

FIELD_MANAGER = "kura-smoke"
APPLY = "application/apply-patch+yaml"
JSON = "application/json"


@dataclass(frozen=True)
class Kind:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    def path(self, namespace: str | None, name: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced:
            if not namespace:
                raise ValueError(f"{self.kind} is namespaced: a namespace is required")
            base += f"/namespaces/{namespace}"
        return f"{base}/{self.plural}" + (f"/{name}" if name else "")


KURA_GATEWAY = Kind(GROUP, VERSION, "kuragateways", "KuraGateway")
KURA_INSTANCE = Kind(GROUP, VERSION, "kurainstances", "KuraInstance")
SERVICE = Kind("", "v1", "services", "Service")
SECRET = Kind("", "v1", "secrets", "Secret")
DEPLOYMENT = Kind("apps", "v1", "deployments", "Deployment")
INGRESS = Kind("networking.k8s.io", "v1", "ingresses", "Ingress")
INGRESS_CLASS = Kind("networking.k8s.io", "v1", "ingressclasses", "IngressClass", namespaced=False)
GATEWAY = Kind("gateway.networking.k8s.io", "v1", "gateways", "Gateway")
LISTENER_SET = Kind("gateway.networking.k8s.io", "v1", "listenersets", "ListenerSet")
HTTP_ROUTE = Kind("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute")
GRPC_ROUTE = Kind("gateway.networking.k8s.io", "v1", "grpcroutes", "GRPCRoute")
_BY_KIND = {kind.kind: kind for kind in (KURA_GATEWAY, KURA_INSTANCE)}


def kind_of(obj: Mapping[str, Any]) -> Kind:
    """The kind of a KuraGateway or KuraInstance object."""
    return _BY_KIND[str(obj["kind"])]


class ObjectRef(BaseModel):
    """``namespace/name`` of a namespaced object."""

    model_config = ConfigDict(frozen=True)

    namespace: str
    name: str

    @classmethod
    def parse(cls, text: str, *, option: str) -> ObjectRef:
        namespace, sep, name = text.partition("/")
        if not (sep and namespace and name) or "/" in name:
            raise InputError(f"{option} {text!r}: expected NAMESPACE/NAME")
        return cls(namespace=namespace, name=name)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class KubeError(Exception):
    """An answer (status > 0) or no answer (status 0) the smoke could not use."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"{status} {message}" if status else message)


def load_api_client(kubeconfig: Path | None, context: str | None) -> ApiClient:
    """An ``ApiClient`` from a kubeconfig, or the in-cluster service account when there is none.

    ``kubeconfig`` None means ``$KUBECONFIG`` or ``~/.kube/config``, as kubectl does.
    """
    configuration = Configuration()
    try:
        kube_config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig) if kubeconfig else None,
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )
    except (kube_config.ConfigException, OSError, ValueError) as exc:
        if kubeconfig is not None:
            raise KubeError(0, f"cannot load kubeconfig {kubeconfig}: {exc}") from exc
        try:
            kube_config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=configuration
            )
        except kube_config.ConfigException:
            raise KubeError(
                0, f"no usable kubeconfig ({exc}) and not running in a cluster"
            ) from exc
    return ApiClient(configuration=configuration)


class KubeClient:
    """GET, create, server-side apply and DELETE of single objects, with one typed error."""

    def __init__(self, api: ApiClient, *, timeout: float = 15.0) -> None:
        self.api = api
        self.timeout = timeout

    def close(self) -> None:
        self.api.close()  # type: ignore[no-untyped-call]

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: object = None,
        content_type: str = JSON,
    ) -> dict[str, Any]:
        serialized = self.api.param_serialize(
            method=method,
            resource_path=path,
            query_params=list((query or {}).items()),
            header_params={"Content-Type": content_type, "Accept": JSON},
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response = self.api.call_api(
                serialized[0],
                serialized[1],
                header_params=serialized[2],
                body=serialized[3],
                _request_timeout=self.timeout,
            )
            data = response.read()  # type: ignore[no-untyped-call]
        except (HTTPError, ApiException, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise KubeError(0, f"{method} {path}: no answer ({reason})") from exc
        try:
            payload = json.loads(data) if data else {}
        except ValueError:
            payload = {}
        if response.status >= 400:
            message = payload.get("message") if isinstance(payload, dict) else None
            raise KubeError(response.status, str(message or f"{method} {path}"))
        return payload if isinstance(payload, dict) else {}

    def version(self) -> dict[str, Any]:
        return self._request("GET", "/version")

    def get(self, kind: Kind, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            return self._request("GET", kind.path(namespace, name))
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    def create(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """POST a KuraGateway or KuraInstance: 409 when it exists, so nothing is overwritten."""
        kind = kind_of(obj)
        return self._request(
            "POST",
            kind.path(obj["metadata"].get("namespace")),
            query={"fieldManager": FIELD_MANAGER},
            body=dict(obj),
        )

    def apply(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side apply of a KuraGateway or KuraInstance as rendered."""
        kind = kind_of(obj)
        metadata = obj["metadata"]
        return self._request(
            "PATCH",
            kind.path(metadata.get("namespace"), str(metadata["name"])),
            query={"fieldManager": FIELD_MANAGER, "force": "true"},
            body=dict(obj),
            content_type=APPLY,
        )

    def delete(self, kind: Kind, namespace: str | None, name: str, *, uid: str) -> bool:
        """Delete the object with this uid: True when deleted, False when it was already gone.

        A 409 (KubeError) means the name now holds another object, which is left alone.
        """
        try:
            self._request(
                "DELETE",
                kind.path(namespace, name),
                body={"preconditions": {"uid": uid}},
            )
        except KubeError as exc:
            if exc.status == 404:
                return False
            raise
        return True
