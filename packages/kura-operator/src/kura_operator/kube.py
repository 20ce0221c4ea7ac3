"""The thin adapter between the operator and the Kubernetes API.

Reads of a watched kind are answered from the operator's cache (:mod:`kura_operator.cache`) once
it has listed that kind, and every write's answer goes into it; other reads go to the server.
Children are written with server-side apply under one field manager with ``force``:
the whole desired object, every time it differs, so the result never depends on merge
semantics. Status and metadata changes are merge patches; metadata patches carry a
resourceVersion precondition, so a stale read fails with 409 and is retried instead of
overwriting someone else's change.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
from kubernetes.aio import config as kube_config
from kubernetes.aio.client import ApiClient, Configuration

from kura_operator.kinds import Kind, kind_of, object_key
from kura_operator.selectors import implies, parse_selector, selected

if TYPE_CHECKING:
    from kura_operator.cache import Cache

# A list's objects (the class's own ``list`` would shadow the builtin in its annotations).
Objects = list[dict[str, Any]]
APPLY = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
JSON = "application/json"

# Answers about the moment, not the request: a timeout, a conflict with another writer (read
# again), throttling, and every 5xx; the same request soon may succeed. Every other 4xx is the
# server refusing the request itself (403 RBAC, 404 a kind not served, 422 an object it will
# not store), which repeats until someone changes the cluster.
TRANSIENT_STATUSES = frozenset({408, 409, 429})
_VERBS = {"GET": "get", "POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}
# What an API server's message could carry that must not reach a log, status or Event: key
# material (PEM blocks), bearer tokens and JWTs, long base64 runs (a Secret's data).
_SECRETS = re.compile(
    r"-----BEGIN [A-Z ]+-----.*?(?:-----END [A-Z ]+-----|$)"
    r"|(?i:bearer)\s+\S+"
    r"|eyJ[\w-]+\.[\w-]+\.[\w-]*"
    # Base64 of random bytes mixes digits and both cases; names, paths and hex digests do not.
    r"|(?<![A-Za-z0-9+/])(?=[A-Za-z0-9+/]*\d)(?=[A-Za-z0-9+/]*[A-Z])(?=[A-Za-z0-9+/]*[a-z])"
    r"[A-Za-z0-9+/]{40,}={0,2}",
    re.DOTALL,
)


class RequestRecorder(Protocol):
    def api_request(self, verb: str, code: int) -> None: ...


def redact(text: str) -> str:
    """``text`` without anything that looks like key material or a token."""
    return _SECRETS.sub("[redacted]", text)


class ApiError(Exception):
    """An answer (or no answer) from the API server that the reconcile could not use.

    ``action`` says what the operator asked for (``apply Deployment kura/x``); the server's
    ``message`` is redacted (:func:`redact`).
    """

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        retry_after: float | None = None,
        action: str = "",
    ) -> None:
        self.status = status
        self.reason = reason
        self.message = redact(message)
        self.retry_after = retry_after
        self.action = action
        super().__init__(f"{status or 'no answer'} {reason}: {self.message}")

    @property
    def transient(self) -> bool:
        """Whether retrying the same request soon may succeed (else it is refused for good)."""
        # 0 is a transport failure: timeouts, refused connections, dropped streams.
        return self.status == 0 or self.status in TRANSIENT_STATUSES or self.status >= 500


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _decoded(data: bytes) -> Any:
    try:
        return json.loads(data) if data else {}
    except ValueError:
        return {}


def _refused(response: Any, data: bytes, fallback: str, action: str) -> ApiError:
    """The error an answer of 400 or more stands for; ``fallback`` when it carries no message."""
    payload = _decoded(data)
    payload = payload if isinstance(payload, dict) else {}
    return ApiError(
        response.status,
        str(payload.get("reason") or response.reason or "Error"),
        str(payload.get("message") or fallback),
        retry_after=_retry_after(response.headers.get("Retry-After")),
        action=action,
    )


class KubeApi:
    """GET, apply, patch and delete, with typed errors, metrics and a dry-run mode."""

    def __init__(
        self,
        client: ApiClient,
        *,
        field_manager: str,
        recorder: RequestRecorder,
        dry_run: bool = False,
        timeout: float = 30.0,
        may_write: Callable[[], bool] | None = None,
        cache: Cache | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        """``may_write``, when given, is asked before every request but a GET: while it says
        no, the request is not sent (the operator no longer holds its leader Lease). ``cache``
        answers the reads of the kinds it watches."""
        self.client = client
        self.cache = cache
        self.field_manager = field_manager
        self.recorder = recorder
        self.dry_run = dry_run
        self.timeout = timeout
        self.may_write = may_write
        self.log = logger or logging.getLogger("kura_operator.kube")

    async def _request(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        """One request (``options`` as :meth:`_send` takes them); its decoded answer."""
        response, data = await self._send(method, path, **options)
        if response.status >= 400:
            raise _refused(response, data, f"{method} {path}", options["action"])
        payload = _decoded(data)
        return payload if isinstance(payload, dict) else {}

    async def _send(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: object = None,
        content_type: str = JSON,
        action: str,
        verb: str | None = None,
        timeout: float | aiohttp.ClientTimeout | None = None,
        stream: bool = False,
    ) -> tuple[Any, bytes]:
        """Send one request: the response and, unless ``stream``, its body. ``action`` says
        what it is for in errors (``apply Deployment kura/x``), ``verb`` names it in the metrics
        when its method does not (``list``)."""
        if method != "GET" and self.may_write is not None and not self.may_write():
            raise ApiError(0, "NotLeader", f"{action} not sent: not the leader")
        serialized = await self.client.param_serialize(
            method=method,
            resource_path=path,
            query_params=list((query or {}).items()),
            header_params={"Content-Type": content_type, "Accept": JSON},
            body=body,
            auth_settings=["BearerToken"],
        )
        verb = verb or _VERBS[method]
        try:
            response = await self.client.call_api(
                serialized[0],
                serialized[1],
                header_params=serialized[2],
                body=serialized[3],
                _request_timeout=timeout or self.timeout,
            )
            data = b"" if stream and response.status < 400 else await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.recorder.api_request(verb, 0)
            raise ApiError(0, "Unreachable", type(exc).__name__, action=action) from exc
        self.recorder.api_request(verb, response.status)
        return response, data

    async def _patch(
        self,
        kind: Kind,
        namespace: str | None,
        name: str,
        body: Mapping[str, Any],
        content_type: str,
        action: str,
        *,
        subresource: str = "",
        query: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """PATCH one object (or its ``subresource``) with ``body``, as :meth:`_write` sends."""
        path = kind.path(namespace, name, subresource)
        sending = self._request(
            "PATCH", path, query=query, body=body, content_type=content_type, action=action
        )
        return await self._write(kind, namespace, name, sending)

    async def _write(
        self, kind: Kind, namespace: str | None, name: str, sending: Awaitable[dict[str, Any]]
    ) -> dict[str, Any]:
        """Send a write of one object; its answer goes into the cache (when it holds that kind),
        and the watch's echo of it is no news (:meth:`Cache.writing`)."""
        if self.cache is None:
            return await sending
        with self.cache.writing(kind, namespace, name):
            answer = await sending
            if answer.get("metadata"):
                self.cache.remember(answer)
            return answer

    async def close(self) -> None:
        await self.client.close()

    async def get(self, kind: Kind, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The object, or ``None`` when it does not exist: from the cache when it watches
        ``kind`` there (only the objects its label selector picks), else from the server."""
        store = None if self.cache is None else self.cache.store(kind, namespace)
        if store is not None:
            return store.get(namespace, name)
        try:
            return await self._request(
                "GET", kind.path(namespace, name), action=f"get {object_key(kind, namespace, name)}"
            )
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def serves(self, kind: Kind) -> bool:
        """Whether the server serves ``kind`` at all (its CRD may not be installed)."""
        base = f"/apis/{kind.group}/{kind.version}" if kind.group else f"/api/{kind.version}"
        try:
            resources = await self._request("GET", base, action=f"discover {kind.api_version}")
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return any(r.get("name") == kind.plural for r in resources.get("resources", []))

    async def list(
        self,
        kind: Kind,
        namespace: str | None,
        *,
        field_selector: str | None = None,
        label_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        """The objects of ``kind`` (in ``namespace``, or everywhere): from the cache when it
        watches ``kind`` there and its selector takes in ``label_selector``'s objects."""
        store = None if self.cache is None else self.cache.store(kind, namespace)
        if store is not None and self.cache is not None and not field_selector:
            wanted = parse_selector(label_selector or "")
            if implies(wanted, parse_selector(self.cache.selector(kind, namespace))):
                return [obj for obj in store.objects(namespace) if selected(obj, wanted)]
        query = {
            key: value
            for key, value in (("fieldSelector", field_selector), ("labelSelector", label_selector))
            if value
        }
        answer = await self._list(kind, namespace, query)
        return [item for item in answer.get("items", []) if isinstance(item, dict)]

    async def _list(
        self, kind: Kind, namespace: str | None, query: Mapping[str, str]
    ) -> dict[str, Any]:
        where = f" in {namespace}" if namespace else ""
        return await self._request(
            "GET",
            kind.path(namespace),
            query=query,
            action=f"list {kind.plural}{where}",
            verb="list",
        )

    async def list_page(
        self, kind: Kind, namespace: str | None, *, label_selector: str, limit: int, token: str
    ) -> tuple[Objects, str, str]:
        """One page of a list from the server: its objects (with apiVersion and kind, which a
        list's items lack), the list's resourceVersion and the token of the next page ("")."""
        query = {"limit": str(limit)}
        if label_selector:
            query["labelSelector"] = label_selector
        if token:
            query["continue"] = token
        answer = await self._list(kind, namespace, query)
        metadata = answer.get("metadata") or {}
        items = [
            {"apiVersion": kind.api_version, "kind": kind.kind, **item}
            for item in answer.get("items", [])
            if isinstance(item, dict)
        ]
        return (
            items,
            str(metadata.get("resourceVersion") or ""),
            str(metadata.get("continue") or ""),
        )

    async def watch(
        self,
        kind: Kind,
        namespace: str | None,
        *,
        label_selector: str,
        version: str,
        seconds: float,
    ) -> AsyncIterator[dict[str, Any]]:
        """The watch events of ``kind`` after ``version``, for ``seconds`` (the server ends the
        watch then); a failed request raises :class:`ApiError`, a 410 among them."""
        query = {
            "watch": "true",
            "allowWatchBookmarks": "true",
            "resourceVersion": version,
            "timeoutSeconds": str(int(seconds)),
        }
        if label_selector:
            query["labelSelector"] = label_selector
        where = f" in {namespace}" if namespace else ""
        action = f"watch {kind.plural}{where}"
        # No answer for a while beyond the server's own timeout: the connection is dead.
        timeout = aiohttp.ClientTimeout(sock_connect=self.timeout, sock_read=seconds + 30)
        response, data = await self._send(
            "GET",
            kind.path(namespace),
            query=query,
            action=action,
            verb="watch",
            timeout=timeout,
            stream=True,
        )
        if response.status >= 400:
            raise _refused(response, data, action, action)
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
            raise ApiError(0, "Unreachable", type(exc).__name__, action=action) from exc
        finally:
            response.response.release()

    async def apply(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side apply of the complete desired object; returns the live object."""
        kind = kind_of(obj)
        metadata = obj["metadata"]
        namespace, name = metadata.get("namespace"), str(metadata["name"])
        if self.dry_run:
            self.log.info(
                "dry run: would apply %s",
                object_key(kind, namespace, name),
                extra={"object": object_key(kind, namespace, name), "desired": obj},
            )
            return dict(obj)
        return await self._patch(
            kind,
            namespace,
            name,
            obj,
            APPLY,
            f"apply {object_key(kind, namespace, name)}",
            query={"fieldManager": self.field_manager, "force": "true"},
        )

    async def patch_status(
        self, kind: Kind, namespace: str | None, name: str, status: Mapping[str, Any]
    ) -> dict[str, Any]:
        if self.dry_run:
            self.log.info(
                "dry run: would set status of %s",
                object_key(kind, namespace, name),
                extra={"object": object_key(kind, namespace, name), "status": status},
            )
            return {"status": dict(status)}
        return await self._patch(
            kind,
            namespace,
            name,
            {"status": status},
            MERGE_PATCH,
            f"write the status of {object_key(kind, namespace, name)}",
            subresource="status",
        )

    async def patch_metadata(
        self,
        kind: Kind,
        namespace: str | None,
        name: str,
        metadata: Mapping[str, Any],
        *,
        resource_version: str,
    ) -> dict[str, Any]:
        """Merge-patch metadata, failing with 409 if the object changed since it was read."""
        if self.dry_run:
            self.log.info(
                "dry run: would patch metadata of %s",
                object_key(kind, namespace, name),
                extra={"object": object_key(kind, namespace, name), "metadata": metadata},
            )
            return {"metadata": dict(metadata)}
        return await self._patch(
            kind,
            namespace,
            name,
            {"metadata": {**metadata, "resourceVersion": resource_version}},
            MERGE_PATCH,
            f"patch the metadata of {object_key(kind, namespace, name)}",
        )

    async def replace_data(
        self,
        kind: Kind,
        namespace: str,
        name: str,
        data: Mapping[str, str],
        *,
        resource_version: str,
    ) -> dict[str, Any]:
        """Merge-patch ``data`` (a Secret's), failing with 409 if it changed since it was read.

        Nothing of ``data`` is logged, not even in a dry run: it may be key material.
        """
        if self.dry_run:
            self.log.info(
                "dry run: would replace the data of %s",
                object_key(kind, namespace, name),
                extra={"object": object_key(kind, namespace, name)},
            )
            return {}
        return await self._request(
            "PATCH",
            kind.path(namespace, name),
            body={"metadata": {"resourceVersion": resource_version}, "data": dict(data)},
            content_type=MERGE_PATCH,
            action=f"replace the data of {object_key(kind, namespace, name)}",
        )

    async def delete(self, kind: Kind, namespace: str | None, name: str) -> None:
        if self.dry_run:
            self.log.info(
                "dry run: would delete %s",
                object_key(kind, namespace, name),
                extra={"object": object_key(kind, namespace, name)},
            )
            return
        try:
            await self._request(
                "DELETE",
                kind.path(namespace, name),
                action=f"delete {object_key(kind, namespace, name)}",
            )
        except ApiError as exc:
            # Someone else removed it between our read and our delete: the goal is reached.
            if exc.status != 404:
                raise

    async def rules_review(self, namespace: str) -> Sequence[dict[str, Any]]:
        """The resource rules this identity has in ``namespace`` (cluster-wide ones included):
        one SelfSubjectRulesReview, which every authenticated user may ask for."""
        answer = await self._request(
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
            body={
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectRulesReview",
                "spec": {"namespace": namespace},
            },
            action=f"review the operator's permissions in {namespace}",
        )
        rules = (answer.get("status") or {}).get("resourceRules") or []
        return [rule for rule in rules if isinstance(rule, dict)]

    async def create(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """POST ``obj``; its body is never logged (it may be a Secret)."""
        kind = kind_of(obj)
        metadata = obj["metadata"]
        namespace = metadata.get("namespace")
        key = object_key(kind, namespace, metadata.get("name") or metadata["generateName"])
        if self.dry_run:
            self.log.info("dry run: would create %s", key, extra={"object": key})
            return dict(obj)
        return await self._request("POST", kind.path(namespace), body=obj, action=f"create {key}")

    async def replace(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """PUT ``obj`` whole; its ``metadata.resourceVersion`` makes it fail with 409 if the
        object changed since it was read."""
        kind = kind_of(obj)
        metadata = obj["metadata"]
        key = object_key(kind, metadata.get("namespace"), metadata["name"])
        if self.dry_run:
            self.log.info("dry run: would replace %s", key, extra={"object": key})
            return dict(obj)
        path = kind.path(metadata.get("namespace"), metadata["name"])
        sending = self._request("PUT", path, body=obj, action=f"replace {key}")
        return await self._write(kind, metadata.get("namespace"), metadata["name"], sending)


async def connect() -> ApiClient:
    """An API client from the in-cluster service account, else from the kubeconfig."""
    configuration = Configuration()
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        kube_config.load_incluster_config(client_configuration=configuration)
    else:
        await kube_config.load_kube_config(
            config_file=os.environ.get("KUBECONFIG"), client_configuration=configuration
        )
    # The environment's proxy for the API server is looked up once, here: the client's own
    # lookup (aiohttp's trust_env) reads it, and ~/.netrc, in a thread on every request.
    server = urlsplit(configuration.host)
    proxy = getproxies().get(server.scheme)
    if not configuration.proxy and proxy and not proxy_bypass(server.hostname or ""):
        configuration.proxy = proxy
    configuration.client_session_kwargs = {"trust_env": False}
    return ApiClient(configuration)
