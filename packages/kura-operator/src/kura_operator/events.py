"""Kubernetes Events for phase changes and problems, built as plain objects."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

COMPONENT = "kura-operator"


def phase_event(
    obj: Mapping[str, Any],
    *,
    phase: str,
    previous: str | None,
    message: str,
    now: datetime,
    instance: str,
) -> dict[str, Any]:
    """A core/v1 Event on ``obj`` saying its phase became ``phase``."""
    was = f" (was {previous})" if previous else ""
    return event(
        obj,
        reason=phase,
        message=f"{phase}{was}: {message}",
        warning=phase == "Error",
        now=now,
        instance=instance,
    )


def event(
    obj: Mapping[str, Any],
    *,
    reason: str,
    message: str,
    warning: bool,
    now: datetime,
    instance: str,
) -> dict[str, Any]:
    """A core/v1 Event on ``obj``."""
    metadata = obj["metadata"]
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{metadata['name']}.", "namespace": metadata["namespace"]},
        "involvedObject": {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "name": metadata["name"],
            "namespace": metadata["namespace"],
            "uid": metadata.get("uid", ""),
            "resourceVersion": metadata.get("resourceVersion", ""),
        },
        "reason": reason,
        "message": message[:1024],
        "type": "Warning" if warning else "Normal",
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": instance,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }
