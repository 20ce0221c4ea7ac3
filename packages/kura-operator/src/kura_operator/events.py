"""Kubernetes Events for phase changes, built as plain objects."""

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
    metadata = obj["metadata"]
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    was = f" (was {previous})" if previous else ""
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
        "reason": phase,
        "message": f"{phase}{was}: {message}"[:1024],
        "type": "Warning" if phase == "Error" else "Normal",
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": instance,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }
