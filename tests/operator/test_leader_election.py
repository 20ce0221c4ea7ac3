"""One active operator, on the real control plane: of two operators exactly one writes, a standby
takes over when the leader is killed, a Lease held by another controller (upstream's, played by
the test renewing it) keeps the operator a standby that writes nothing until the Lease expires,
and an operator that loses its Lease stops and exits.

Both operators run as the same ServiceAccount; the audit log tells them apart by the user agent,
which names each process's identity (the Lease's holderIdentity). Nothing here measures time: the
tests follow the Lease's holder and transitions, and who wrote what, with generous timeouts.
"""

from __future__ import annotations

import pytest

from kura_testing.kube_double import RequestRecord
from tests.operator.conftest import REAL
from tests.operator.harness import NAMESPACE, Cluster, OperatorProcess, gateway_manifest
from tests.operator.leases import (
    TAKEOVER,
    UPSTREAM,
    held_by_upstream,
    holder,
    identity,
    lease_name,
    lease_spec,
)
from tests.operator.real_cluster import RealCluster

pytestmark = REAL


def leader(cluster: Cluster) -> tuple[OperatorProcess, str]:
    """An operator with leader election, once it holds the Lease, and its identity."""
    operator = cluster.start_operator(standalone=False)
    own = identity(cluster, operator)
    cluster.wait(lambda: holder(cluster) == own, "the operator to hold the Lease")
    return operator, own


def writes_follow_the_lease(records: list[RequestRecord]) -> list[str]:
    """Every write but the Lease's comes from the process that holds the Lease at that point of
    the audit log; returns the holders the operators wrote into the Lease, in order."""
    current = ""
    holders: list[str] = []
    for record in records:
        if not record.is_write:
            continue
        if record.resource == "leases":
            if record.status < 300:
                current = record.body["spec"]["holderIdentity"]
                if not holders or holders[-1] != current:
                    holders.append(current)
            continue
        what = f"{record.verb} {record.resource} {record.name} by {record.agent}"
        assert current, f"{what} while nobody held the Lease"
        assert current in (record.agent or ""), f"{what} while {current} held the Lease"
    return holders


def non_lease_writes(cluster: RealCluster, who: str) -> list[RequestRecord]:
    return [r for r in cluster.real.writes() if r.resource != "leases" and who in (r.agent or "")]


def test_of_two_operators_one_writes_and_the_other_takes_over_when_it_is_killed(
    cluster: Cluster,
) -> None:
    assert isinstance(cluster, RealCluster)
    first, first_id = leader(cluster)
    second = cluster.start_operator(standalone=False)
    second_id = identity(cluster, second)
    standby = (200, f"standby: {first_id} holds the lease {lease_name(cluster)}\n")
    cluster.wait(lambda: second.readiness() == standby, "the second one to stand by")
    assert (first.state(), second.state()) == ("active", "standby")
    assert first.readiness() == (200, "ready\n")
    transitions = lease_spec(cluster)["leaseTransitions"]

    manifest = gateway_manifest(91)
    name = manifest["metadata"]["name"]
    cluster.create_gateway(manifest)
    cluster.make_ready(name)
    cluster.wait_phase(name, "Ready")
    assert non_lease_writes(cluster, first_id)
    # The standby wrote nothing at all, not even to the Lease it keeps looking at.
    assert [r for r in cluster.real.writes() if second_id in (r.agent or "")] == []
    assert second.metric("kura_operator_reconciles_total", kind="KuraGateway", result="ok") == 0

    first.kill()  # SIGKILL: no release, the Lease has to expire
    cluster.wait(lambda: holder(cluster) == second_id, "the standby to take over", TAKEOVER)
    assert lease_spec(cluster)["leaseTransitions"] == transitions + 1
    cluster.wait(lambda: second.readiness() == (200, "ready\n"), "the new leader to be ready")
    assert second.state() == "active"
    # The new leader serves.
    cluster.patch_gateway(name, {"spec": {"replicas": 3}})
    workload = f"{name}-controller"
    cluster.wait(
        lambda: (
            (cluster.kube.get("deployments", NAMESPACE, workload) or {})["spec"]["replicas"] == 3
        ),
        "the new leader to scale the gateway",
    )
    assert non_lease_writes(cluster, second_id)
    assert writes_follow_the_lease(cluster.real.requests) == [first_id, second_id]

    # A clean stop gives the Lease up, as client-go's ReleaseOnCancel does.
    assert second.stop() == 0
    released = lease_spec(cluster)
    assert (released["holderIdentity"], released["leaseDurationSeconds"]) == ("", 1)
    assert released["leaseTransitions"] == transitions + 1


def test_a_lease_another_controller_holds_keeps_the_operator_standby_until_it_expires(
    cluster: Cluster,
) -> None:
    assert isinstance(cluster, RealCluster)
    manifest = gateway_manifest(92)
    name = manifest["metadata"]["name"]
    with held_by_upstream(cluster, transitions=3):
        operator = cluster.start_operator(standalone=False)
        own = identity(cluster, operator)
        standby = (200, f"standby: {UPSTREAM} holds the lease {lease_name(cluster)}\n")
        cluster.wait(lambda: operator.readiness() == standby, "the operator to stand by")
        assert operator.state() == "standby"
        cluster.create_gateway(manifest)

        def looks() -> int:
            return len(cluster.real.requests_matching(verb="get", resource="leases"))

        # It keeps looking at the Lease, each time renewed, with work waiting: it writes nothing.
        seen = looks()
        cluster.wait(lambda: looks() >= seen + 3, "three more looks at the Lease", 60)
        assert cluster.real.writes() == []
        assert (cluster.gateway(name) or {}).get("status") is None
    # Upstream's controller stopped renewing: once the Lease expired, the operator takes it.
    cluster.wait(lambda: holder(cluster) == own, "the operator to take the Lease", TAKEOVER)
    assert lease_spec(cluster)["leaseTransitions"] == 4
    cluster.make_ready(name)
    cluster.wait_phase(name, "Ready")
    assert writes_follow_the_lease(cluster.real.requests) == [own]


def test_an_operator_that_sees_another_holder_stops_and_exits_leaving_the_lease_alone(
    cluster: Cluster,
) -> None:
    assert isinstance(cluster, RealCluster)
    operator, _ = leader(cluster)
    cluster.real.clear_requests()
    # Another controller takes the Lease without waiting for it to expire.
    with held_by_upstream(cluster, transitions=1):
        cluster.wait(lambda: operator.process.poll() is not None, "the operator to exit", 60)
        assert operator.process.returncode == 1
        said = operator.log_path.read_text()
        assert (
            f"kura-operator: error: lost the lease {lease_name(cluster)}: {UPSTREAM} holds it "
            "now; stopped\n"
        ) in said
        assert "Traceback" not in said
        # Its last renewal failed on the stale resourceVersion, and nothing came after it: no
        # release of a Lease that is no longer its own.
        writes = cluster.real.writes()
        assert {(r.verb, r.resource) for r in writes} == {("update", "leases")}
        assert writes[-1].status == 409
        assert holder(cluster) == UPSTREAM


@pytest.mark.double
def test_an_operator_whose_renewals_fail_stops_at_the_renew_deadline_and_exits(
    cluster: Cluster,
) -> None:
    operator, _ = leader(cluster)
    # The API server stops taking renewals (only a double can refuse them on demand).
    cluster.kube.inject(status=503, method="PUT", resource="leases", times=None)
    cluster.wait(lambda: operator.process.poll() is not None, "the operator to exit", 60)
    assert operator.process.returncode == 1
    said = operator.log_path.read_text()
    assert (
        "kura-operator: error: lost the lease kura/kura-controller.kura.tuist.dev: not renewed "
        "within the renew deadline of 10s; stopped\n"
    ) in said
    assert "Traceback" not in said
