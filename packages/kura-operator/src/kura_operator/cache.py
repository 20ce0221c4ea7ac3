"""The operator's view of the cluster: every kind it reads is listed once and then watched, and
reconciles read from here instead of asking the API server.

Each watched kind has an :class:`Informer`: a list (in pages) gives the objects and a
resourceVersion, and a watch from that version keeps them current. A watch that ends (the
server's timeout, a dropped connection) resumes from the last version seen; one that the server
can no longer resume (410 Gone: the version left its history) lists again, and the list replaces
what is held, so an object deleted while no watch ran leaves the cache too (a DELETED change is
reported for it). What the operator writes is put in the cache from the server's answer at once
(:meth:`Cache.remember`), so the next reconcile sees its own writes. The watch event that echoes
a write is no news: one that arrives while the write is in flight (:meth:`Cache.writing`) is held
back, and passed on only if it is newer than what the write made.

Objects are held as compact JSON, compressed (a fleet of thousands holds megabytes of children;
each read costs microseconds), their ``metadata.managedFields`` reduced to the names of the
managers of the object itself, unless one of them is a controller the operator takes objects over
from (:mod:`kura_operator.ownership`): the take-over needs its entries whole. Which of two
versions of an object is newer is decided by their resourceVersions as integers, as etcd issues
them and as client-go's mutation cache compares them; versions that are not integers fall back
to the order they arrive in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import zlib
from collections import Counter as Tally
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kura_core import Kind, kind_of
from kura_kube import KubeError
from kura_operator.kube import KubeApi
from kura_operator.selectors import parse_selector, selected

Key = tuple[str, str]
Ref = tuple[Kind, Key]
# A change the cache saw: the kind, ADDED, MODIFIED or DELETED, and the object (its last state,
# for a deletion).
Listener = Callable[[Kind, str, dict[str, Any]], None]
ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"
PAGE_SIZE = 500
# client-go's reflector watches for 5 to 10 minutes before it reopens the watch.
WATCH_SECONDS = 300.0
MAX_BACKOFF = 30.0


@dataclass(frozen=True)
class Watched:
    """A kind the operator reads, and the label selector of the objects it needs (all: "")."""

    kind: Kind
    label_selector: str = ""


def key_of(obj: Mapping[str, Any]) -> Key:
    metadata = obj.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(metadata.get("name") or "")


def version_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def newer(candidate: str, held: str) -> bool:
    """Whether resourceVersion ``candidate`` is newer than ``held`` (see the module's notes)."""
    if candidate.isdigit() and held.isdigit():
        return int(candidate) > int(held)
    return candidate != held


def compact(obj: Mapping[str, Any], keep: Collection[str] = ()) -> bytes:
    """``obj`` as compact JSON, its managedFields reduced to the managers of the object itself,
    or whole when one of them is in ``keep``."""
    metadata = dict(obj.get("metadata") or {})
    entries = metadata.pop("managedFields", None) or []
    managers = {
        str(e["manager"]): None for e in entries if e.get("manager") and not e.get("subresource")
    }
    if any(manager in keep for manager in managers):
        metadata["managedFields"] = entries
    elif managers:
        metadata["managedFields"] = [{"manager": manager} for manager in managers]
    return json.dumps({**obj, "metadata": metadata}, separators=(",", ":")).encode()


def _unpacked(data: bytes) -> dict[str, Any]:
    return dict(json.loads(zlib.decompress(data)))


class Store:
    """The objects of one kind, by (namespace, name); each read returns a fresh copy. The field
    entries of the managers in ``keep`` are kept (:func:`compact`)."""

    def __init__(self, keep: Collection[str] = ()) -> None:
        self.keep = frozenset(keep)
        self._held: dict[Key, tuple[str, bytes]] = {}

    def __len__(self) -> int:
        return len(self._held)

    def names(self) -> list[Key]:
        """Every held object's (namespace, name)."""
        return list(self._held)

    def get(self, namespace: str | None, name: str) -> dict[str, Any] | None:
        held = self._held.get((namespace or "", name))
        return None if held is None else _unpacked(held[1])

    def objects(self, namespace: str | None = None) -> Iterator[dict[str, Any]]:
        for (where, _), (_, data) in list(self._held.items()):
            if namespace is None or where == namespace:
                yield _unpacked(data)

    def put(self, obj: Mapping[str, Any]) -> bool:
        """Hold ``obj`` unless what is held is as new; whether anything changed."""
        key, version = key_of(obj), version_of(obj)
        held = self._held.get(key)
        if held is not None and not newer(version, held[0]):
            return False
        self._held[key] = (version, zlib.compress(compact(obj, self.keep), 1))
        return True

    def remove(self, obj: Mapping[str, Any]) -> bool:
        """Forget ``obj`` (deleted) unless what is held is newer; whether anything changed."""
        key = key_of(obj)
        held = self._held.get(key)
        if held is None or newer(held[0], version_of(obj)):
            return False
        del self._held[key]
        return True

    def hold(self, obj: Mapping[str, Any]) -> str | None:
        """:meth:`put` a listed object: ADDED or MODIFIED when that changed the cache."""
        existed = key_of(obj) in self._held
        if not self.put(obj):
            return None
        return MODIFIED if existed else ADDED

    def retain(self, listed: set[Key], version: str) -> list[dict[str, Any]]:
        """After a list at ``version`` that returned ``listed``: forget everything else, and
        return what was forgotten. An object held in a newer version than the list's was
        written after the list was taken, and stays."""
        gone = []
        for key in [k for k in self._held if k not in listed]:
            held_version, data = self._held[key]
            if not newer(held_version, version):
                del self._held[key]
                gone.append(_unpacked(data))
        return gone


class Gone(Exception):
    """The watch's resourceVersion is no longer in the server's history: list again."""


class Informer:
    """One kind in one namespace (or cluster-wide): listed, then watched, into a :class:`Store`.

    ``listener`` hears every change after the first list (the first list is the starting
    state; whoever waits on :attr:`synced` takes it from there).
    """

    def __init__(
        self,
        api: KubeApi,
        watched: Watched,
        namespace: str | None,
        listener: Listener,
        *,
        page_size: int = PAGE_SIZE,
        watch_seconds: float = WATCH_SECONDS,
        backoff: float = 1.0,
        keep: Collection[str] = (),
        logger: logging.Logger | None = None,
    ) -> None:
        self.api = api
        self.kind = watched.kind
        self.label_selector = watched.label_selector
        self.namespace = namespace
        self.listener = listener
        self.page_size = page_size
        self.watch_seconds = watch_seconds
        self.backoff = backoff
        self.log = logger or logging.getLogger("kura_operator.cache")
        self.store = Store(keep)
        self.synced = asyncio.Event()

    def __str__(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        selector = f" ({self.label_selector})" if self.label_selector else ""
        return f"{self.kind.plural}{where}{selector}"

    async def run(self) -> None:
        """List and watch until cancelled; API errors are retried with backoff."""
        version: str | None = None
        failures = 0
        while True:
            try:
                if version is None:
                    version = await self._list()
                version = await self._watch(version)
                failures = 0
            except Gone:
                self.log.info("relisting %s: the watch's resourceVersion expired", self)
                version = None
            except KubeError as exc:
                failures += 1
                if exc.status == 410:
                    version = None
                wait = min(MAX_BACKOFF, self.backoff * 2 ** (failures - 1))
                self.log.warning("watching %s failed, retrying in %.0fs: %s", self, wait, exc)
                await asyncio.sleep(wait * random.uniform(0.8, 1.2))

    async def _list(self) -> str:
        """One list, page by page, in place of what is held; the version of its snapshot (its
        first page's). Each page is held as it comes, so only one is ever in memory whole."""
        items, version, token = await self._page("")
        listed: set[Key] = set()
        # The first list is the starting state; a relist reports what it changed.
        changes: list[tuple[str, dict[str, Any]]] = []
        report = self.synced.is_set()
        while True:
            for obj in items:
                listed.add(key_of(obj))
                change = self.store.hold(obj)
                if change and report:
                    changes.append((change, obj))
            if not token:
                break
            items, _, token = await self._page(token)
        changes.extend((DELETED, obj) for obj in self.store.retain(listed, version))
        if report:
            for change, obj in changes:
                self.listener(self.kind, change, obj)
        self.synced.set()
        return version

    async def _page(self, token: str) -> tuple[list[dict[str, Any]], str, str]:
        return await self.api.list_page(
            self.kind,
            self.namespace,
            label_selector=self.label_selector,
            limit=self.page_size,
            token=token,
        )

    async def _watch(self, version: str) -> str:
        """Follow the watch from ``version``; the last version seen when it ends."""
        seconds = self.watch_seconds * random.uniform(1.0, 2.0)
        async for event in self.api.watch(
            self.kind,
            self.namespace,
            label_selector=self.label_selector,
            version=version,
            seconds=seconds,
        ):
            change, obj = event.get("type"), event.get("object") or {}
            if change == "ERROR":
                code = int(obj.get("code") or 0)
                if code == 410:
                    raise Gone()
                raise KubeError(code, str(obj.get("reason") or "Error"), str(obj.get("message")))
            version = version_of(obj) or version
            if change == DELETED:
                changed = self.store.remove(obj)
            elif change in (ADDED, MODIFIED):
                changed = self.store.put(obj)
            else:
                continue  # BOOKMARK: only its version matters
            if changed:
                self.listener(self.kind, str(change), obj)
        return version


class Cache:
    """The informers of every watched kind, in the operator's namespaces (``None``: all)."""

    def __init__(
        self,
        api: KubeApi,
        watched: Sequence[Watched],
        namespaces: Sequence[str] | None,
        listener: Listener,
        *,
        watch_seconds: float = WATCH_SECONDS,
        keep: Collection[str] = (),
        logger: logging.Logger | None = None,
    ) -> None:
        """``keep``: the field managers whose managedFields entries are held whole."""
        self.listener = listener
        # Writes in flight per object, the newest version they made, and the latest change
        # heard of the object meanwhile.
        self._writing: Tally[Ref] = Tally()
        self._wrote: dict[Ref, str] = {}
        self._heard_meanwhile: dict[Ref, tuple[str, dict[str, Any]]] = {}
        self.informers: dict[tuple[Kind, str | None], Informer] = {}
        for one in watched:
            wheres: Sequence[str | None] = (
                [None] if namespaces is None or not one.kind.namespaced else namespaces
            )
            for where in wheres:
                self.informers[(one.kind, where)] = Informer(
                    api,
                    one,
                    where,
                    self._heard,
                    watch_seconds=watch_seconds,
                    keep=keep,
                    logger=logger,
                )

    def _informer(self, kind: Kind, namespace: str | None) -> Informer | None:
        found = self.informers.get((kind, None))
        if found is None and kind.namespaced and namespace:
            found = self.informers.get((kind, namespace))
        return found if found is not None and found.synced.is_set() else None

    def store(self, kind: Kind, namespace: str | None) -> Store | None:
        """Where ``kind`` in ``namespace`` is held, once listed; None when it is not watched."""
        informer = self._informer(kind, namespace)
        return None if informer is None else informer.store

    def selector(self, kind: Kind, namespace: str | None) -> str:
        informer = self._informer(kind, namespace)
        return "" if informer is None else informer.label_selector

    def names(self, kind: Kind) -> list[Key]:
        return [
            key
            for (held, _), informer in self.informers.items()
            if held == kind
            for key in informer.store.names()
        ]

    def named(self, kind: Kind, name: str) -> list[Key]:
        """Where objects of ``kind`` called ``name`` are held (one per namespace at most)."""
        return [key for key in self.names(kind) if key[1] == name]

    def remember(self, obj: Mapping[str, Any]) -> None:
        """Hold what the server answered to a write, unless the cache has seen newer."""
        try:
            kind = kind_of(obj)
        except ValueError:
            return
        metadata = obj.get("metadata") or {}
        informer = self._informer(kind, metadata.get("namespace"))
        if informer is not None and selected(obj, parse_selector(informer.label_selector)):
            informer.store.put(obj)
        ref = (kind, key_of(obj))
        if self._writing[ref]:
            version = version_of(obj)
            if ref not in self._wrote or newer(version, self._wrote[ref]):
                self._wrote[ref] = version

    @contextlib.contextmanager
    def writing(self, kind: Kind, namespace: str | None, name: str) -> Iterator[None]:
        """While a write to the object is in flight: a change heard of it is held back until the
        write is answered, then passed on only if it is newer than what the write made (which
        :meth:`remember` learns from the answer); a failed write passes it on."""
        ref = (kind, (namespace or "", name))
        self._writing[ref] += 1
        try:
            yield
        finally:
            self._writing[ref] -= 1
            if not self._writing[ref]:
                del self._writing[ref]
                wrote = self._wrote.pop(ref, None)
                heard = self._heard_meanwhile.pop(ref, None)
                if heard is not None and (wrote is None or newer(version_of(heard[1]), wrote)):
                    self.listener(kind, *heard)

    def _heard(self, kind: Kind, change: str, obj: dict[str, Any]) -> None:
        ref = (kind, key_of(obj))
        if self._writing[ref]:
            self._heard_meanwhile[ref] = (change, obj)
        else:
            self.listener(kind, change, obj)

    async def synced(self) -> None:
        await asyncio.gather(*(informer.synced.wait() for informer in self.informers.values()))

    async def run(self) -> None:
        """Every informer, until cancelled."""
        await asyncio.gather(*(informer.run() for informer in self.informers.values()))
