"""The asynchronous client: the operator reaches the Kubernetes API with it.

The same requests (:mod:`kura_kube.requests`) and the same error (:class:`KubeError`) as the
synchronous client, over the official client's asyncio transport (aiohttp), plus watches
streamed line by line.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
from kubernetes.aio import config as kube_config
from kubernetes.aio.client import ApiClient as ApiClient
from kubernetes.aio.client import Configuration

from kura_core import Kind
from kura_kube import requests
from kura_kube.errors import ConfigError, KubeError
from kura_kube.requests import Request

# Told the verb and HTTP status of every request sent (0: no answer), for metrics.
AnswerRecorder = Callable[[str, int], None]


def _ignore(verb: str, status: int) -> None:
    return None


def _no_answer(request: Request, exc: BaseException) -> KubeError:
    """A request that got no answer, or lost it midway: timed out, or the connection failed."""
    reason = "Timeout" if isinstance(exc, TimeoutError) else "Unreachable"
    return KubeError(0, reason, type(exc).__name__, action=request.action)


def _answer(request: Request, response: Any, data: bytes) -> dict[str, Any]:
    retry_after = response.headers.get("Retry-After")
    return requests.answer(request, response.status, response.reason or "", data, retry_after)


async def connect(kubeconfig: Path | None = None) -> ApiClient:
    """An API client from ``kubeconfig``; else, in a pod, from its service account; else from
    ``$KUBECONFIG`` or ``~/.kube/config``. :class:`ConfigError` when none is usable."""
    configuration = Configuration()
    if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            kube_config.load_incluster_config(client_configuration=configuration)
        except kube_config.ConfigException as exc:
            raise ConfigError(f"cannot use the pod's service account: {exc}") from None
    else:
        path = str(kubeconfig or os.environ.get("KUBECONFIG") or Path.home() / ".kube/config")
        # The loader only logs a missing file, then fails on the empty configuration. (A
        # $KUBECONFIG list is the loader's to merge.)
        if os.pathsep not in path and not Path(path).is_file():
            raise ConfigError(f"cannot load the Kubernetes configuration: no file {path}")
        try:
            await kube_config.load_kube_config(config_file=path, client_configuration=configuration)
        except (kube_config.ConfigException, OSError, ValueError) as exc:
            raise ConfigError(f"cannot load the Kubernetes configuration {path}: {exc}") from None
    # The environment's proxy for the API server is looked up once, here: the client's own
    # lookup (aiohttp's trust_env) reads it, and ~/.netrc, in a thread on every request.
    server = urlsplit(configuration.host)
    proxy = getproxies().get(server.scheme)
    if not configuration.proxy and proxy and not proxy_bypass(server.hostname or ""):
        configuration.proxy = proxy
    configuration.client_session_kwargs = {"trust_env": False}
    return ApiClient(configuration)


class AsyncKubeClient:
    """Sends :class:`~kura_kube.requests.Request` s, with one error type: :class:`KubeError`."""

    def __init__(
        self, api: ApiClient, *, timeout: float = 30.0, on_answer: AnswerRecorder = _ignore
    ) -> None:
        self.api = api
        self.timeout = timeout
        self.on_answer = on_answer

    async def close(self) -> None:
        await self.api.close()

    async def _respond(
        self, request: Request, timeout: float | aiohttp.ClientTimeout, *, stream: bool
    ) -> tuple[Any, bytes]:
        """The response and, unless ``stream`` and answered, its body."""
        serialized = await self.api.param_serialize(**requests.client_arguments(request))
        try:
            response = await self.api.call_api(
                serialized[0],
                serialized[1],
                header_params=serialized[2],
                body=serialized[3],
                _request_timeout=timeout,
            )
            data = b"" if stream and response.status < 400 else await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.on_answer(request.verb, 0)
            raise _no_answer(request, exc) from exc
        self.on_answer(request.verb, response.status)
        return response, data

    async def send(self, request: Request) -> dict[str, Any]:
        """The decoded answer; :class:`KubeError` for a refusal, or for no answer (status 0)."""
        response, data = await self._respond(request, self.timeout, stream=False)
        return _answer(request, response, data)

    async def stream(self, request: Request, *, idle: float) -> AsyncIterator[dict[str, Any]]:
        """The JSON lines of a streamed answer (a watch's events); :class:`KubeError` when it
        is refused, or when nothing arrives for ``idle`` seconds or the connection drops."""
        timeout = aiohttp.ClientTimeout(sock_connect=self.timeout, sock_read=idle)
        response, data = await self._respond(request, timeout, stream=True)
        _answer(request, response, data)  # a refusal raises; an accepted stream has no body yet
        try:
            pending = b""
            async for chunk in response.response.content.iter_any():
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if line.strip():
                        event = json.loads(line)
                        if isinstance(event, dict):
                            yield event
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _no_answer(request, exc) from exc
        finally:
            response.response.release()

    async def get(self, kind: Kind, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The object, or ``None`` when it does not exist."""
        try:
            return await self.send(requests.get(kind, namespace, name))
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    async def serves(self, kind: Kind) -> bool:
        """Whether the server serves ``kind`` at all (its CRD may not be installed)."""
        try:
            return requests.served(await self.send(requests.discover(kind)), kind)
        except KubeError as exc:
            if exc.status == 404:
                return False
            raise
