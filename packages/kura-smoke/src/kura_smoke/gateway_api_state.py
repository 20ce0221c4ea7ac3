"""Readings of observed Gateway API objects: a Gateway programmed, a ListenerSet or route attached.

Pure, as :mod:`kura_smoke.cluster_state`: each takes the object as the API returned it (a dict,
or None when absent) and answers with a verdict and the words to show. A condition counts only
when its ``observedGeneration`` is the object's current generation: an older one describes a
spec that is gone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kura_smoke.cluster_state import Reading
from kura_smoke.kube import ObjectRef

GATEWAY_API_GROUP = "gateway.networking.k8s.io"
# What a controller reports on a Gateway and a ListenerSet alike.
PROGRAMMED = ("Accepted", "Programmed")


def _current(obj: Mapping[str, Any], conditions: Iterable[Any]) -> dict[str, Mapping[str, Any]]:
    generation = (obj.get("metadata") or {}).get("generation")
    current: dict[str, Mapping[str, Any]] = {}
    for condition in conditions:
        if not isinstance(condition, Mapping):
            continue
        observed = condition.get("observedGeneration")
        if generation is None or observed is None or observed == generation:
            current[str(condition.get("type"))] = condition
    return current


def _refused(conditions: Mapping[str, Mapping[str, Any]], kinds: Iterable[str]) -> str | None:
    """``"not Accepted: <reason>"`` for the first of ``kinds`` whose status is not True."""
    for kind in kinds:
        condition = conditions.get(kind)
        if condition is not None and condition.get("status") != "True":
            reason = condition.get("message") or condition.get("reason") or "no reason given"
            return f"not {kind}: {reason}"
    return None


def gateway_address(gateway: Mapping[str, Any] | None) -> str:
    """The first of ``status.addresses`` (an IP or a hostname); "" while there is none."""
    for address in ((gateway or {}).get("status") or {}).get("addresses") or []:
        if isinstance(address, Mapping) and isinstance(address.get("value"), str):
            return str(address["value"])
    return ""


def _not_programmed(obj: Mapping[str, Any]) -> str | None:
    """Why a Gateway or ListenerSet is not Accepted and Programmed at its generation, or None.

    Unknown counts as not yet: the CRDs default a new object's conditions to Unknown, "Waiting
    for controller", until the controller writes them.
    """
    conditions = _current(obj, (obj.get("status") or {}).get("conditions") or [])
    refused = _refused(conditions, PROGRAMMED)
    if refused is not None:
        return refused
    for kind in PROGRAMMED:
        if kind not in conditions:
            return f"no current {kind} condition (the controller has not taken it)"
    return None


def gateway_reading(gateway: Mapping[str, Any] | None) -> Reading:
    """A Gateway is ready to serve: Accepted and Programmed at its generation, with an address."""
    if gateway is None:
        return Reading(False, "not found")
    why = _not_programmed(gateway)
    if why is not None:
        return Reading(False, why)
    address = gateway_address(gateway)
    if not address:
        return Reading(False, "Programmed, but no address in status.addresses")
    return Reading(True, f"Accepted and Programmed at {address}")


def _namespace(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def _is_ref(ref: object, kind: str, name: str, namespace: str, own_namespace: str) -> bool:
    """A parentRef to ``kind`` ``namespace/name``; absent fields take the Gateway API defaults
    (group gateway.networking.k8s.io, kind Gateway, the referrer's own namespace)."""
    if not isinstance(ref, Mapping):
        return False
    return (
        ref.get("group", GATEWAY_API_GROUP) == GATEWAY_API_GROUP
        and ref.get("kind", "Gateway") == kind
        and ref.get("name") == name
        and (ref.get("namespace") or own_namespace) == namespace
    )


def listener_set_reading(listener_set: Mapping[str, Any] | None, parent: ObjectRef) -> Reading:
    """The ListenerSet attaches to the Gateway ``parent``, Accepted and Programmed there."""
    if listener_set is None:
        return Reading(False, "ListenerSet not found")
    spec = listener_set.get("spec") or {}
    ref = spec.get("parentRef")
    if not _is_ref(ref, "Gateway", parent.name, parent.namespace, _namespace(listener_set)):
        shown = _shown_ref(ref, _namespace(listener_set))
        return Reading(False, f"ListenerSet attaches to {shown}, policy expects Gateway {parent}")
    why = _not_programmed(listener_set)
    if why is not None:
        return Reading(False, f"ListenerSet on Gateway {parent}: {why}")
    return Reading(True, f"ListenerSet Accepted and Programmed on Gateway {parent}")


def _shown_ref(ref: object, own_namespace: str) -> str:
    if not isinstance(ref, Mapping):
        return "no Gateway"
    namespace = ref.get("namespace") or own_namespace
    return f"{ref.get('kind', 'Gateway')} {namespace}/{ref.get('name')}"


def route_reading(route: Mapping[str, Any] | None, kind: str, listener_set: ObjectRef) -> Reading:
    """The route has a parentRef to the ListenerSet, and no parent status refuses it."""
    if route is None:
        return Reading(False, f"{kind} not found")
    own = _namespace(route)
    refs = (route.get("spec") or {}).get("parentRefs") or []
    name, namespace = listener_set.name, listener_set.namespace
    if not any(_is_ref(ref, "ListenerSet", name, namespace, own) for ref in refs):
        shown = ", ".join(_shown_ref(ref, own) for ref in refs) or "nothing"
        return Reading(False, f"{kind} attaches to {shown}, not ListenerSet {listener_set}")
    for parent in (route.get("status") or {}).get("parents") or []:
        if not isinstance(parent, Mapping):
            continue
        if _is_ref(parent.get("parentRef"), "ListenerSet", name, namespace, own):
            conditions = _current(route, parent.get("conditions") or [])
            refused = _refused(conditions, ("Accepted",))
            if refused is not None:
                return Reading(False, f"{kind} on ListenerSet {listener_set} is {refused}")
            if "Accepted" in conditions:
                return Reading(True, f"{kind} accepted on ListenerSet {listener_set}")
    return Reading(
        False, f"{kind} on ListenerSet {listener_set}: no current Accepted parent status yet"
    )
