"""The leader election's Lease as tests see it, and upstream's controller holding it.

Upstream's controller is played by renewing the Lease under its identity, as a
controller-runtime candidate does; when it stops renewing, the Lease expires.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from kura_operator.leader import micro_time
from kura_operator.settings import LEADER_ELECTION_ID
from tests.operator.harness import NAMESPACE, Cluster, OperatorProcess

# A lease duration after the last renewal seen, a retry period with jitter, and a loaded machine.
TAKEOVER = 90.0
# What a controller-runtime candidate calls itself: <pod name>_<uuid>.
UPSTREAM = "kura-controller-6f7d8b9c5-qx2lp_4b6f0c1e-9a7d-4e2b-8c3f-1d2e3f4a5b6c"


def lease_spec(cluster: Cluster) -> dict[str, Any]:
    lease = cluster.kube.get("leases", NAMESPACE, LEADER_ELECTION_ID) or {}
    return dict(lease.get("spec") or {})


def holder(cluster: Cluster) -> str:
    return str(lease_spec(cluster).get("holderIdentity") or "")


def lease_name(cluster: Cluster) -> str:
    return f"{cluster.operator_namespace}/{LEADER_ELECTION_ID}"


def identity(cluster: Cluster, operator: OperatorProcess) -> str:
    """The process's candidate identity, as it logs it once its self-check passed."""
    said = "candidate for the lease "

    def candidates() -> list[str]:
        return [r["message"] for r in operator.logs() if r["message"].startswith(said)]

    cluster.wait(lambda: bool(candidates()), "the operator to name itself")
    return candidates()[0].rsplit(" as ", 1)[1]


@contextmanager
def held_by_upstream(cluster: Cluster, *, transitions: int) -> Iterator[None]:
    """The Lease held by upstream's controller, renewed every second until the block ends."""
    stop = threading.Event()
    acquired = micro_time(datetime.now(UTC))

    def renew() -> None:
        cluster.kube.put_object(
            {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": LEADER_ELECTION_ID, "namespace": NAMESPACE},
                "spec": {
                    "holderIdentity": UPSTREAM,
                    "leaseDurationSeconds": 15,
                    "acquireTime": acquired,
                    "renewTime": micro_time(datetime.now(UTC)),
                    "leaseTransitions": transitions,
                },
            }
        )

    def keep_renewing() -> None:
        while not stop.wait(1.0):
            renew()

    renew()
    renewer = threading.Thread(target=keep_renewing, daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join(10)
