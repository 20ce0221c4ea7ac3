"""How an object kura renders says that it is kura's and whose: the managed-by label, the
standard labels of a gateway's and an instance's children, and the controller owner reference.

The operator deletes or overwrites a child only when it carries these (docs/architecture.md,
"Never touch what is not ours"), so every ingress provider stamps them the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kura_core.dns import is_label_value
from kura_core.errors import InputError
from kura_core.resources import (
    ACCOUNT_LABEL,
    API_VERSION,
    GATEWAY_ANNOTATION,
    REGION_LABEL,
    KuraInstance,
    ObjectMeta,
)

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "kura-controller"


def owner_references(kind: str, owner: ObjectMeta) -> list[dict[str, Any]]:
    """The controller reference to ``owner`` (a KuraGateway or KuraInstance of ``kind``).

    None before the owner has a uid: an object that was never applied (a preview) cannot own
    anything, and Kubernetes rejects an owner reference without one.
    """
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


def gateway_labels(gateway: str, region_id: str) -> dict[str, str]:
    """The labels of a gateway's children: managed by kura, its region, the gateway's name."""
    return {MANAGED_BY_LABEL: MANAGED_BY, REGION_LABEL: region_id, GATEWAY_ANNOTATION: gateway}


def instance_labels(instance: KuraInstance) -> dict[str, str]:
    """The labels of an instance's children: Kura's name and instance, managed by kura, the
    account and the region. Raises :class:`InputError` when one would not be a label value."""
    labels = {
        "app.kubernetes.io/name": "kura",
        "app.kubernetes.io/instance": instance.metadata.name,
        MANAGED_BY_LABEL: MANAGED_BY,
        ACCOUNT_LABEL: instance.spec.account_handle,
        REGION_LABEL: instance.spec.region,
    }
    bad = sorted(key for key, value in labels.items() if not is_label_value(value))
    if bad:
        raise InputError(
            f"KuraInstance {instance.metadata.name}: {', '.join(bad)} would not be a valid "
            "label value (at most 63 letters, digits, '-', '_' and '.')"
        )
    return labels


def child_metadata(
    name: str,
    *,
    namespace: str | None,
    labels: Mapping[str, str],
    annotations: Mapping[str, str] | None = None,
    owner_kind: str | None = None,
    owner: ObjectMeta | None = None,
) -> dict[str, Any]:
    """``metadata`` of a rendered child: name, namespace, labels, annotations, owner reference.

    A cluster-scoped child (``namespace`` None) gets no owner reference: a namespaced owner
    cannot own it, so the operator removes it through the owner's finalizer.
    """
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = dict(labels)
    if annotations is not None:
        meta["annotations"] = dict(annotations)
    if namespace is None or owner_kind is None or owner is None:
        return meta
    if refs := owner_references(owner_kind, owner):
        meta["ownerReferences"] = refs
    return meta
