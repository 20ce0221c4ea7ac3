"""Taking over a child from the controller that managed it before: pure functions over
``metadata.managedFields``.

Server-side apply removes a field only when the applying field manager stops applying it and no
other manager owns it. A child made by upstream's controller stays co-owned by upstream's field
manager wherever kura applies the same value, so a field kura later stops applying (an
``extraEnv`` variable the Tuist server took out, a node selector key the gateway no longer has)
would stay for ever, and so would every field upstream set that kura never sets. Folding the
previous manager's fields into kura's own apply entry first makes them kura's: the next apply
keeps what kura still applies and removes the rest, as if kura had made the object.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

APPLY = "Apply"


def _of_object(entry: Mapping[str, Any]) -> bool:
    # Status and other subresources are written apart; only the object's own fields are taken.
    return not entry.get("subresource")


def previous_managers(live: Mapping[str, Any], previous: Collection[str]) -> list[str]:
    """The previous field managers that still own fields of ``live``, in managedFields order."""
    entries = (live.get("metadata") or {}).get("managedFields") or []
    found = [
        str(e.get("manager")) for e in entries if e.get("manager") in previous and _of_object(e)
    ]
    return list(dict.fromkeys(found))


def union(first: Mapping[str, Any], second: Mapping[str, Any]) -> dict[str, Any]:
    """Two FieldsV1 sets as one: every path of either (each node is a mapping of its children)."""
    merged = dict(first)
    for key, value in second.items():
        merged[key] = union(merged[key], value) if key in merged else value
    return merged


def taken_over(
    live: Mapping[str, Any],
    *,
    previous: Collection[str],
    manager: str,
    time: str,
) -> list[dict[str, Any]] | None:
    """``live``'s managedFields with every entry of a ``previous`` manager folded into
    ``manager``'s apply entry (made when there is none); ``None`` when no previous manager owns
    a field. ``time`` stamps the new entry (RFC 3339, whole seconds)."""
    entries = [dict(e) for e in (live.get("metadata") or {}).get("managedFields") or []]
    theirs = [e for e in entries if e.get("manager") in previous and _of_object(e)]
    if not theirs:
        return None
    ours = [
        e
        for e in entries
        if e.get("manager") == manager and e.get("operation") == APPLY and _of_object(e)
    ]
    fields: dict[str, Any] = {}
    for entry in [*ours, *theirs]:
        fields = union(fields, entry.get("fieldsV1") or {})
    folded = [*ours, *theirs]
    kept = [e for e in entries if not any(e is f for f in folded)]
    return [
        *kept,
        {
            "manager": manager,
            "operation": APPLY,
            "apiVersion": str(live.get("apiVersion")),
            "time": time,
            "fieldsType": "FieldsV1",
            "fieldsV1": fields,
        },
    ]
