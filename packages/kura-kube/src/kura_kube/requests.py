"""Every request kura sends to the Kubernetes API, built as data, and how an answer is read.

Both clients (:mod:`kura_kube.client`, :mod:`kura_kube.aio`) send these and nothing else, so a
path, a query or a content type is written once. Each request names what it is for
(``action``, for errors) and its verb as the API server's audit log and the operator's metrics
name it (``verb``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kura_core import Kind, kind_of, object_key
from kura_kube.errors import KubeError

APPLY = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
JSON = "application/json"

Query = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    action: str
    verb: str
    query: Query = ()
    body: object = None
    content_type: str = JSON


def client_arguments(request: Request) -> dict[str, Any]:
    """What the official client's ``param_serialize`` takes to send ``request``."""
    return {
        "method": request.method,
        "resource_path": request.path,
        "query_params": list(request.query),
        "header_params": {"Content-Type": request.content_type, "Accept": JSON},
        "body": request.body,
        "auth_settings": ["BearerToken"],
    }


def _where(namespace: str | None) -> str:
    return f" in {namespace}" if namespace else ""


def _query(**pairs: str) -> Query:
    """The non-empty pairs, in the order given."""
    return tuple((key, value) for key, value in pairs.items() if value)


def _identity(obj: Mapping[str, Any]) -> tuple[Kind, str | None, str]:
    metadata = obj["metadata"]
    name = metadata.get("name") or metadata.get("generateName") or ""
    return kind_of(obj), metadata.get("namespace"), str(name)


def version() -> Request:
    return Request("GET", "/version", "read the server's version", "get")


def get(kind: Kind, namespace: str | None, name: str) -> Request:
    return Request(
        "GET", kind.path(namespace, name), f"get {object_key(kind, namespace, name)}", "get"
    )


def discover(kind: Kind) -> Request:
    """The resources of ``kind``'s group version (:func:`served` reads the answer)."""
    return Request("GET", kind.group_path, f"discover {kind.api_version}", "get")


def served(discovery: Mapping[str, Any], kind: Kind) -> bool:
    """Whether a :func:`discover` answer lists ``kind``."""
    resources = discovery.get("resources") or []
    return any(isinstance(r, dict) and r.get("name") == kind.plural for r in resources)


def list_objects(
    kind: Kind,
    namespace: str | None,
    *,
    label_selector: str = "",
    field_selector: str = "",
    limit: int = 0,
    token: str = "",
) -> Request:
    """A list (one page of ``limit`` when given, from the ``continue`` ``token``)."""
    return Request(
        "GET",
        kind.path(namespace),
        f"list {kind.plural}{_where(namespace)}",
        "list",
        _query(
            labelSelector=label_selector,
            fieldSelector=field_selector,
            limit=str(limit) if limit else "",
            **{"continue": token},
        ),
    )


def watch(
    kind: Kind, namespace: str | None, *, label_selector: str, version: str, seconds: float
) -> Request:
    """The events of ``kind`` after ``version``, with bookmarks, ended by the server after
    ``seconds``."""
    return Request(
        "GET",
        kind.path(namespace),
        f"watch {kind.plural}{_where(namespace)}",
        "watch",
        (
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("resourceVersion", version),
            ("timeoutSeconds", str(int(seconds))),
            *_query(labelSelector=label_selector),
        ),
    )


def create(obj: Mapping[str, Any], *, field_manager: str = "") -> Request:
    """POST ``obj``: 409 when its name is taken, so nothing is overwritten."""
    kind, namespace, name = _identity(obj)
    return Request(
        "POST",
        kind.path(namespace),
        f"create {object_key(kind, namespace, name)}",
        "create",
        _query(fieldManager=field_manager),
        dict(obj),
    )


def apply(obj: Mapping[str, Any], *, field_manager: str) -> Request:
    """Server-side apply of the whole desired object, forced: ``field_manager`` owns every
    field it sends."""
    kind, namespace, name = _identity(obj)
    return Request(
        "PATCH",
        kind.path(namespace, name),
        f"apply {object_key(kind, namespace, name)}",
        "patch",
        (("fieldManager", field_manager), ("force", "true")),
        dict(obj),
        APPLY,
    )


def replace(obj: Mapping[str, Any]) -> Request:
    """PUT ``obj`` whole; its ``metadata.resourceVersion`` makes it fail with 409 if the object
    changed since it was read."""
    kind, namespace, name = _identity(obj)
    return Request(
        "PUT",
        kind.path(namespace, name),
        f"replace {object_key(kind, namespace, name)}",
        "update",
        body=dict(obj),
    )


def patch_status(
    kind: Kind, namespace: str | None, name: str, status: Mapping[str, Any]
) -> Request:
    return Request(
        "PATCH",
        kind.path(namespace, name, "status"),
        f"write the status of {object_key(kind, namespace, name)}",
        "patch",
        body={"status": dict(status)},
        content_type=MERGE_PATCH,
    )


def patch_metadata(
    kind: Kind,
    namespace: str | None,
    name: str,
    metadata: Mapping[str, Any],
    *,
    resource_version: str,
) -> Request:
    """Merge-patch metadata, failing with 409 if the object changed since it was read."""
    return Request(
        "PATCH",
        kind.path(namespace, name),
        f"patch the metadata of {object_key(kind, namespace, name)}",
        "patch",
        body={"metadata": {**metadata, "resourceVersion": resource_version}},
        content_type=MERGE_PATCH,
    )


def replace_data(
    kind: Kind, namespace: str, name: str, data: Mapping[str, str], *, resource_version: str
) -> Request:
    """Merge-patch ``data`` (a Secret's), failing with 409 if it changed since it was read."""
    return Request(
        "PATCH",
        kind.path(namespace, name),
        f"replace the data of {object_key(kind, namespace, name)}",
        "patch",
        body={"metadata": {"resourceVersion": resource_version}, "data": dict(data)},
        content_type=MERGE_PATCH,
    )


def delete(kind: Kind, namespace: str | None, name: str, *, uid: str = "") -> Request:
    """DELETE; with ``uid``, only the object of that uid (409 when the name now holds another)."""
    return Request(
        "DELETE",
        kind.path(namespace, name),
        f"delete {object_key(kind, namespace, name)}",
        "delete",
        body={"preconditions": {"uid": uid}} if uid else None,
    )


def rules_review(namespace: str) -> Request:
    """One SelfSubjectRulesReview, which every authenticated user may ask for."""
    return Request(
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        f"review this identity's permissions in {namespace}",
        "create",
        body={
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectRulesReview",
            "spec": {"namespace": namespace},
        },
    )


def decoded(data: bytes) -> dict[str, Any]:
    """A JSON object answer; ``{}`` for an empty, non-JSON or non-object body."""
    try:
        payload = json.loads(data) if data else {}
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def refusal(
    request: Request, status: int, reason: str, data: bytes, retry_after: str | None
) -> KubeError:
    """The error an answer of 400 or more stands for: the server's Status when it sent one."""
    payload = decoded(data)
    return KubeError(
        status,
        str(payload.get("reason") or reason or "Error"),
        str(payload.get("message") or f"{request.method} {request.path}"),
        retry_after=_seconds(retry_after),
        action=request.action,
    )


def answer(
    request: Request, status: int, reason: str, data: bytes, retry_after: str | None
) -> dict[str, Any]:
    """The decoded answer, or :class:`KubeError` for a status of 400 or more."""
    if status >= 400:
        raise refusal(request, status, reason, data, retry_after)
    return decoded(data)


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
