"""What the Gateway API objects this provider renders share: the API version, parent references."""

from __future__ import annotations

from typing import Any

GATEWAY_API_GROUP = "gateway.networking.k8s.io"
GATEWAY_API_VERSION = f"{GATEWAY_API_GROUP}/v1"


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
