"""The ``Ready`` condition and the failure statuses of every kind: pure, the clock passed in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

READY = "Ready"
ERROR = "Error"


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def ready_condition(
    previous: Mapping[str, Any] | None,
    *,
    ready: bool,
    reason: str,
    message: str,
    generation: int | None,
    now: datetime,
) -> dict[str, Any]:
    """The ``Ready`` condition; its transition time moves only when its status does.

    ``previous`` is the live status, as stored.
    """
    value = "True" if ready else "False"
    old = next(
        (c for c in (previous or {}).get("conditions") or [] if c.get("type") == READY), None
    )
    since = old.get("lastTransitionTime") if old and old.get("status") == value else None
    found: dict[str, Any] = {
        "type": READY,
        "status": value,
        "lastTransitionTime": since or stamp(now),
        "reason": reason,
        "message": message,
    }
    if generation is not None:
        found["observedGeneration"] = generation
    return found


def error_status(raw: Mapping[str, Any], message: str, *, now: datetime) -> dict[str, Any]:
    """Phase Error for an object the operator refuses (it may not even parse)."""
    return failure_status(raw, phase=ERROR, reason="InvalidSpec", message=message, now=now)


def failure_status(
    raw: Mapping[str, Any], *, phase: str, reason: str, message: str, now: datetime
) -> dict[str, Any]:
    """``phase`` with a ``Ready=False`` condition saying why, for an object as stored in ``raw``."""
    generation = (raw.get("metadata") or {}).get("generation")
    observed = generation if isinstance(generation, int) else None
    status: dict[str, Any] = {
        "phase": phase,
        "message": message,
        "lastReconciledAt": stamp(now),
        "conditions": [
            ready_condition(
                raw.get("status"),
                ready=False,
                reason=reason,
                message=message,
                generation=observed,
                now=now,
            )
        ],
    }
    if observed is not None:
        status["observedGeneration"] = observed
    return status
