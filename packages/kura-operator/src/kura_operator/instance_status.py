"""A KuraInstance's status, computed from what the operator observed: pure, the clock passed in.

Upstream's rollout rule and wording (docs/upstream.md): Ready when the StatefulSet
has observed its generation, its current and update revisions match, and its ready and updated
replicas reach the wanted count (message ``<r>/<n> replicas ready on revision <rev>``); else
Pending (``<r>/<n> replicas ready, <u>/<n> updated, observedGeneration=<b>,
revisionsMatch=<b>``). Beyond upstream: an IngressClass that does not exist, a peer TLS Secret
the pods cannot mount, or a route kind the cluster does not serve (cert-manager's Certificate
without cert-manager) keeps the instance Pending with a message saying so, and a standard
``Ready`` condition carries the generation it describes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kura_core import KuraInstance
from kura_operator.conditions import READY, ready_condition, stamp
from kura_operator.instance_layout import replicas_of

PENDING = "Pending"
KIND_NOT_SERVED = "KindNotServed"


def condition_reason(status: Mapping[str, Any]) -> str | None:
    """The reason of a status's Ready condition, if it has one."""
    for condition in status.get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type") == READY:
            return str(condition.get("reason"))
    return None


def _count(status: Mapping[str, Any], key: str) -> int:
    value = status.get(key)
    return value if isinstance(value, int) else 0


def rollout(
    instance: KuraInstance, stateful_set: Mapping[str, Any] | None
) -> tuple[bool, str, int]:
    """(rolled out, message, ready replicas) of the observed StatefulSet."""
    if stateful_set is None:
        return False, f"StatefulSet {instance.metadata.name} has not been created yet", 0
    wanted = replicas_of(instance)
    status = stateful_set.get("status") or {}
    ready, updated = _count(status, "readyReplicas"), _count(status, "updatedReplicas")
    generation = (stateful_set.get("metadata") or {}).get("generation") or 0
    observed = _count(status, "observedGeneration") >= generation
    current, update = status.get("currentRevision"), status.get("updateRevision")
    revisions_match = bool(update) and current == update
    if observed and revisions_match and ready >= wanted and updated >= wanted:
        return True, f"{ready}/{wanted} replicas ready on revision {current}", ready
    message = (
        f"{ready}/{wanted} replicas ready, {updated}/{wanted} updated, "
        f"observedGeneration={str(observed).lower()}, "
        f"revisionsMatch={str(revisions_match).lower()}"
    )
    return False, message, ready


def instance_status(
    instance: KuraInstance,
    previous: Mapping[str, Any],
    *,
    stateful_set: Mapping[str, Any] | None,
    missing_class: str | None,
    peer_tls_problem: str | None,
    applied_revision: str | None,
    now: datetime,
    unserved: str | None = None,
    missing_gateway: str | None = None,
) -> dict[str, Any]:
    """The status to write (camelCase keys, unset fields left out).

    ``previous`` is the live status as stored (the operator's own, so read as it is);
    ``missing_class`` names the spec's IngressClass when it does not exist, and
    ``missing_gateway`` the Gateway API Gateway its routes attach to when that does not;
    ``peer_tls_problem`` says why the pods cannot mount their peer TLS Secret, if so;
    ``applied_revision`` is the manifest revision every child was just applied for;
    ``unserved`` says which route kind the cluster does not serve (its routes were skipped).
    """
    rolled_out, message, ready_replicas = rollout(instance, stateful_set)
    reason = "RolloutComplete" if rolled_out else "RolloutInProgress"
    if peer_tls_problem:
        message, reason = f"{peer_tls_problem}; {message}", "PeerTLSUnavailable"
    if missing_class:
        message = (
            f"IngressClass {missing_class!r} does not exist, so no gateway routes to this "
            f"instance yet; {message}"
        )
        reason = "IngressClassNotFound"
    if missing_gateway:
        message = (
            f"{missing_gateway} does not exist, so nothing routes to this instance yet; {message}"
        )
        reason = "GatewayNotFound"
    if unserved:
        message, reason = f"{unserved}; {message}", KIND_NOT_SERVED
    ready = (
        rolled_out
        and not missing_class
        and not missing_gateway
        and not peer_tls_problem
        and not unserved
    )
    generation = instance.metadata.generation
    status: dict[str, Any] = {
        "phase": READY if ready else PENDING,
        "message": message,
        "readyReplicas": ready_replicas,
        "lastReconciledAt": stamp(now),
        "conditions": [
            ready_condition(
                previous,
                ready=ready,
                reason=reason,
                message=message,
                generation=generation,
                now=now,
            )
        ],
    }
    if instance.spec.public_host:
        status["publicURL"] = f"https://{instance.spec.public_host}"
    if instance.spec.grpc_public_host:
        status["grpcPublicURL"] = f"grpcs://{instance.spec.grpc_public_host}"
    # The image the pods run: the spec's once a rollout is complete, until then the last one.
    observed_image = instance.spec.image if rolled_out else previous.get("observedImage")
    if observed_image:
        status["observedImage"] = observed_image
    if generation is not None:
        status["observedGeneration"] = generation
    if applied_revision:
        status["appliedManifestRevision"] = applied_revision
    return status
