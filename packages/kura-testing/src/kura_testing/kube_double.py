"""An HTTP-level Kubernetes API double, for what a real API server cannot do on demand.

Everything the operator does against a working cluster is tested on the real control plane
(kube-apiserver, etcd and kube-controller-manager from ``kura-testing``). This double's job is
the rest: injected faults (409, 422, 429 with Retry-After, 5xx), requests held in flight, dropped
watches and 410 on resume, objects that a real server's admission would never store, and the
smoke and dashboard tests that need a cluster in a given state more than a real one.

``KubeDouble`` serves the Kubernetes REST protocol on ``http://127.0.0.1:<random port>`` with
aiohttp, over an in-memory store (``kube_store.py``). Real clients talk to it: the official
``kubernetes`` client, kopf, aiohttp/httpx, and subprocesses given ``kube.url`` or a kubeconfig from
``kube.write_kubeconfig(path)``. Start it inside a running loop (``async with KubeDouble() as
kube``) or on a thread of its own (``with KubeDouble.in_thread() as kube``) for sync tests.

Emulated (each is tested in tests/testing/test_kube_double.py):

* Discovery: ``/version``, ``/api``, ``/api/v1``, ``/apis``, ``/apis/<g>``, ``/apis/<g>/<v>`` with
  verbs, namespaced, kind, singularName, shortNames and ``<plural>/status`` entries; ``/healthz``.
  Only declared resources exist (``standard_resources()`` + ``add_resource``); anything else is 404.
* create → 201 with uid, resourceVersion (one global counter), creationTimestamp, generation 1 and
  the URL's namespace; 409 AlreadyExists; ``generateName``; names must be RFC 1123 subdomains (422).
  Any namespace is accepted (no Namespace object needed).
* get, list (with the list resourceVersion; ``limit`` and ``continue`` pages, sorted by
  namespace and name), label selectors (``=``, ``==``, ``!=``, ``in``,
  ``notin``, exists, ``!``exists) and field selectors (metadata.name, metadata.namespace, plus a
  few per resource, e.g. involvedObject.* on core events); a bad selector → 400; 404 with a
  ``Status`` body whose details carry name, kind (the plural, as the API server does) and group.
* update (PUT) with an optional resourceVersion precondition (stale → 409 Conflict); merge patch
  (RFC 7386, a metadata.resourceVersion in it is a precondition too); JSON patch (RFC 6902; a
  failed op, e.g. kopf's ``test /metadata/resourceVersion``, → 422); server-side apply (below).
* ``generation`` moves when ``spec`` changes (no spec: any key but metadata/status);
  resourceVersion moves on every real change; a write that changes nothing returns the stored
  object with the same resourceVersion and sends no watch event (the request is still logged).
* The status subresource is isolated: writes to the object ignore ``.status``, writes to
  ``/status`` (PUT, merge/JSON patch, apply) change only ``.status``; create drops ``.status``.
* delete: finalizers → deletionTimestamp + deletionGracePeriodSeconds 0, 200 with the object; the
  object goes when a write empties its finalizers; no finalizers → gone, 200 ``Status`` Success.
  A new finalizer on an object being deleted → 422. DeleteOptions preconditions (uid,
  resourceVersion) → 409 on mismatch. Garbage collection (immediate, recursive, finalizers
  respected): the dependents of a removed owner (ownerReferences by uid) are deleted unless
  another owner of theirs still exists; ``propagationPolicy: Orphan`` strips the reference instead.
  A namespaced owner only owns dependents in its own namespace; cluster-scoped dependents of a
  namespaced owner are never collected (the API reference forbids such references).
* watch (``watch=true|1``): newline-delimited ``{"type", "object"}`` events. No resourceVersion
  (or "0"): ADDED for what exists, then changes. ``resourceVersion=N``: the recorded changes
  after N, then live ones; if the history does not reach back (``kube.compact()``, or more than
  ``history_limit`` changes) an ERROR event with a 410 Expired ``Status``. ``timeoutSeconds``
  closes the stream; selectors filter (objects entering/leaving a selector arrive as
  ADDED/DELETED); namespaced, cluster-wide and single-object (``/<plural>/<name>?watch``) watches.
  ``sendInitialEvents=true`` ends the initial ADDED events with the initial-events-end BOOKMARK.
* Events (core v1 and events.k8s.io/v1, stored apart) are ordinary objects tests can read.

Server-side apply (``application/apply-patch+yaml``, a YAML or JSON body with apiVersion and kind):
``fieldManager`` is required (422 without it); ``force`` is accepted (there are no conflicts to
force). It is an upsert (201 when it creates). There is NO field ownership: every top-level key
the body carries (besides metadata, and besides status unless applied to ``/status``) REPLACES the
stored key; labels and annotations merge key by key; ownerReferences merge by uid; finalizers are
added. One managedFields entry ``{manager, operation: Apply, apiVersion, fieldsType}`` per manager.
Strategic merge patch is treated as a merge patch: lists are replaced, no patch directives; on
custom resources (``ResourceType.custom``) it is refused with 415, as a cluster does.

NOT emulated (tests against the double cannot show these):

* SSA field ownership, conflicts, removal of fields no longer applied, list merge keys;
  managedFields for non-apply writes.
* CRD schema validation, defaulting and pruning; a CustomResourceDefinition object registers
  nothing (declare resources with ``add_resource``); immutable fields; admission; RBAC;
  authentication (any token, or none, works).
* Built-in controllers: no ReplicaSets or pods, no ready replicas, cluster IPs or load-balancer
  addresses (set them with ``kube.patch_status``); no namespace lifecycle (deleting a Namespace
  leaves its objects; objects need no Namespace, except that kopf ``-n`` waits for one).
* GC is synchronous (a cluster's is eventual) and Foreground behaves like Background.
* ``dryRun`` (rejected with 400), ``deletecollection`` (405), consistent pages (a ``continue``
  page holds the objects that exist now after the last one sent, under the first page's
  resourceVersion; a real server serves every page from the first page's snapshot), list
  ``resourceVersion``/``resourceVersionMatch`` (lists are always current), periodic BOOKMARKs
  (``allowWatchBookmarks`` is ignored).
* A DELETE that removes the object always answers a ``Status`` (real servers return the object
  for some resources); PUT never creates; unconditional PUT is allowed for custom resources too.
* More than one version of a resource; subresources other than status (scale, log, exec...);
  core and events.k8s.io Events are two separate stores, not two views of one.

Test hooks: ``objects``/``get`` (deep copies), ``put_object`` (seed as given), ``patch_status``
(a missing controller), ``delete``, ``wait_until`` (block until a predicate holds, no polling),
``compact``; the request log (``requests``, ``writes()``, ``requests_matching()``,
``clear_requests()``); faults (``inject``), delays (``hang``) and ``drop_watches``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import enum
import json
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import yaml
from aiohttp import web

from kura_testing.kube_store import (
    SUBRESOURCE_VERBS,
    VERBS,
    Filter,
    Obj,
    PatchType,
    Requirement,
    ResourceType,
    StatusError,
    Store,
    parse_field_selector,
    parse_label_selector,
    resource,
    standard_resources,
    status_body,
)

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
APPLY = "application/apply-patch+yaml"
_PATCHES: dict[str, PatchType] = {
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/json-patch+json": "json",
}
_TRUE = frozenset({"1", "t", "T", "true", "True", "TRUE"})  # Go's strconv.ParseBool
VERSION_INFO = {
    "major": "1",
    "minor": "33",
    "gitVersion": "v1.33.0+kubedouble",
    "gitCommit": "kube-double",
    "gitTreeState": "clean",
    "buildDate": "2025-04-23T00:00:00Z",
    "goVersion": "go1.24.2",
    "compiler": "gc",
    "platform": "linux/amd64",
}
TOKEN = "kube-double-token"


@dataclass(frozen=True)
class Route:
    """What a request path addresses; ``group`` is None for non-resource paths."""

    group: str | None = None
    version: str | None = None
    resource: str | None = None
    name: str | None = None
    subresource: str | None = None
    namespace: str | None = None
    too_deep: bool = False


def parse_path(path: str) -> Route:
    """``/apis/apps/v1/namespaces/ns/deployments/web/status`` → its parts."""
    parts = [part for part in path.split("/") if part]
    if parts[:1] == ["api"] and len(parts) > 1:
        group, rest = "", parts[1:]
    elif parts[:1] == ["apis"] and len(parts) > 1:
        group, rest = parts[1], parts[2:]
    else:
        return Route()
    if not rest:
        return Route(group=group)
    version, rest = rest[0], rest[1:]
    namespace = None
    # /api/v1/namespaces/<ns>/status is the Namespace's own subresource, not a collection.
    own = group == "" and len(rest) == 3 and rest[2] in ("status", "finalize")
    if len(rest) >= 3 and rest[0] == "namespaces" and not own:
        namespace, rest = rest[1], rest[2:]
    return Route(
        group=group,
        version=version,
        resource=rest[0] if rest else None,
        name=rest[1] if len(rest) > 1 else None,
        subresource=rest[2] if len(rest) > 2 else None,
        namespace=namespace,
        too_deep=len(rest) > 3,
    )


def request_verb(method: str, route: Route, query: Mapping[str, str]) -> str:
    """The RBAC verb of a request (``get`` for non-resource paths such as discovery)."""
    if route.resource is None:
        return "get"
    watch = query.get("watch", "") in _TRUE
    if method == "GET":
        return "watch" if watch else "get" if route.name else "list"
    if method == "DELETE":
        return "delete" if route.name else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())


@dataclass(frozen=True)
class RequestRecord:
    """One request as the double saw it (``content_type`` is the request's, without parameters)."""

    method: str
    path: str
    query: Mapping[str, str]
    verb: str
    group: str | None
    version: str | None
    resource: str | None
    subresource: str | None
    namespace: str | None
    name: str | None
    status: int
    content_type: str | None
    body: Any
    # The client's User-Agent: the operator names its process there.
    agent: str | None = None

    @property
    def is_write(self) -> bool:
        # Access and rules reviews are POSTed but store nothing: questions, not writes.
        return (
            self.verb in WRITE_VERBS
            and self.resource is not None
            and self.group != "authorization.k8s.io"
        )


@dataclass(frozen=True)
class RequestMatch:
    """Which requests a fault or delay hits; None matches anything.

    ``resource`` is a plural, matching the resource and its subresources, or ``plural/status``
    for the subresource only. ``method`` is the HTTP method, ``verb`` the RBAC verb.
    """

    method: str | None = None
    verb: str | None = None
    resource: str | None = None
    namespace: str | None = None
    name: str | None = None

    def select(self, records: Iterable[RequestRecord]) -> list[RequestRecord]:
        """The ``records`` this matches, in order."""
        return [r for r in records if self.matches(r.method, r.verb, _route_of(r))]

    def matches(self, method: str, verb: str, route: Route) -> bool:
        plural, _, sub = (self.resource or "").partition("/")
        return (
            (self.method is None or self.method.upper() == method)
            and (self.verb is None or self.verb == verb)
            and (not plural or (route.resource == plural and (not sub or route.subresource == sub)))
            and (self.namespace is None or self.namespace == route.namespace)
            and (self.name is None or self.name == route.name)
        )


@dataclass
class Injection:
    """A fault (``status``) or a delay (``seconds``) for the next ``times`` matching requests."""

    match: RequestMatch
    times: int | None
    status: int | None = None
    retry_after: float | None = None
    body: Any = None
    seconds: float = 0.0
    hits: int = 0

    def response(self) -> web.Response:
        code = self.status or 500
        body = self.body if self.body is not None else status_body(code, f"injected {code}")
        headers = {"Retry-After": f"{self.retry_after:g}"} if self.retry_after is not None else {}
        return web.json_response(body, status=code, headers=headers)


class _Signal(enum.Enum):
    CLOSE = "close"  # end the stream cleanly, as a server-side timeout does
    DROP = "drop"  # cut the connection, as a dropped network path does


class _WatchStream:
    """Feeds one watch response from the store's listener (any thread) via its event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[tuple[str, Obj] | _Signal] = asyncio.Queue()

    def push(self, item: tuple[str, Obj] | _Signal) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)

    def on_event(self, event_type: str, obj: Obj) -> None:
        self.push((event_type, obj))


def _media_type(header: str | None) -> str | None:
    return (header.split(";", 1)[0].strip().lower() or None) if header else None


def _decode(raw: bytes, media: str | None) -> Any:
    if not raw:
        return None
    try:
        if media != APPLY:
            return json.loads(raw)
        # An apply body in JSON (which is YAML too) is read as JSON: the same object, without
        # the pure-Python YAML parser's cost, which bounds the double's throughput otherwise.
        with contextlib.suppress(ValueError):
            return json.loads(raw)
        return yaml.safe_load(raw)
    except (ValueError, yaml.YAMLError) as error:
        raise StatusError(400, f"cannot decode the request body: {error}") from error


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


def _no_route() -> StatusError:
    return StatusError(404, "the server could not find the requested resource")


class KubeDouble:
    """A Kubernetes API server double on 127.0.0.1 (see the module docstring for semantics)."""

    def __init__(
        self,
        resources: Iterable[ResourceType] | None = None,
        *,
        store: Store | None = None,
        history_limit: int = 10_000,
    ) -> None:
        """Serve ``resources`` (default: ``standard_resources()``) from ``store`` (default: a new
        one keeping ``history_limit`` changes for watches; pass your own for a fixed clock)."""
        self._store = store or Store(history_limit=history_limit)
        for rt in standard_resources() if resources is None else resources:
            self._store.add_resource(rt)
        self._lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._faults: list[Injection] = []
        self._delays: list[Injection] = []
        self._watches: set[_WatchStream] = set()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Serve on a random free port of 127.0.0.1 in the running event loop."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            handler_cancellation=True,
            shutdown_timeout=1.0,
        )
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(runner, sock).start()
        self._runner, self._port = runner, int(sock.getsockname()[1])

    async def stop(self) -> None:
        """End open watches cleanly, then stop serving."""
        with self._lock:
            streams = list(self._watches)
        for stream in streams:
            stream.push(_Signal.CLOSE)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @contextlib.contextmanager
    def running_in_thread(self) -> Iterator[Self]:
        """Serve from a background thread with its own event loop (for sync code)."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="kube-double", daemon=True)
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.start(), loop).result(timeout=30)
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout=30)
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    @classmethod
    @contextlib.contextmanager
    def in_thread(cls, *args: Any, **kwargs: Any) -> Iterator[KubeDouble]:
        """``with KubeDouble.in_thread() as kube:`` — constructor arguments pass through."""
        with cls(*args, **kwargs).running_in_thread() as double:
            yield double

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("the KubeDouble is not started")
        return f"http://127.0.0.1:{self._port}"

    def write_kubeconfig(self, path: Path | str, *, namespace: str = "default") -> Path:
        """Write a kubeconfig (one cluster, a dummy token user, one current context)."""
        name = "kube-double"
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": self.url}}],
            "users": [{"name": name, "user": {"token": TOKEN}}],
            "contexts": [
                {"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}
            ],
            "current-context": name,
        }
        target = Path(path)
        target.write_text(yaml.safe_dump(config, sort_keys=False))
        return target

    # -- resources and objects ------------------------------------------------------------

    @property
    def store(self) -> Store:
        return self._store

    def add_resource(
        self,
        group: str,
        version: str,
        plural: str,
        kind: str,
        *,
        namespaced: bool = True,
        subresources: Iterable[str] = ("status",),
        short_names: Iterable[str] = (),
        singular: str | None = None,
        verbs: Iterable[str] = VERBS,
        field_selectors: Iterable[str] = (),
        custom: bool | None = None,
    ) -> ResourceType:
        """Serve one more resource (discovery included). Only ``status`` may be a subresource.

        ``custom`` (default: the group is not a built-in one) makes strategic merge patch 415.
        """
        return self._store.add_resource(
            resource(
                group,
                version,
                plural,
                kind,
                namespaced=namespaced,
                subresources=subresources,
                short_names=short_names,
                singular=singular,
                verbs=verbs,
                field_selectors=field_selectors,
                custom=custom,
            )
        )

    def objects(self, resource_name: str, namespace: str | None = None) -> list[Obj]:
        """Stored objects of a resource (plural, kind, short name or ``plural.group``)."""
        items, _ = self._store.list_objects(self._store.resolve(resource_name), Filter(namespace))
        return items

    def get(self, resource_name: str, namespace: str | None, name: str) -> Obj | None:
        """One stored object (a deep copy), or None."""
        return self._store.find(self._store.resolve(resource_name), namespace, name)

    def put_object(self, obj: Mapping[str, Any]) -> Obj:
        """Seed an object as given (status too); server-owned metadata is filled in if missing."""
        return self._store.seed(dict(obj))

    def patch_status(
        self,
        resource_name: str,
        namespace: str | None,
        name: str,
        status_patch: Mapping[str, Any],
    ) -> Obj:
        """Merge into ``.status`` as a controller would (readyReplicas...); MODIFIED if changed."""
        rt = self._store.resolve(resource_name)
        return self._store.merge_status(rt, namespace, name, status_patch)

    def delete(self, resource_name: str, namespace: str | None, name: str) -> Obj | None:
        """Delete as a client would (finalizers and garbage collection apply)."""
        return self._store.delete(self._store.resolve(resource_name), namespace, name)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Block this thread until ``predicate()`` holds, re-checking after every write.

        Use it from a thread other than the double's loop (``in_thread`` mode).
        """
        return self._store.wait_until(predicate, timeout)

    def compact(self) -> None:
        """Drop the watch history: watches resuming from an older resourceVersion get 410."""
        self._store.compact()

    @property
    def resource_version(self) -> int:
        return self._store.resource_version

    # -- request log, faults, delays ------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def writes(self) -> list[RequestRecord]:
        """Logged create/update/patch/delete(collection) requests to resources."""
        return [record for record in self.requests if record.is_write]

    def requests_matching(
        self,
        *,
        method: str | None = None,
        verb: str | None = None,
        resource: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
    ) -> list[RequestRecord]:
        return RequestMatch(method, verb, resource, namespace, name).select(self.requests)

    def inject(
        self,
        *,
        status: int,
        method: str | None = None,
        verb: str | None = None,
        resource: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        times: int | None = 1,
        retry_after: float | None = None,
        body: Any = None,
    ) -> Injection:
        """The next ``times`` (None: all) matching requests fail with ``status``.

        The body is a ``Status`` unless given; ``retry_after`` adds a Retry-After header.
        """
        fault = Injection(
            RequestMatch(method, verb, resource, namespace, name),
            times,
            status=status,
            retry_after=retry_after,
            body=body,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def hang(
        self,
        seconds: float,
        *,
        method: str | None = None,
        verb: str | None = None,
        resource: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        times: int | None = 1,
    ) -> Injection:
        """Delay the next ``times`` (None: all) matching requests by ``seconds`` before serving."""
        delay = Injection(
            RequestMatch(method, verb, resource, namespace, name), times, seconds=seconds
        )
        with self._lock:
            self._delays.append(delay)
        return delay

    def drop_watches(self, *, graceful: bool = False) -> int:
        """Close every open watch: abruptly (cut the connection) or as a server timeout would.

        Returns how many were open.
        """
        with self._lock:
            streams = list(self._watches)
        for stream in streams:
            stream.push(_Signal.CLOSE if graceful else _Signal.DROP)
        return len(streams)

    @property
    def open_watches(self) -> int:
        with self._lock:
            return len(self._watches)

    def _take(
        self, rules: list[Injection], method: str, verb: str, route: Route
    ) -> Injection | None:
        with self._lock:
            for rule in rules:
                if rule.match.matches(method, verb, route):
                    rule.hits += 1
                    if rule.times is not None and rule.hits >= rule.times:
                        rules.remove(rule)
                    return rule
            return None

    # -- HTTP -----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        route = parse_path(request.path)
        query = dict(request.query)
        verb = request_verb(request.method, route, query)
        media = _media_type(request.headers.get("Content-Type"))
        raw = await request.read()
        try:
            body, bad_body = _decode(raw, media), None
        except StatusError as error:
            body, bad_body = raw.decode(errors="replace"), error

        def log(status: int) -> None:
            record = RequestRecord(
                method=request.method,
                path=request.path,
                query=query,
                verb=verb,
                group=route.group if route.resource else None,
                version=route.version if route.resource else None,
                resource=route.resource,
                subresource=route.subresource,
                namespace=route.namespace,
                name=route.name,
                status=status,
                content_type=media,
                body=body,
                agent=request.headers.get("User-Agent"),
            )
            with self._lock:
                self._requests.append(record)

        delay = self._take(self._delays, request.method, verb, route)
        if delay is not None:
            await asyncio.sleep(delay.seconds)
        fault = self._take(self._faults, request.method, verb, route)
        response: web.StreamResponse
        try:
            if fault is not None:
                response = fault.response()
            elif bad_body is not None:
                raise bad_body
            else:
                response = await self._serve(request, route, query, verb, media, body, log)
        except StatusError as error:
            response = _json(error.status(), error.code)
        if not response.prepared:  # a watch logs itself when it starts streaming
            log(response.status)
        return response

    async def _serve(
        self,
        request: web.Request,
        route: Route,
        query: dict[str, str],
        verb: str,
        media: str | None,
        body: Any,
        log: Callable[[int], None],
    ) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if route.resource is None and request.method != "GET":
            raise StatusError(405, f"{request.method} is not allowed on {path}")
        if path == "/version":
            return _json(VERSION_INFO)
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        if path == "/api":
            address = {"clientCIDR": "0.0.0.0/0", "serverAddress": request.host}
            return _json(
                {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [address]}
            )
        if path == "/apis":
            return _json({"kind": "APIGroupList", "apiVersion": "v1", "groups": self._groups()})
        if route.group is None:
            raise _no_route()
        if route.version is None:
            group = next((g for g in self._groups() if g["name"] == route.group), None)
            if group is None:
                raise _no_route()
            return _json({"kind": "APIGroup", "apiVersion": "v1", **group})
        if route.resource is None:
            return _json(self._resource_list(route.group, route.version))
        if (route.group, route.resource) == ("authorization.k8s.io", "selfsubjectrulesreviews"):
            # The double authorizes every request, and says so to whoever asks.
            everything = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
            status = {"resourceRules": [everything], "nonResourceRules": [], "incomplete": False}
            return _json({**(body if isinstance(body, dict) else {}), "status": status}, 201)
        rt = self._store.lookup(route.group, route.version, route.resource)
        if rt is None or route.too_deep:
            raise _no_route()
        return await self._serve_resource(request, rt, route, query, verb, media, body, log)

    def _groups(self) -> list[Obj]:
        versions: dict[str, list[str]] = {}
        for rt in self._store.resources():
            if rt.group and rt.version not in versions.setdefault(rt.group, []):
                versions[rt.group].append(rt.version)
        groups = []
        for group, names in versions.items():
            listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in names]
            groups.append({"name": group, "versions": listed, "preferredVersion": listed[0]})
        return groups

    def _resource_list(self, group: str, version: str) -> Obj:
        served = [
            rt for rt in self._store.resources() if (rt.group, rt.version) == (group, version)
        ]
        if not served:
            raise _no_route()
        entries: list[Obj] = []
        for rt in served:
            entry: Obj = {
                "name": rt.plural,
                "singularName": rt.singular,
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": list(rt.verbs),
            }
            if rt.short_names:
                entry["shortNames"] = list(rt.short_names)
            entries.append(entry)
            entries.extend(
                {
                    "name": f"{rt.plural}/{sub}",
                    "singularName": "",
                    "namespaced": rt.namespaced,
                    "kind": rt.kind,
                    "verbs": list(SUBRESOURCE_VERBS),
                }
                for sub in rt.subresources
            )
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": served[0].api_version,
            "resources": entries,
        }

    async def _serve_resource(
        self,
        request: web.Request,
        rt: ResourceType,
        route: Route,
        query: dict[str, str],
        verb: str,
        media: str | None,
        body: Any,
        log: Callable[[int], None],
    ) -> web.StreamResponse:
        if not rt.namespaced and route.namespace is not None:
            raise _no_route()
        if rt.namespaced and route.namespace is None and verb not in ("list", "watch"):
            raise _no_route()
        if route.subresource is not None and route.subresource not in rt.subresources:
            raise _no_route()
        status = route.subresource == "status"
        allowed = SUBRESOURCE_VERBS if status else rt.verbs
        if verb not in allowed or (verb == "create" and route.name is not None):
            raise StatusError(405, f"{verb} is not supported on {rt.qualified}")
        if "dryRun" in query:
            raise StatusError(400, "dryRun is not supported by the Kubernetes double")
        force = query.get("force")
        if force is not None and media != APPLY:
            raise StatusError(
                422, 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be '
                "specified for non-apply patch",
            )  # fmt: skip
        ns, name = route.namespace, route.name or ""
        store = self._store
        if verb in ("list", "watch"):
            flt = self._filter(rt, route, query)
            if verb == "watch":
                return await self._watch(request, rt, flt, query, log)
            page = _page(store, rt, flt, query)
            return _json({"kind": f"{rt.kind}List", "apiVersion": rt.api_version, **page})
        if verb == "get":
            return _json(store.get(rt, ns, name))
        if verb == "create":
            return _json(store.create(rt, ns, body), 201)
        if verb == "update":
            return _json(store.replace(rt, ns, name, body, status=status))
        if verb == "patch":
            if media == APPLY:
                manager = query.get("fieldManager", "")
                if not manager:
                    raise StatusError(
                        422,
                        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                        "is required for apply patch",
                    )
                obj, created = store.apply(rt, ns, name, body, manager=manager, status=status)
                return _json(obj, 201 if created else 200)
            patch_type = _PATCHES.get(media or "")
            if patch_type is None or (patch_type == "strategic" and rt.custom):
                accepted = [t for t, p in _PATCHES.items() if p != "strategic" or not rt.custom]
                raise StatusError(
                    415,
                    "the body of the request was in an unknown format - accepted media types "
                    f"include: {', '.join([*accepted, APPLY])}",
                )
            return _json(store.patch(rt, ns, name, patch_type, body, status=status))
        # verb == "delete"
        marked = store.delete(rt, ns, name, body)
        if marked is not None:
            return _json(marked)
        details = rt.details(name)
        return _json(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": details,
            }
        )

    @staticmethod
    def _filter(rt: ResourceType, route: Route, query: Mapping[str, str]) -> Filter:
        supported = {"metadata.name", "metadata.namespace", *rt.field_selectors}
        fields = parse_field_selector(query.get("fieldSelector", ""), supported)
        if route.name is not None:
            fields = (*fields, Requirement("metadata.name", "=", (route.name,)))
        labels = parse_label_selector(query.get("labelSelector", ""))
        return Filter(route.namespace, labels, fields)

    async def _watch(
        self,
        request: web.Request,
        rt: ResourceType,
        flt: Filter,
        query: Mapping[str, str],
        log: Callable[[int], None],
    ) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        timeout = query.get("timeoutSeconds")
        if timeout is not None and not timeout.isdigit():
            raise StatusError(400, f"invalid timeoutSeconds {timeout!r}")
        deadline = loop.time() + int(timeout) if timeout else None
        stream = _WatchStream(loop)
        token: int | None = None
        expired: StatusError | None = None
        try:
            initial, token = self._store.watch(
                rt, flt, query.get("resourceVersion"), stream.on_event
            )
        except StatusError as error:
            if error.code != 410:
                raise
            initial, expired = [], error
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        with self._lock:
            self._watches.add(stream)
        finish = False
        try:
            await response.prepare(request)
            log(response.status)
            if expired is not None:
                await _send(response, "ERROR", expired.status())
                finish = True
            else:
                finish = await self._pump(response, rt, stream, initial, query, deadline)
        except ConnectionError:
            pass  # the client went away
        finally:
            # Unregister before the stream ends, so a client that saw the end sees no watch.
            if token is not None:
                self._store.unwatch(token)
            with self._lock:
                self._watches.discard(stream)
        if finish:
            with contextlib.suppress(ConnectionError):
                await response.write_eof()
        elif request.transport is not None:
            request.transport.abort()  # dropped: cut the connection mid-stream
        return response

    async def _pump(
        self,
        response: web.StreamResponse,
        rt: ResourceType,
        stream: _WatchStream,
        initial: list[tuple[str, Obj]],
        query: Mapping[str, str],
        deadline: float | None,
    ) -> bool:
        """Send the initial events, then live ones; False when the watch is to be dropped."""
        for event_type, obj in initial:
            await _send(response, event_type, obj)
        if query.get("sendInitialEvents", "") in _TRUE:
            mark: Obj = {
                "resourceVersion": str(self._store.resource_version),
                "annotations": {"k8s.io/initial-events-end": "true"},
            }
            await _send(
                response,
                "BOOKMARK",
                {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": mark},
            )
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    item = await stream.queue.get()
            except TimeoutError:
                return True
            if item is _Signal.CLOSE:
                return True
            if item is _Signal.DROP:
                return False
            await _send(response, *item)


def _page(store: Store, rt: ResourceType, flt: Filter, query: Mapping[str, str]) -> Obj:
    """A list's page as ``limit`` and ``continue`` ask (the whole list without ``limit``): the
    current objects after the last one the previous page sent, under the first page's
    resourceVersion, and the token of the next page when more are left."""
    limit, token = query.get("limit", ""), query.get("continue", "")
    if limit and not limit.isdigit():
        raise StatusError(400, f"invalid limit {limit!r}")
    after = None
    if token:
        try:
            first, namespace, name = json.loads(base64.urlsafe_b64decode(token))
        except (ValueError, TypeError):
            raise StatusError(400, f"invalid continue token {token!r}") from None
        after = (str(namespace), str(name))
    items, rv, remaining = store.list_page(rt, flt, after=after, limit=int(limit or 0))
    rv = str(first) if token else rv
    if not remaining:
        return {"metadata": {"resourceVersion": rv}, "items": items}
    metadata = items[-1]["metadata"]
    last = [str(metadata.get("namespace") or ""), str(metadata["name"])]
    following = base64.urlsafe_b64encode(json.dumps([rv, *last]).encode()).decode()
    return {
        "metadata": {"resourceVersion": rv, "continue": following, "remainingItemCount": remaining},
        "items": items,
    }


async def _send(response: web.StreamResponse, event_type: str, obj: Obj) -> None:
    await response.write(json.dumps({"type": event_type, "object": obj}).encode() + b"\n")


def _route_of(record: RequestRecord) -> Route:
    return Route(
        group=record.group,
        version=record.version,
        resource=record.resource,
        name=record.name,
        subresource=record.subresource,
        namespace=record.namespace,
    )
