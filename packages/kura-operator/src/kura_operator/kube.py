"""The thin adapter between the operator and the Kubernetes API.

Children are written with server-side apply under one field manager with ``force``: the whole
desired object, every time it differs, so the result never depends on merge semantics. Status
and metadata changes are merge patches; metadata patches carry a resourceVersion precondition,
so a stale read fails with 409 and is retried instead of overwriting someone else's change.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import aiohttp
from kubernetes.aio import config as kube_config
from kubernetes.aio.client import ApiClient, Configuration

from kura_operator.kinds import Kind, kind_of, object_key

APPLY = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
JSON = "application/json"

RETRYABLE_STATUSES = frozenset({409, 422, 429, 500, 502, 503, 504})
_VERBS = {"GET": "get", "POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}


class RequestRecorder(Protocol):
    def api_request(self, verb: str, code: int) -> None: ...


class ApiError(Exception):
    """An answer (or no answer) from the API server that the reconcile could not use."""

    def __init__(
        self, status: int, reason: str, message: str, *, retry_after: float | None = None
    ) -> None:
        self.status = status
        self.reason = reason
        self.message = message
        self.retry_after = retry_after
        super().__init__(f"{status or 'no answer'} {reason}: {message}")

    @property
    def retryable(self) -> bool:
        # 0 is a transport failure: timeouts, refused connections, dropped streams.
        return self.status == 0 or self.status in RETRYABLE_STATUSES


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


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
        logger: logging.Logger | None = None,
    ) -> None:
        """``may_write``, when given, is asked before every request but a GET: while it says
        no, the request is not sent (the operator no longer holds its leader Lease)."""
        self.client = client
        self.field_manager = field_manager
        self.recorder = recorder
        self.dry_run = dry_run
        self.timeout = timeout
        self.may_write = may_write
        self.log = logger or logging.getLogger("kura_operator.kube")

    async def _request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: object = None,
        content_type: str = JSON,
    ) -> dict[str, Any]:
        if method != "GET" and self.may_write is not None and not self.may_write():
            raise ApiError(0, "NotLeader", f"{method} {path} not sent: not the leader")
        serialized = await self.client.param_serialize(
            method=method,
            resource_path=path,
            query_params=list((query or {}).items()),
            header_params={"Content-Type": content_type, "Accept": JSON},
            body=body,
            auth_settings=["BearerToken"],
        )
        verb = _VERBS[method]
        try:
            response = await self.client.call_api(
                serialized[0],
                serialized[1],
                header_params=serialized[2],
                body=serialized[3],
                _request_timeout=self.timeout,
            )
            data = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.recorder.api_request(verb, 0)
            raise ApiError(0, "Unreachable", f"{method} {path}: {type(exc).__name__}") from exc
        self.recorder.api_request(verb, response.status)
        try:
            payload = json.loads(data) if data else {}
        except ValueError:
            payload = {}
        if response.status >= 400:
            raise ApiError(
                response.status,
                str(payload.get("reason") or response.reason or "Error"),
                str(payload.get("message") or f"{method} {path}"),
                retry_after=_retry_after(response.headers.get("Retry-After")),
            )
        return payload if isinstance(payload, dict) else {}

    async def close(self) -> None:
        await self.client.close()

    async def get(self, kind: Kind, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The object, or ``None`` when it does not exist."""
        try:
            return await self._request("GET", kind.path(namespace, name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def serves(self, kind: Kind) -> bool:
        """Whether the server serves ``kind`` at all (its CRD may not be installed)."""
        base = f"/apis/{kind.group}/{kind.version}" if kind.group else f"/api/{kind.version}"
        try:
            resources = await self._request("GET", base)
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
        query = {
            key: value
            for key, value in (("fieldSelector", field_selector), ("labelSelector", label_selector))
            if value
        }
        answer = await self._request("GET", kind.path(namespace), query=query)
        return [item for item in answer.get("items", []) if isinstance(item, dict)]

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
        return await self._request(
            "PATCH",
            kind.path(namespace, name),
            query={"fieldManager": self.field_manager, "force": "true"},
            body=obj,
            content_type=APPLY,
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
        return await self._request(
            "PATCH",
            kind.path(namespace, name, "status"),
            body={"status": status},
            content_type=MERGE_PATCH,
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
        return await self._request(
            "PATCH",
            kind.path(namespace, name),
            body={"metadata": {**metadata, "resourceVersion": resource_version}},
            content_type=MERGE_PATCH,
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
            await self._request("DELETE", kind.path(namespace, name))
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
        )
        rules = (answer.get("status") or {}).get("resourceRules") or []
        return [rule for rule in rules if isinstance(rule, dict)]

    async def create(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """POST ``obj``; its body is never logged (it may be a Secret)."""
        kind = kind_of(obj)
        namespace = obj["metadata"].get("namespace")
        if self.dry_run:
            metadata = obj["metadata"]
            key = object_key(kind, namespace, metadata.get("name") or metadata["generateName"])
            self.log.info("dry run: would create %s", key, extra={"object": key})
            return dict(obj)
        return await self._request("POST", kind.path(namespace), body=obj)

    async def replace(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """PUT ``obj`` whole; its ``metadata.resourceVersion`` makes it fail with 409 if the
        object changed since it was read."""
        kind = kind_of(obj)
        metadata = obj["metadata"]
        if self.dry_run:
            key = object_key(kind, metadata.get("namespace"), metadata["name"])
            self.log.info("dry run: would replace %s", key, extra={"object": key})
            return dict(obj)
        path = kind.path(metadata.get("namespace"), metadata["name"])
        return await self._request("PUT", path, body=obj)


async def connect() -> ApiClient:
    """An API client from the in-cluster service account, else from the kubeconfig."""
    configuration = Configuration()
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        kube_config.load_incluster_config(client_configuration=configuration)
    else:
        await kube_config.load_kube_config(
            config_file=os.environ.get("KUBECONFIG"), client_configuration=configuration
        )
    return ApiClient(configuration)
