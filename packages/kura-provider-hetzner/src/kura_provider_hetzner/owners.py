"""Owner references from a kura resource to the objects rendered for it."""

from __future__ import annotations

from typing import Any

from kura_core import API_VERSION, ObjectMeta


def controller_references(kind: str, owner: ObjectMeta) -> list[dict[str, Any]]:
    """The controller reference to ``owner``; none before it has a uid.

    An object that was never applied (a preview) has no uid, and Kubernetes rejects an owner
    reference without one, so what is rendered for it is left unowned.
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
