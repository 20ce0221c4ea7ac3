"""The in-memory object store behind the Kubernetes API double: the API server's write semantics.

Everything here is synchronous, does no I/O, and takes its clock and randomness from the caller, so
the semantics can be read (and reasoned about) apart from HTTP. The HTTP layer in ``kube_double.py``
maps each request onto one method of :class:`Store`. A single re-entrant lock makes every method
atomic, because test code (another thread) and the server's event loop use the store at once.

What is emulated, and the approximations made on purpose, are listed in the docstring of
``kube_double.py``; the comments here say why a rule is the way it is.
"""

from __future__ import annotations

import json
import random
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from kura_core import GROUP, VERSION, crds

Obj = dict[str, Any]
EventType = Literal["ADDED", "MODIFIED", "DELETED"]
PatchType = Literal["merge", "strategic", "json"]
Listener = Callable[[str, Obj], None]
Key = tuple[str, str, str, str]  # (group, plural, namespace or "", name)

VERBS: tuple[str, ...] = ("create", "delete", "get", "list", "patch", "update", "watch")
SUBRESOURCE_VERBS: tuple[str, ...] = ("get", "patch", "update")
# Fields the server owns: a client's PUT/PATCH cannot change them.
_SERVER_FIELDS = (
    "uid",
    "creationTimestamp",
    "generation",
    "resourceVersion",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
)
_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
_LABEL_KEY = re.compile(
    r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
)
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_SET_REQUIREMENT = re.compile(r"^\s*(\S+)\s+(in|notin)\s*\((.*)\)\s*$")
# Same alphabet as the API server's generateName suffix (no vowels, no look-alikes).
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def status_body(
    code: int, message: str, *, reason: str | None = None, details: Obj | None = None
) -> Obj:
    """A ``Status`` object with ``status: Failure``, as the API server sends with an error code."""
    body: Obj = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason or _REASONS.get(code, "Unknown"),
        "code": code,
    }
    if details:
        body["details"] = details
    return body


class StatusError(Exception):
    """An API error: the HTTP layer answers with ``code`` and :meth:`status` as the body."""

    def __init__(
        self, code: int, message: str, *, reason: str | None = None, details: Obj | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.details = details

    def status(self) -> Obj:
        return status_body(self.code, self.message, reason=self.reason, details=self.details)


def _not_found(rt: ResourceType, name: str) -> StatusError:
    return StatusError(404, f'{rt.qualified} "{name}" not found', details=rt.details(name))


@dataclass(frozen=True)
class ResourceType:
    """One served resource (a single version per group and plural)."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    subresources: tuple[str, ...] = ()
    short_names: tuple[str, ...] = ()
    singular: str = ""
    verbs: tuple[str, ...] = VERBS
    # Field selectors accepted besides metadata.name and metadata.namespace.
    field_selectors: tuple[str, ...] = ()
    # Served from a CustomResourceDefinition: no strategic merge patch (415), as in a cluster.
    custom: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    @property
    def qualified(self) -> str:
        """``configmaps`` or ``deployments.apps``: how the API server names it in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def details(self, name: str, uid: str | None = None) -> Obj:
        details: Obj = {"name": name, "kind": self.plural}
        if self.group:
            details["group"] = self.group
        if uid:
            details["uid"] = uid
        return details


def resource(
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
    """Build a :class:`ResourceType`; only the ``status`` subresource has semantics here.

    ``custom`` defaults to whether the group is not a built-in one ("", apps, batch, policy,
    autoscaling, ``*.k8s.io``).
    """
    subs = tuple(subresources)
    if set(subs) - {"status"}:
        raise ValueError(f"only the status subresource is emulated, not {subs!r}")
    return ResourceType(
        group=group,
        version=version,
        plural=plural,
        kind=kind,
        namespaced=namespaced,
        subresources=subs,
        short_names=tuple(short_names),
        singular=singular if singular is not None else kind.lower(),
        verbs=tuple(verbs),
        field_selectors=tuple(field_selectors),
        custom=custom if custom is not None else not _builtin_group(group),
    )


def _builtin_group(group: str) -> bool:
    return group in ("", "apps", "batch", "policy", "autoscaling") or group.endswith(".k8s.io")


_EVENT_FIELDS = (
    "reason",
    "type",
    "source",
    "reportingComponent",
    *(
        f"involvedObject.{f}"
        for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
    ),
)


def standard_resources() -> list[ResourceType]:
    """The resources the project's operator, smoke tool and dashboard talk to (see module doc)."""
    core = [
        resource("", "v1", "namespaces", "Namespace", namespaced=False, short_names=["ns"]),
        resource("", "v1", "configmaps", "ConfigMap", subresources=(), short_names=["cm"]),
        resource("", "v1", "services", "Service", short_names=["svc"]),
        resource("", "v1", "secrets", "Secret", subresources=(), field_selectors=["type"]),
        resource(
            "", "v1", "events", "Event", subresources=(), short_names=["ev"],
            field_selectors=_EVENT_FIELDS,
        ),
        resource(
            "", "v1", "pods", "Pod", short_names=["po"],
            field_selectors=["spec.nodeName", "status.phase"],
        ),
        resource("", "v1", "serviceaccounts", "ServiceAccount", subresources=(),
                 short_names=["sa"]),
        resource("", "v1", "endpoints", "Endpoints", subresources=(), short_names=["ep"]),
    ]  # fmt: skip
    others = [
        resource("apps", "v1", "deployments", "Deployment", short_names=["deploy"]),
        resource("apps", "v1", "statefulsets", "StatefulSet", short_names=["sts"]),
        resource("networking.k8s.io", "v1", "ingresses", "Ingress", short_names=["ing"]),
        resource(
            "networking.k8s.io", "v1", "ingressclasses", "IngressClass",
            namespaced=False, subresources=(),
        ),
        resource(
            "networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy",
            subresources=(), short_names=["netpol"],
        ),
        resource("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget",
                 short_names=["pdb"]),
        resource("coordination.k8s.io", "v1", "leases", "Lease", subresources=()),
        resource(
            "events.k8s.io", "v1", "events", "Event", subresources=(), short_names=["ev"],
            field_selectors=["reason", "type", "reportingController"]
            + [f"regarding.{f}" for f in ("kind", "namespace", "name", "uid", "apiVersion")],
        ),
        resource("cert-manager.io", "v1", "certificates", "Certificate",
                 short_names=["cert", "certs"]),
        resource(
            "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
            namespaced=False, short_names=["crd", "crds"],
        ),
        resource("kopf.dev", "v1", "clusterkopfpeerings", "ClusterKopfPeering",
                 namespaced=False, subresources=()),
        resource("kopf.dev", "v1", "kopfpeerings", "KopfPeering", subresources=()),
    ]  # fmt: skip
    kura = [
        resource(GROUP, VERSION, k.plural, k.kind, short_names=k.short_names, singular=k.singular)
        for k in crds.KINDS
    ]
    return core + others + kura


# ---------------------------------------------------------------------------------------------
# Selectors


@dataclass(frozen=True)
class Requirement:
    """One term of a label or field selector."""

    key: str
    op: Literal["=", "!=", "in", "notin", "exists", "!exists"]
    values: tuple[str, ...] = ()

    def matches(self, values: Mapping[str, str]) -> bool:
        present = self.key in values
        value = values.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op == "=":
            return value == self.values[0]
        if self.op == "!=":
            # As in Kubernetes: objects without the key match an inequality (and notin).
            return value != self.values[0]
        if self.op == "in":
            return value in self.values
        return value not in self.values


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside ``( )``."""
    terms, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(text[start:index])
            start = index + 1
    terms.append(text[start:])
    return [term.strip() for term in terms if term.strip()]


def _bad_selector(text: str, why: str) -> StatusError:
    return StatusError(400, f'unable to parse requirement "{text}": {why}')


_EQUALITY_TOKENS: tuple[tuple[str, Literal["=", "!="]], ...] = (
    ("!=", "!="),
    ("==", "="),
    ("=", "="),
)


def _equality(term: str) -> tuple[str, Literal["=", "!="], str] | None:
    for token, op in _EQUALITY_TOKENS:
        if token in term:
            key, _, value = term.partition(token)
            return key.strip(), op, value.strip()
    return None


def parse_label_selector(text: str) -> tuple[Requirement, ...]:
    """``a=b, c!=d, e in (f,g), h notin (i), j, !k`` → requirements (all must hold)."""
    requirements = []
    for term in _split_terms(text):
        if match := _SET_REQUIREMENT.match(term):
            key, op, raw = match.groups()
            values = tuple(v.strip() for v in raw.split(","))
            req = Requirement(key, "in" if op == "in" else "notin", values)
        elif (parsed := _equality(term)) is not None:
            key, eq_op, value = parsed
            values = (value,)
            req = Requirement(key, eq_op, values)
        elif term.startswith("!"):
            key, values = term[1:].strip(), ()
            req = Requirement(key, "!exists")
        else:
            key, values = term, ()
            req = Requirement(key, "exists")
        if not _LABEL_KEY.fullmatch(key):
            raise _bad_selector(term, f"invalid label key {key!r}")
        if any(not _LABEL_VALUE.fullmatch(v) for v in values):
            raise _bad_selector(term, f"invalid label value in {values!r}")
        requirements.append(req)
    return tuple(requirements)


def parse_field_selector(text: str, supported: Collection[str]) -> tuple[Requirement, ...]:
    """``metadata.name=x,metadata.namespace!=y``; a field the resource does not support → 400."""
    requirements = []
    for term in _split_terms(text):
        parsed = _equality(term)
        if parsed is None:
            raise _bad_selector(term, "found '', expected: '=', '!=' or '=='")
        key, op, value = parsed
        if key not in supported:
            raise StatusError(400, f'field label not supported: "{key}"')
        requirements.append(Requirement(key, op, (value,)))
    return tuple(requirements)


def _field_value(obj: Obj, path: str) -> str | None:
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return None if node is None else str(node)


@dataclass(frozen=True)
class Filter:
    """What a list or watch asks for: a namespace (None: all) and label/field requirements."""

    namespace: str | None = None
    labels: tuple[Requirement, ...] = ()
    fields: tuple[Requirement, ...] = ()

    def matches(self, obj: Obj) -> bool:
        meta = obj.get("metadata") or {}
        if self.namespace is not None and meta.get("namespace") != self.namespace:
            return False
        labels = meta.get("labels") or {}
        if not all(req.matches(labels) for req in self.labels):
            return False
        values = {
            req.key: value
            for req in self.fields
            if (value := _field_value(obj, req.key)) is not None
        }
        return all(req.matches(values) for req in self.fields)


# ---------------------------------------------------------------------------------------------
# Patches


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: dicts merge recursively, ``null`` deletes, the rest replaces."""
    if not isinstance(patch, dict):
        return clone(patch)
    result = clone(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _json_equal(a: Any, b: Any) -> bool:
    """JSON equality: unlike Python's, ``true`` is not ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _unprocessable(message: str) -> StatusError:
    return StatusError(422, message)


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise _unprocessable(f"invalid JSON pointer {path!r}")
    if not path:
        return []
    return [token.replace("~1", "/").replace("~0", "~") for token in path[1:].split("/")]


def _index(container: list[Any], token: str, *, insert: bool) -> int:
    limit = len(container) + (1 if insert else 0)
    if insert and token == "-":
        return len(container)
    if not token.isdigit() or (token != "0" and token.startswith("0")) or int(token) >= limit:
        raise _unprocessable(f"array index {token!r} out of bounds")
    return int(token)


def _resolve(doc: Any, tokens: list[str]) -> Any:
    node = doc
    for token in tokens:
        if isinstance(node, dict):
            if token not in node:
                raise _unprocessable(f"member {token!r} not found")
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, insert=False)]
        else:
            raise _unprocessable(f"cannot descend into a scalar at {token!r}")
    return node


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _resolve(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, insert=True), value)
    else:
        raise _unprocessable(f"cannot add to a scalar at {last!r}")
    return doc


def _replace(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _resolve(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _unprocessable(f"member {last!r} not found")
        parent[last] = value
    elif isinstance(parent, list):
        parent[_index(parent, last, insert=False)] = value
    else:
        raise _unprocessable(f"cannot replace in a scalar at {last!r}")
    return doc


def _remove(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        raise _unprocessable("cannot remove the whole document")
    parent = _resolve(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _unprocessable(f"member {last!r} not found")
        del parent[last]
    elif isinstance(parent, list):
        del parent[_index(parent, last, insert=False)]
    else:
        raise _unprocessable(f"cannot remove from a scalar at {last!r}")
    return doc


def json_patch(document: Any, operations: Any) -> Any:
    """RFC 6902 JSON patch on a copy: a malformed patch → 400, a failing op (even ``test``) → 422.

    422 for a failed ``test`` is what the API server answers, and what kopf relies on for its
    optimistic-concurrency ``test /metadata/resourceVersion``.
    """
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise StatusError(400, "a JSON patch must be an array of operation objects")
    doc = clone(document)
    for op in operations:
        kind = op.get("op")
        tokens = _pointer(op.get("path"))
        if kind in ("add", "replace", "test") and "value" not in op:
            raise _unprocessable(f"operation {kind!r} needs a value")
        if kind == "add":
            doc = _add(doc, tokens, clone(op["value"]))
        elif kind == "remove":
            doc = _remove(doc, tokens)
        elif kind == "replace":
            doc = _replace(doc, tokens, clone(op["value"]))
        elif kind in ("move", "copy"):
            source = _pointer(op.get("from"))
            value = clone(_resolve(doc, source))
            if kind == "move":
                if tokens[: len(source)] == source and tokens != source:
                    raise _unprocessable("cannot move a value into one of its children")
                doc = _remove(doc, source)
            doc = _add(doc, tokens, value)
        elif kind == "test":
            if not _json_equal(_resolve(doc, tokens), op["value"]):
                raise _unprocessable(
                    f"testing value {op.get('path')} failed: "
                    f"expected {op['value']!r}, found {_resolve(doc, tokens)!r}"
                )
        else:
            raise _unprocessable(f"unknown JSON patch operation {kind!r}")
    return doc


# ---------------------------------------------------------------------------------------------
# The store


@dataclass(frozen=True)
class Change:
    """One committed write, kept in the history that watches replay from a resourceVersion."""

    rv: int
    type: EventType
    resource: ResourceType
    obj: Obj
    old: Obj | None


def project(change: Change, flt: Filter) -> tuple[str, Obj] | None:
    """The watch event a watcher with ``flt`` sees for ``change`` (None: none).

    As in the API server, an object that starts matching arrives as ADDED and one that stops
    matching leaves as DELETED (carrying its previous content with the new resourceVersion).
    """
    new_ok = flt.matches(change.obj)
    old_ok = change.old is not None and flt.matches(change.old)
    if change.type == "ADDED":
        return ("ADDED", clone(change.obj)) if new_ok else None
    if change.type == "DELETED":
        return ("DELETED", clone(change.obj)) if new_ok or old_ok else None
    if new_ok:
        return ("MODIFIED" if old_ok else "ADDED", clone(change.obj))
    if old_ok and change.old is not None:
        gone = clone(change.old)
        gone["metadata"]["resourceVersion"] = str(change.rv)
        return ("DELETED", gone)
    return None


_T = TypeVar("_T")


def clone(value: _T) -> _T:
    """A deep copy of a JSON value (what the store holds), through JSON: several times faster
    than ``copy.deepcopy``, which bounds the double's throughput otherwise."""
    copied: _T = json.loads(json.dumps(value))
    return copied


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _meta(obj: Obj) -> Obj:
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise StatusError(400, "metadata must be an object")
    return meta


def _content(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}


def _spec_changed(old: Obj, new: Obj) -> bool:
    """Whether ``generation`` moves: ``spec`` changed, or (no spec) any non-metadata/status key."""
    if "spec" in old or "spec" in new:
        return bool(old.get("spec") != new.get("spec"))
    return _content(old) != _content(new)


def _merge_map(current: Any, given: Mapping[str, Any]) -> Obj:
    merged = dict(current) if isinstance(current, dict) else {}
    for key, value in given.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


class Store:
    """Objects, a global resourceVersion counter, the change history and watch listeners."""

    def __init__(
        self,
        resources: Iterable[ResourceType] = (),
        *,
        clock: Callable[[], datetime] = _utcnow,
        seed: int = 0,
        history_limit: int = 10_000,
    ) -> None:
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._clock = clock
        self._rng = random.Random(seed)
        self._resources: dict[tuple[str, str], ResourceType] = {}
        self._objects: dict[Key, Obj] = {}
        self._uids: dict[str, Key] = {}
        self._rv = 0
        self._history: deque[Change] = deque()
        self._history_limit = history_limit
        self._compacted = 0  # changes with rv <= this may be gone from the history
        self._listeners: dict[int, tuple[ResourceType, Filter, Listener]] = {}
        self._next_listener = 0
        for rt in resources:
            self.add_resource(rt)

    # -- resources ------------------------------------------------------------------------

    def add_resource(self, rt: ResourceType) -> ResourceType:
        with self._lock:
            known = self._resources.get((rt.group, rt.plural))
            if known is not None and known != rt:
                raise ValueError(f"{rt.qualified} is already served as {known!r}")
            self._resources[(rt.group, rt.plural)] = rt
            return rt

    def resources(self) -> list[ResourceType]:
        with self._lock:
            return list(self._resources.values())

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        with self._lock:
            rt = self._resources.get((group, plural))
            return rt if rt is not None and rt.version == version else None

    def resolve(self, name: str) -> ResourceType:
        """A resource by plural, kind, singular, short name or ``plural.group``; core wins ties."""
        with self._lock:
            lowered = name.lower()
            found = [
                rt
                for rt in self._resources.values()
                if lowered
                in {rt.plural, rt.kind.lower(), rt.singular, rt.qualified, *rt.short_names}
            ]
            if len(found) > 1:
                found = [rt for rt in found if not rt.group] or found
            if len(found) != 1:
                raise ValueError(f"{name!r} names {len(found)} served resources: {found!r}")
            return found[0]

    def resource_for(self, api_version: str, kind: str) -> ResourceType:
        with self._lock:
            for rt in self._resources.values():
                if rt.api_version == api_version and rt.kind == kind:
                    return rt
            raise ValueError(f"no served resource has apiVersion {api_version} and kind {kind}")

    # -- reads ----------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        with self._lock:
            return self._rv

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        with self._lock:
            obj = self._objects.get(self._key(rt, namespace, name))
            if obj is None:
                raise _not_found(rt, name)
            return clone(obj)

    def find(self, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        with self._lock:
            obj = self._objects.get(self._key(rt, namespace, name))
            return None if obj is None else clone(obj)

    def list_objects(self, rt: ResourceType, flt: Filter) -> tuple[list[Obj], str]:
        """Matching objects sorted by namespace and name, and the list's resourceVersion."""
        items, rv, _ = self.list_page(rt, flt)
        return items, rv

    def list_page(
        self,
        rt: ResourceType,
        flt: Filter,
        *,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> tuple[list[Obj], str, int]:
        """At most ``limit`` matching objects after (namespace, name) ``after``, sorted by
        namespace and name; the list's resourceVersion, and how many more match."""
        with self._lock:
            keys = sorted(
                key
                for key in self._objects
                if key[:2] == (rt.group, rt.plural) and (after is None or key[2:] > after)
            )
            matching = [key for key in keys if flt.matches(self._objects[key])]
            page = matching[:limit] if limit else matching
            items = [clone(self._objects[key]) for key in page]
            return items, str(self._rv), len(matching) - len(page)

    # -- writes ---------------------------------------------------------------------------

    def create(self, rt: ResourceType, namespace: str | None, body: Any) -> Obj:
        with self._lock:
            obj = self._typed(rt, body)
            meta = _meta(obj)
            self._check_namespace(rt, namespace, meta)
            if not meta.get("name"):
                prefix = meta.get("generateName")
                if not prefix:
                    raise StatusError(
                        422, "metadata.name: Required value: name or generateName is required"
                    )
                meta["name"] = str(prefix) + "".join(self._rng.choices(_SUFFIX_ALPHABET, k=5))
            return self._insert(rt, namespace, obj, strip_status=rt.has_status, trusted=False)

    def replace(
        self, rt: ResourceType, namespace: str | None, name: str, body: Any, *, status: bool
    ) -> Obj:
        with self._lock:
            candidate = self._typed(rt, body)
            meta = _meta(candidate)
            self._check_name(meta, name)
            self._check_namespace(rt, namespace, meta)
            old = self._objects.get(self._key(rt, namespace, name))
            if old is None:
                raise _not_found(rt, name)
            return self._write(rt, old, candidate, status=status)

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        patch_type: PatchType,
        body: Any,
        *,
        status: bool,
    ) -> Obj:
        """Merge patch (strategic merge is treated as merge: lists are replaced) or JSON patch."""
        with self._lock:
            old = self._existing(rt, namespace, name)
            if patch_type == "json":
                candidate = json_patch(old, body)
            elif isinstance(body, dict):
                candidate = merge_patch(old, body)
            else:
                raise StatusError(400, "a merge patch must be a JSON object")
            if not isinstance(candidate, dict):
                raise StatusError(422, "the patched object is not an object")
            self._check_name(_meta(candidate), name)
            return self._write(rt, old, self._typed(rt, candidate), status=status)

    def apply(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        *,
        manager: str,
        status: bool,
    ) -> tuple[Obj, bool]:
        """Server-side apply as an upsert; returns the object and whether it was created.

        No field ownership is tracked. Every top-level key the body carries (except metadata,
        and status unless applying to /status) replaces the stored one; labels, annotations,
        ownerReferences (by uid) and finalizers merge in. One managedFields entry per manager.
        """
        with self._lock:
            if not isinstance(body, dict) or "apiVersion" not in body or "kind" not in body:
                raise StatusError(400, "an apply patch must be an object with apiVersion and kind")
            applied = self._typed(rt, body)
            given = _meta(applied)
            self._check_name(given, name)
            self._check_namespace(rt, namespace, given)
            entry: Obj = {
                "manager": manager,
                "operation": "Apply",
                "apiVersion": rt.api_version,
                "fieldsType": "FieldsV1",
            }
            if status:
                entry["subresource"] = "status"
            old = self._objects.get(self._key(rt, namespace, name))
            if old is None:
                if status:
                    self._existing(rt, namespace, name)
                given["name"] = name
                given["managedFields"] = [entry]
                created = self._insert(
                    rt, namespace, applied, strip_status=rt.has_status, trusted=False
                )
                return created, True
            merged = clone(old)
            for key, value in applied.items():
                # /status takes only status; the main resource takes all but status, unless
                # status is ordinary content (no status subresource).
                wanted = key == "status" if status else key != "status" or not rt.has_status
                if key not in ("apiVersion", "kind", "metadata") and wanted:
                    merged[key] = clone(value)
            meta = merged["metadata"]
            for field in ("labels", "annotations"):
                if isinstance(given.get(field), dict):
                    meta[field] = _merge_map(meta.get(field), given[field])
                    if not meta[field]:
                        del meta[field]
            if isinstance(given.get("ownerReferences"), list):
                refs = {ref.get("uid"): ref for ref in meta.get("ownerReferences") or []}
                refs.update({ref.get("uid"): ref for ref in given["ownerReferences"]})
                meta["ownerReferences"] = list(refs.values())
            if isinstance(given.get("finalizers"), list):
                current = list(meta.get("finalizers") or [])
                meta["finalizers"] = current + [f for f in given["finalizers"] if f not in current]
            if given.get("resourceVersion"):
                meta["resourceVersion"] = given["resourceVersion"]
            # Replace this manager's entry in place, so that a repeated apply is a no-op.
            managed = list(old["metadata"].get("managedFields") or [])
            same = (manager, "Apply", entry.get("subresource"))
            at = next(
                (
                    i
                    for i, e in enumerate(managed)
                    if (e.get("manager"), e.get("operation"), e.get("subresource")) == same
                ),
                len(managed),
            )
            managed[at : at + 1] = [entry]
            return self._write(rt, old, merged, status=status, managed=managed), False

    def delete(
        self, rt: ResourceType, namespace: str | None, name: str, options: Any = None
    ) -> Obj | None:
        """Delete: returns the object if finalizers keep it (marked), None if it is gone.

        ``options`` is a DeleteOptions body: preconditions (uid, resourceVersion) are checked;
        propagationPolicy Orphan removes the owner reference from dependents instead of
        collecting them; Foreground is treated as Background.
        """
        with self._lock:
            obj = self._existing(rt, namespace, name)
            opts = options if isinstance(options, dict) else {}
            meta = obj["metadata"]
            for field in ("uid", "resourceVersion"):
                wanted = (opts.get("preconditions") or {}).get(field)
                if wanted is not None and wanted != meta.get(field):
                    raise StatusError(
                        409,
                        f"Precondition failed: {field} in precondition: {wanted}, "
                        f"{field} in object meta: {meta.get(field)}",
                        details=rt.details(name),
                    )
            orphan = opts.get("propagationPolicy") == "Orphan"
            return self._delete_key(rt, self._key(rt, namespace, name), orphan=orphan)

    # -- test hooks -----------------------------------------------------------------------

    def seed(self, body: Obj) -> Obj:
        """Store ``body`` as given (status included), filling in the server-owned metadata."""
        with self._lock:
            obj = clone(body)
            rt = self.resource_for(str(obj.get("apiVersion")), str(obj.get("kind")))
            meta = _meta(obj)
            namespace = meta.get("namespace") if rt.namespaced else None
            if rt.namespaced and not namespace:
                raise ValueError(f"{rt.qualified} is namespaced: give metadata.namespace")
            key = self._key(rt, namespace, str(meta.get("name")))
            old = self._objects.get(key)
            if old is None:
                return self._insert(rt, namespace, obj, strip_status=False, trusted=True)
            for field in ("uid", "creationTimestamp", "generation"):
                meta.setdefault(field, old["metadata"].get(field))
            return self._commit(rt, old, obj)

    def merge_status(
        self, rt: ResourceType, namespace: str | None, name: str, patch: Mapping[str, Any]
    ) -> Obj:
        """Merge-patch ``.status`` as a missing controller would (MODIFIED if it changed)."""
        with self._lock:
            old = self._existing(rt, namespace, name)
            new = clone(old)
            new["status"] = merge_patch(old.get("status") or {}, dict(patch))
            return clone(old) if new == old else self._commit(rt, old, new)

    def compact(self) -> None:
        """Forget the change history: watches from an older resourceVersion get 410 Expired."""
        with self._lock:
            self._history.clear()
            self._compacted = self._rv

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block the calling thread until ``predicate()`` holds after some write (or timeout)."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    # -- watches --------------------------------------------------------------------------

    def watch(
        self, rt: ResourceType, flt: Filter, since: str | None, listener: Listener
    ) -> tuple[list[tuple[str, Obj]], int]:
        """Start a watch: the events to send first, and a token for :meth:`unwatch`.

        No ``since`` (or "0"): ADDED for every matching object. Otherwise the recorded changes
        after ``since``; 410 Expired if the history no longer reaches back that far.
        """
        with self._lock:
            if since in (None, "", "0"):
                items, _ = self.list_objects(rt, flt)
                initial = [("ADDED", item) for item in items]
            else:
                start = _parse_rv(str(since))
                if start < self._compacted:
                    raise StatusError(
                        410,
                        f"too old resource version: {start} ({self._compacted})",
                        reason="Expired",
                    )
                initial = [
                    event
                    for change in self._history
                    if change.rv > start
                    and (change.resource.group, change.resource.plural) == (rt.group, rt.plural)
                    and (event := project(change, flt)) is not None
                ]
            token = self._next_listener
            self._next_listener += 1
            self._listeners[token] = (rt, flt, listener)
            return initial, token

    def unwatch(self, token: int) -> None:
        with self._lock:
            self._listeners.pop(token, None)

    # -- internals ------------------------------------------------------------------------

    def _key(self, rt: ResourceType, namespace: str | None, name: str) -> Key:
        return (rt.group, rt.plural, (namespace or "") if rt.namespaced else "", name)

    def _existing(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        obj = self._objects.get(self._key(rt, namespace, name))
        if obj is None:
            raise _not_found(rt, name)
        return obj

    def _typed(self, rt: ResourceType, body: Any) -> Obj:
        if not isinstance(body, dict):
            raise StatusError(400, "the request body must be a JSON object")
        obj = clone(body)
        for field, wanted in (("apiVersion", rt.api_version), ("kind", rt.kind)):
            if obj.get(field) not in (None, "", wanted):
                raise StatusError(
                    400, f"{field} {obj.get(field)!r} does not match the URL's {wanted!r}"
                )
            obj[field] = wanted
        return obj

    @staticmethod
    def _check_name(meta: Obj, name: str) -> None:
        given = meta.setdefault("name", name)
        if given != name:
            raise StatusError(
                400,
                f"the name of the object ({given}) does not match the name on the URL ({name})",
            )

    @staticmethod
    def _check_namespace(rt: ResourceType, namespace: str | None, meta: Obj) -> None:
        if not rt.namespaced:
            meta.pop("namespace", None)
            return
        given = meta.setdefault("namespace", namespace)
        if given != namespace:
            raise StatusError(
                400,
                "the namespace of the provided object does not match the namespace sent on the "
                "request",
            )

    def _timestamp(self) -> str:
        return self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _insert(
        self,
        rt: ResourceType,
        namespace: str | None,
        obj: Obj,
        *,
        strip_status: bool,
        trusted: bool,
    ) -> Obj:
        """Store a new object; ``trusted`` (a seed) keeps its uid, creationTimestamp, generation."""
        meta = _meta(obj)
        name = str(meta.get("name") or "")
        if len(name) > 253 or not _NAME.fullmatch(name):
            raise StatusError(
                422,
                f'{rt.kind} "{name}" is invalid: metadata.name: Invalid value: "{name}": a '
                "lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.'",
                details=rt.details(name),
            )
        key = self._key(rt, namespace, name)
        if key in self._objects:
            raise StatusError(
                409,
                f'{rt.qualified} "{name}" already exists',
                reason="AlreadyExists",
                details=rt.details(name),
            )
        if strip_status:
            obj.pop("status", None)
        kept = (
            ("managedFields", "uid", "creationTimestamp", "generation")
            if trusted
            else ("managedFields",)
        )
        for field in _SERVER_FIELDS:
            if field not in kept:
                meta.pop(field, None)
        if rt.namespaced:
            meta["namespace"] = namespace
        meta.setdefault("uid", str(uuid.UUID(int=self._rng.getrandbits(128), version=4)))
        meta.setdefault("creationTimestamp", self._timestamp())
        meta.setdefault("generation", 1)
        return self._commit(rt, None, obj)

    def _write(
        self,
        rt: ResourceType,
        old: Obj,
        candidate: Obj,
        *,
        status: bool,
        managed: list[Obj] | None = None,
    ) -> Obj:
        """Every update path: precondition, status isolation, server fields, generation, no-op."""
        old_meta = old["metadata"]
        wanted = _meta(candidate).get("resourceVersion")
        if wanted and wanted != old_meta["resourceVersion"]:
            raise StatusError(
                409,
                f'Operation cannot be fulfilled on {rt.qualified} "{old_meta["name"]}": the '
                "object has been modified; please apply your changes to the latest version and "
                "try again",
                details=rt.details(old_meta["name"]),
            )
        if status:
            new = clone(old)
            if "status" in candidate:
                new["status"] = clone(candidate["status"])
            else:
                new.pop("status", None)
        else:
            new = clone(candidate)
            meta = new["metadata"]
            for field in (*_SERVER_FIELDS, "name", "namespace"):
                meta.pop(field, None)
                if field in old_meta:
                    meta[field] = clone(old_meta[field])
            if rt.has_status:
                new.pop("status", None)
                if "status" in old:
                    new["status"] = clone(old["status"])
            if old_meta.get("deletionTimestamp"):
                added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
                if added:
                    raise StatusError(
                        422,
                        f'{rt.kind} "{old_meta["name"]}" is invalid: metadata.finalizers: '
                        "Forbidden: no new finalizers can be added if the object is being "
                        f"deleted, found new finalizers {sorted(added)!r}",
                        details=rt.details(old_meta["name"]),
                    )
            if _spec_changed(old, new):
                meta["generation"] = int(old_meta.get("generation") or 0) + 1
        if managed is not None:
            new["metadata"]["managedFields"] = managed
        if new == old:
            return clone(old)
        return self._commit(rt, old, new)

    def _commit(self, rt: ResourceType, old: Obj | None, new: Obj) -> Obj:
        meta = new["metadata"]
        key = self._key(rt, meta.get("namespace"), meta["name"])
        if old is not None and meta.get("deletionTimestamp") and not meta.get("finalizers"):
            return self._purge(rt, key, new)
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        self._objects[key] = new
        self._uids[meta["uid"]] = key
        self._record(Change(self._rv, "MODIFIED" if old else "ADDED", rt, new, old))
        return clone(new)

    def _purge(self, rt: ResourceType, key: Key, final: Obj, *, orphan: bool = False) -> Obj:
        """Remove the object for good, then collect (or orphan) its dependents."""
        old = self._objects.pop(key)
        self._uids.pop(old["metadata"]["uid"], None)
        self._rv += 1
        final["metadata"]["resourceVersion"] = str(self._rv)
        self._record(Change(self._rv, "DELETED", rt, final, old))
        self._collect(rt, key, final, orphan=orphan)
        return clone(final)

    def _delete_key(self, rt: ResourceType, key: Key, *, orphan: bool = False) -> Obj | None:
        obj = self._objects[key]
        meta = obj["metadata"]
        if not meta.get("finalizers"):
            self._purge(rt, key, clone(obj), orphan=orphan)
            return None
        if meta.get("deletionTimestamp"):
            return clone(obj)
        marked = clone(obj)
        marked["metadata"]["deletionTimestamp"] = self._timestamp()
        marked["metadata"]["deletionGracePeriodSeconds"] = 0
        return self._commit(rt, obj, marked)

    def _collect(self, owner_rt: ResourceType, owner_key: Key, owner: Obj, *, orphan: bool) -> None:
        """Background garbage collection of the dependents of a removed owner (recursive).

        A namespaced owner only owns dependents in its own namespace (the API reference says so;
        cluster-scoped dependents of a namespaced owner are never collected). A dependent that
        still has another live owner stays.
        """
        uid = owner["metadata"]["uid"]
        for key in sorted(self._objects):
            obj = self._objects.get(key)
            if obj is None:
                continue  # collected by an earlier step of this sweep
            refs = obj["metadata"].get("ownerReferences") or []
            if not any(ref.get("uid") == uid for ref in refs):
                continue
            dep_rt = self._resources[key[:2]]
            if owner_rt.namespaced and (not dep_rt.namespaced or key[2] != owner_key[2]):
                continue
            if orphan:
                kept = clone(obj)
                kept["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
                self._commit(dep_rt, obj, kept)
            elif not any(ref.get("uid") in self._uids for ref in refs):
                self._delete_key(dep_rt, key)

    def _record(self, change: Change) -> None:
        # The objects are copied; the resource type is shared (copying it costs more than both).
        kept = Change(
            change.rv,
            change.type,
            change.resource,
            clone(change.obj),
            clone(change.old),
        )
        self._history.append(kept)
        while len(self._history) > self._history_limit:
            self._compacted = self._history.popleft().rv
        for rt, flt, listener in list(self._listeners.values()):
            if (rt.group, rt.plural) == (change.resource.group, change.resource.plural):
                event = project(change, flt)
                if event is not None:
                    listener(*event)
        self._changed.notify_all()


def _parse_rv(text: str) -> int:
    if not text.isdigit():
        raise StatusError(400, f"invalid resourceVersion {text!r}")
    return int(text)
