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

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from kura_core import Kind, kind_of, object_key
from kura_kube import KubeError, requests
from kura_kube.aio import ApiClient, AsyncKubeClient
from kura_kube.requests import Request
from kura_operator.selectors import implies, parse_selector, selected

if TYPE_CHECKING:
    from kura_operator.cache import Cache

# A list's objects (the class's own ``list`` would shadow the builtin in its annotations).
Objects = list[dict[str, Any]]


class RequestRecorder(Protocol):
    def api_request(self, verb: str, code: int) -> None: ...


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
        self.client = AsyncKubeClient(client, timeout=timeout, on_answer=recorder.api_request)
        self.cache = cache
        self.field_manager = field_manager
        self.dry_run = dry_run
        self.may_write = may_write
        self.log = logger or logging.getLogger("kura_operator.kube")

    def _gate(self, request: Request) -> Request:
        if request.method != "GET" and self.may_write is not None and not self.may_write():
            raise KubeError(0, "NotLeader", f"{request.action} not sent: not the leader")
        return request

    async def _send(self, request: Request) -> dict[str, Any]:
        return await self.client.send(self._gate(request))

    async def _write(
        self, kind: Kind, namespace: str | None, name: str, request: Request
    ) -> dict[str, Any]:
        """Send a write of one object; its answer goes into the cache (when it holds that kind),
        and the watch's echo of it is no news (:meth:`Cache.writing`)."""
        sending: Awaitable[dict[str, Any]] = self._send(request)
        if self.cache is None:
            return await sending
        with self.cache.writing(kind, namespace, name):
            answer = await sending
            if answer.get("metadata"):
                self.cache.remember(answer)
            return answer

    def _dry_run(
        self, what: str, kind: Kind, namespace: str | None, name: str, **extra: Any
    ) -> None:
        key = object_key(kind, namespace, name)
        self.log.info("dry run: would %s %s", what, key, extra={"object": key, **extra})

    async def close(self) -> None:
        await self.client.close()

    async def get(self, kind: Kind, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The object, or ``None`` when it does not exist: from the cache when it watches
        ``kind`` there (only the objects its label selector picks), else from the server."""
        store = None if self.cache is None else self.cache.store(kind, namespace)
        if store is not None:
            return store.get(namespace, name)
        return await self.client.get(kind, namespace, name)

    async def serves(self, kind: Kind) -> bool:
        """Whether the server serves ``kind`` at all (its CRD may not be installed)."""
        return await self.client.serves(kind)

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
        answer = await self._send(
            requests.list_objects(
                kind,
                namespace,
                field_selector=field_selector or "",
                label_selector=label_selector or "",
            )
        )
        return [item for item in answer.get("items", []) if isinstance(item, dict)]

    async def list_page(
        self, kind: Kind, namespace: str | None, *, label_selector: str, limit: int, token: str
    ) -> tuple[Objects, str, str]:
        """One page of a list from the server: its objects (with apiVersion and kind, which a
        list's items lack), the list's resourceVersion and the token of the next page ("")."""
        answer = await self._send(
            requests.list_objects(
                kind, namespace, label_selector=label_selector, limit=limit, token=token
            )
        )
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

    def watch(
        self,
        kind: Kind,
        namespace: str | None,
        *,
        label_selector: str,
        version: str,
        seconds: float,
    ) -> AsyncIterator[dict[str, Any]]:
        """The watch events of ``kind`` after ``version``, for ``seconds`` (the server ends the
        watch then); a failed request raises :class:`KubeError`, a 410 among them."""
        request = requests.watch(
            kind, namespace, label_selector=label_selector, version=version, seconds=seconds
        )
        # No answer for a while beyond the server's own timeout: the connection is dead.
        return self.client.stream(request, idle=seconds + 30)

    async def apply(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side apply of the complete desired object; returns the live object."""
        kind = kind_of(obj)
        metadata = obj["metadata"]
        namespace, name = metadata.get("namespace"), str(metadata["name"])
        if self.dry_run:
            self._dry_run("apply", kind, namespace, name, desired=obj)
            return dict(obj)
        request = requests.apply(obj, field_manager=self.field_manager)
        return await self._write(kind, namespace, name, request)

    async def patch_status(
        self, kind: Kind, namespace: str | None, name: str, status: Mapping[str, Any]
    ) -> dict[str, Any]:
        if self.dry_run:
            self._dry_run("set status of", kind, namespace, name, status=status)
            return {"status": dict(status)}
        request = requests.patch_status(kind, namespace, name, status)
        return await self._write(kind, namespace, name, request)

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
            self._dry_run("patch metadata of", kind, namespace, name, metadata=metadata)
            return {"metadata": dict(metadata)}
        request = requests.patch_metadata(
            kind, namespace, name, metadata, resource_version=resource_version
        )
        return await self._write(kind, namespace, name, request)

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
            self._dry_run("replace the data of", kind, namespace, name)
            return {}
        return await self._send(
            requests.replace_data(kind, namespace, name, data, resource_version=resource_version)
        )

    async def delete(self, kind: Kind, namespace: str | None, name: str) -> None:
        if self.dry_run:
            self._dry_run("delete", kind, namespace, name)
            return
        try:
            await self._send(requests.delete(kind, namespace, name))
        except KubeError as exc:
            # Someone else removed it between our read and our delete: the goal is reached.
            if exc.status != 404:
                raise

    async def rules_review(self, namespace: str) -> Sequence[dict[str, Any]]:
        """The resource rules this identity has in ``namespace`` (cluster-wide ones included)."""
        answer = await self._send(requests.rules_review(namespace))
        rules = (answer.get("status") or {}).get("resourceRules") or []
        return [rule for rule in rules if isinstance(rule, dict)]

    async def create(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """POST ``obj``; its body is never logged (it may be a Secret)."""
        kind = kind_of(obj)
        metadata = obj["metadata"]
        namespace = metadata.get("namespace")
        if self.dry_run:
            self._dry_run(
                "create", kind, namespace, metadata.get("name") or metadata["generateName"]
            )
            return dict(obj)
        return await self._send(requests.create(obj))

    async def replace(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """PUT ``obj`` whole; its ``metadata.resourceVersion`` makes it fail with 409 if the
        object changed since it was read."""
        kind = kind_of(obj)
        metadata = obj["metadata"]
        namespace, name = metadata.get("namespace"), str(metadata["name"])
        if self.dry_run:
            self._dry_run("replace", kind, namespace, name)
            return dict(obj)
        return await self._write(kind, namespace, name, requests.replace(obj))
