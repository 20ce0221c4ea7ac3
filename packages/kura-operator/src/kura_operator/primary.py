"""Which pod the primary Service routes to: one Ready pod, kept while it stays Ready."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kura_core import KuraInstance
from kura_operator.instance_layout import POD_NAME_LABEL, replicas_of


def pod_ordinal(pod_name: str, instance_name: str) -> int | None:
    prefix = f"{instance_name}-"
    rest = pod_name.removeprefix(prefix)
    if rest == pod_name or not rest.isdigit():
        return None
    return int(rest)


def pod_ready(pod: Mapping[str, Any]) -> bool:
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def current_primary(service: Mapping[str, Any] | None) -> str | None:
    """The pod the live primary Service routes to, read back from its selector."""
    selector = ((service or {}).get("spec") or {}).get("selector") or {}
    value = selector.get(POD_NAME_LABEL)
    return value if isinstance(value, str) and value else None


def choose_primary(
    instance: KuraInstance, current: str | None, pods: Sequence[Mapping[str, Any]]
) -> str:
    """Sticky: the current primary while Ready, else the lowest-ordinal Ready pod.

    Every handoff costs a window of read-after-write inconsistency while replication catches
    up, so a recovered lower ordinal does not take the traffic back. With no Ready pod the
    current primary stays (if it is still one of the set's pods), else ``<inst>-0``.
    """
    name = instance.metadata.name
    ready: dict[str, int] = {}
    for pod in pods:
        pod_name = str((pod.get("metadata") or {}).get("name", ""))
        ordinal = pod_ordinal(pod_name, name)
        if ordinal is not None and ordinal < replicas_of(instance) and pod_ready(pod):
            ready[pod_name] = ordinal
    if current in ready:
        return current
    if ready:
        return min(ready, key=ready.__getitem__)
    ordinal = pod_ordinal(current or "", name)
    if current and ordinal is not None and ordinal < replicas_of(instance):
        return current
    return f"{name}-0"
