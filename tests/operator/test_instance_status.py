"""A KuraInstance's status from what the operator observed: upstream's rule and wording."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kura_core.resources import KuraInstance, parse_instance
from kura_operator.conditions import error_status
from kura_operator.instance_status import instance_status, rollout

NOW = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)
EARLIER = "2026-03-01T11:00:00Z"
NAME = "kura-acme-us-east-1"


def instance(generation: int = 4, **spec: Any) -> KuraInstance:
    fields = {
        "accountHandle": "acme",
        "tenantID": "acme",
        "region": "us-east",
        "image": "ghcr.io/tuist/kura:0.6.0",
        "publicHost": "acme-us-east-1.kura.tuist.dev",
        "grpcPublicHost": "grpc.acme-us-east-1.kura.tuist.dev",
        **spec,
    }
    return parse_instance(
        {
            "apiVersion": "kura.tuist.dev/v1alpha1",
            "kind": "KuraInstance",
            "metadata": {"name": NAME, "namespace": "kura", "generation": generation},
            "spec": {k: v for k, v in fields.items() if v is not None},
        }
    )


def stateful_set(
    *,
    ready: int = 3,
    updated: int = 3,
    observed: int = 2,
    generation: int = 2,
    current: str = "r2",
    update: str = "r2",
) -> dict[str, Any]:
    return {
        "metadata": {"generation": generation},
        "status": {
            "observedGeneration": observed,
            "readyReplicas": ready,
            "updatedReplicas": updated,
            "currentRevision": current,
            "updateRevision": update,
        },
    }


def status(
    inst: KuraInstance | None = None, previous: dict[str, Any] | None = None, **kwargs: Any
) -> dict[str, Any]:
    options: dict[str, Any] = {
        "stateful_set": stateful_set(),
        "missing_class": None,
        "peer_tls_problem": None,
        "applied_revision": None,
        **kwargs,
    }
    return instance_status(inst or instance(), previous or {}, now=NOW, **options)


def test_a_rolled_out_instance_is_ready() -> None:
    found = status(applied_revision="2026-03-01-a")
    assert found == {
        "phase": "Ready",
        "message": "3/3 replicas ready on revision r2",
        "readyReplicas": 3,
        "lastReconciledAt": "2026-03-01T12:00:05Z",
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "lastTransitionTime": "2026-03-01T12:00:05Z",
                "reason": "RolloutComplete",
                "message": "3/3 replicas ready on revision r2",
                "observedGeneration": 4,
            }
        ],
        "publicURL": "https://acme-us-east-1.kura.tuist.dev",
        "grpcPublicURL": "grpcs://grpc.acme-us-east-1.kura.tuist.dev",
        "observedImage": "ghcr.io/tuist/kura:0.6.0",
        "observedGeneration": 4,
        "appliedManifestRevision": "2026-03-01-a",
    }


@pytest.mark.parametrize(
    ("observed", "message"),
    [
        (None, f"StatefulSet {NAME} has not been created yet"),
        (
            stateful_set(observed=1),
            "3/3 replicas ready, 3/3 updated, observedGeneration=false, revisionsMatch=true",
        ),
        (
            stateful_set(current="r1"),
            "3/3 replicas ready, 3/3 updated, observedGeneration=true, revisionsMatch=false",
        ),
        (
            stateful_set(current="", update=""),
            "3/3 replicas ready, 3/3 updated, observedGeneration=true, revisionsMatch=false",
        ),
        (
            stateful_set(ready=2),
            "2/3 replicas ready, 3/3 updated, observedGeneration=true, revisionsMatch=true",
        ),
        (
            stateful_set(updated=1),
            "3/3 replicas ready, 1/3 updated, observedGeneration=true, revisionsMatch=true",
        ),
    ],
    ids=["missing", "generation", "revisions", "no-revisions", "ready", "updated"],
)
def test_anything_short_of_a_full_rollout_is_pending(
    observed: dict[str, Any] | None, message: str
) -> None:
    found = status(stateful_set=observed)
    assert (found["phase"], found["message"]) == ("Pending", message)
    assert found["conditions"][0]["reason"] == "RolloutInProgress"


def test_the_observed_image_changes_only_with_a_complete_rollout() -> None:
    previous = {"observedImage": "ghcr.io/tuist/kura:0.5.0"}
    assert status(previous=previous, stateful_set=stateful_set(ready=1))["observedImage"] == (
        "ghcr.io/tuist/kura:0.5.0"
    )
    assert "observedImage" not in status(stateful_set=None)
    assert status(previous=previous)["observedImage"] == "ghcr.io/tuist/kura:0.6.0"


def test_a_missing_ingress_class_keeps_the_instance_pending_and_says_so() -> None:
    found = status(missing_class="kura-us-east")
    assert found["phase"] == "Pending"
    assert found["message"] == (
        "IngressClass 'kura-us-east' does not exist, so no gateway routes to this instance yet; "
        "3/3 replicas ready on revision r2"
    )
    assert found["conditions"][0]["reason"] == "IngressClassNotFound"


def test_a_peer_tls_problem_keeps_the_instance_pending() -> None:
    problem = "peer TLS Secret 'kura-acme-peer-tls' does not exist, so no pod can start"
    found = status(peer_tls_problem=problem, stateful_set=stateful_set(ready=0))
    assert found["phase"] == "Pending"
    assert found["message"].startswith(problem + "; 0/3 replicas ready")
    assert found["conditions"][0]["reason"] == "PeerTLSUnavailable"


def test_the_transition_time_moves_only_when_readiness_does() -> None:
    ready_before = {
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": EARLIER}]
    }
    assert status(previous=ready_before)["conditions"][0]["lastTransitionTime"] == EARLIER
    pending = status(previous=ready_before, stateful_set=stateful_set(ready=2))
    assert pending["conditions"][0]["lastTransitionTime"] == "2026-03-01T12:00:05Z"


def test_without_hosts_there_are_no_urls() -> None:
    found = status(instance(publicHost=None, grpcPublicHost=None))
    assert "publicURL" not in found
    assert "grpcPublicURL" not in found


def test_rollout_counts_one_replica_by_default_spec() -> None:
    one = instance(replicas=1)
    assert rollout(one, stateful_set(ready=1, updated=1)) == (
        True,
        "1/1 replicas ready on revision r2",
        1,
    )


def test_an_error_status_keeps_the_time_of_an_earlier_error() -> None:
    raw = {
        "metadata": {"generation": 3},
        "status": {
            "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": EARLIER}]
        },
    }
    found = error_status(raw, "unknown region 'mars'", now=NOW)
    assert found["phase"] == "Error"
    assert found["observedGeneration"] == 3
    (condition,) = found["conditions"]
    assert condition["lastTransitionTime"] == EARLIER
    assert (condition["reason"], condition["status"]) == ("InvalidSpec", "False")
    assert error_status({"metadata": {}}, "x", now=NOW)["conditions"][0] == {
        "type": "Ready",
        "status": "False",
        "lastTransitionTime": "2026-03-01T12:00:05Z",
        "reason": "InvalidSpec",
        "message": "x",
    }
