"""What every object this provider renders shares: API versions, labels, owner references."""

from __future__ import annotations

from typing import Any

from kura_core import API_VERSION, ObjectMeta

GATEWAY_API_GROUP = "gateway.networking.k8s.io"
GATEWAY_API_VERSION = f"{GATEWAY_API_GROUP}/v1"
MANAGED_BY = "kura-controller"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"


def owner_references(kind: str, owner: ObjectMeta) -> list[dict[str, Any]]:
    """The controller reference to ``owner``, or none before it has a uid (a preview):
    Kubernetes rejects an owner reference without one."""
    if not owner.uid:
        return []
    return [
        {
            "apiVersion": API_VERSION,
            "kind": kind,
            "name": owner.name,
            "uid": owner.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def metadata(
    name: str,
    *,
    namespace: str | None,
    labels: dict[str, str],
    owner_kind: str | None = None,
    owner: ObjectMeta | None = None,
) -> dict[str, Any]:
    """``metadata`` of a rendered object; cluster-scoped ones (``namespace`` None) are unowned."""
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = dict(labels)
    refs = owner_references(owner_kind, owner) if owner_kind and owner is not None else []
    if namespace is not None and refs:
        meta["ownerReferences"] = refs
    return meta


def parent_ref(
    kind: str, name: str, *, namespace: str | None = None, section: str = ""
) -> dict[str, Any]:
    """A Gateway API parent reference (a Gateway or a ListenerSet)."""
    ref: dict[str, Any] = {"group": GATEWAY_API_GROUP, "kind": kind, "name": name}
    if namespace is not None:
        ref["namespace"] = namespace
    if section:
        ref["sectionName"] = section
    return ref
