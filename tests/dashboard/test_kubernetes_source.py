"""The Kubernetes source against the Kubernetes REST double, with the official client.

Objects are the ones kura_core renders for real accounts; the double plays the missing controller
by patching status. The source must read phases, LB addresses, ready replicas and who sits where,
with two list calls per refresh and never a write.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kura_core.accounts import Account, Plan
from kura_core.assignment import assign_gateway
from kura_core.manifests import InstanceOptions, render_manifests
from kura_core.plugins import PluginHost
from kura_core.regions import managed_catalogs
from kura_core.scenario import DEFAULT_SCENARIO
from kura_dashboard.data.collector import Collector
from kura_dashboard.data.connection import ConnectionState
from kura_dashboard.data.events import EventKind
from kura_dashboard.data.readings import Inventory, SourceError
from kura_dashboard.data.sources.kubernetes import KubernetesSource
from kura_dashboard.data.sources.simulation import SimulationSource
from kura_dashboard.data.state import DashboardState
from kura_dashboard.data.topology import Topology, cluster_topology
from kura_dashboard.data.views import assignments_view
from kura_testing.kube_double import KubeDouble

NOW = 1_800_000_000.0
REGION = managed_catalogs()["production"].get("eu-central")
ACCOUNTS = (
    Account(id=41, handle="bigcorp", plan=Plan.ENTERPRISE),
    Account(id=42, handle="indie", plan=Plan.PRO),
)


def manifests(host: PluginHost) -> list[dict[str, Any]]:
    objects = []
    for account in ACCOUNTS:
        objects += render_manifests(
            account,
            REGION,
            assignment=assign_gateway(account, REGION, hosted=True),
            load_balancer_provider=host.load_balancer_provider("hetzner"),
            instance=InstanceOptions(image="ghcr.io/tuist/kura:1.0.0"),
        )
    return objects


@pytest.fixture
def kube() -> Iterator[KubeDouble]:
    with KubeDouble.in_thread() as double:
        yield double


@pytest.fixture
def cluster(kube: KubeDouble) -> KubeDouble:
    host = PluginHost(environ={})
    for obj in manifests(host):
        kube.put_object(obj)
    (gateway,) = kube.objects("kuragateways", "kura")
    kube.patch_status(
        "kuragateways",
        "kura",
        gateway["metadata"]["name"],
        {"phase": "Ready", "loadBalancer": "203.0.113.7", "readyReplicas": 2},
    )
    for instance in kube.objects("kurainstances", "kura"):
        kube.patch_status(
            "kurainstances",
            "kura",
            instance["metadata"]["name"],
            {"phase": "Ready", "readyReplicas": 3},
        )
    kube.clear_requests()
    return kube


def source(kube: KubeDouble, tmp_path: Path, timeout: float = 3.0) -> KubernetesSource:
    config = kube.write_kubeconfig(tmp_path / "kubeconfig")
    return KubernetesSource(kubeconfig=config, namespace="kura", timeout=timeout)


def test_lists_gateways_and_instances_with_phase_address_and_readiness(
    cluster: KubeDouble, tmp_path: Path
) -> None:
    inventory = source(cluster, tmp_path).fetch(NOW)
    assert inventory.at == NOW
    assert inventory.problems == ()
    (gateway,) = inventory.gateways
    dedicated = assign_gateway(ACCOUNTS[0], REGION, hosted=True)
    assert gateway.name == dedicated.gateway
    assert gateway.region == "eu-central"
    assert gateway.ingress_class == dedicated.ingress_class
    assert (gateway.phase, gateway.load_balancer, gateway.ready_replicas, gateway.replicas) == (
        "Ready",
        "203.0.113.7",
        2,
        2,
    )
    placed = {i.account: (i.gateway, i.ingress_class, i.phase) for i in inventory.instances}
    assert placed == {
        "bigcorp": (dedicated.gateway, dedicated.ingress_class, "Ready"),
        "indie": (None, "kura-eu-central", "Ready"),
    }


def test_reads_with_two_lists_and_never_writes(cluster: KubeDouble, tmp_path: Path) -> None:
    reader = source(cluster, tmp_path)
    for _ in range(3):
        reader.fetch(NOW)
    assert cluster.writes() == []
    seen = [(r.method, r.verb, r.resource, r.namespace) for r in cluster.requests]
    assert (
        seen
        == [
            ("GET", "list", "kuragateways", "kura"),
            ("GET", "list", "kurainstances", "kura"),
        ]
        * 3
    )


def test_assignments_say_which_account_sits_on_which_gateway(
    cluster: KubeDouble, tmp_path: Path
) -> None:
    inventory = source(cluster, tmp_path).fetch(NOW)
    state = DashboardState(_topology(inventory))
    state.inventory = inventory
    rows = {row.cells["account"].text: row for row in assignments_view(state).rows}
    big = rows["bigcorp"].cells
    assert [big[key].text for key in ("kind", "phase", "lb", "ready", "region")] == [
        "dedicated",
        "Ready",
        "203.0.113.7",
        "2/2",
        "eu-central",
    ]
    assert big["class"].text == assign_gateway(ACCOUNTS[0], REGION, hosted=True).ingress_class
    indie = rows["indie"].cells
    assert [indie[key].text for key in ("kind", "gateway", "lb", "ready")] == [
        "shared",
        "kura-eu-central",
        "-",
        "3/3",
    ]


def _topology(inventory: Inventory) -> Topology:
    return cluster_topology(
        [REGION],
        DEFAULT_SCENARIO,
        lambda region, ingress_class: f"k8s.io/{ingress_class}-ingress-nginx",
        inventory.gateways,
        inventory.instances,
    )


def test_dedicated_gateways_join_the_topology_with_their_account(
    cluster: KubeDouble, tmp_path: Path
) -> None:
    inventory = source(cluster, tmp_path).fetch(NOW)
    topology = _topology(inventory)
    gateway = assign_gateway(ACCOUNTS[0], REGION, hosted=True)
    ref = topology.by_name[str(gateway.gateway)]
    assert ref.account == "bigcorp"
    assert ref.label == f"k8s.io/{gateway.ingress_class}-ingress-nginx"
    assert [g.name for g in topology.in_region("eu-central")] == [
        "kura-eu-central",
        gateway.gateway,
    ]


def test_a_phase_change_is_an_event(cluster: KubeDouble, tmp_path: Path) -> None:
    reader = source(cluster, tmp_path)
    state = DashboardState(_topology(reader.fetch(NOW)))
    collector = Collector(_NoMetrics(), reader, lambda: NOW)
    state.apply(collector.collect())
    name = str(assign_gateway(ACCOUNTS[0], REGION, hosted=True).gateway)
    cluster.patch_status("kuragateways", "kura", name, {"phase": "Error", "readyReplicas": 0})
    state.apply(collector.collect())
    (event,) = [e for e in state.events.newest_first() if e.kind is EventKind.PHASE]
    assert (event.subject, event.message) == (name, "KuraGateway phase Ready → Error")


class _NoMetrics:
    name = "metrics"
    target = "none"

    def fetch(self, now: float) -> list[Any]:
        return []


def test_an_object_that_does_not_parse_degrades_and_is_named(
    cluster: KubeDouble, tmp_path: Path
) -> None:
    broken = {
        "apiVersion": "kura.tuist.dev/v1alpha1",
        "kind": "KuraInstance",
        "metadata": {"name": "kura-broken-eu-central-1", "namespace": "kura"},
        "spec": {"region": "eu-central"},
    }
    cluster.put_object(broken)
    collector = Collector(_NoMetrics(), source(cluster, tmp_path), lambda: NOW)
    snapshot = collector.collect()
    status = snapshot.statuses[1]
    assert status.state is ConnectionState.DEGRADED
    assert "KuraInstance kura-broken-eu-central-1" in status.error
    assert snapshot.inventory is not None
    assert {i.account for i in snapshot.inventory.instances} == {"bigcorp", "indie"}


def test_forbidden_is_said_in_words(cluster: KubeDouble, tmp_path: Path) -> None:
    cluster.inject(status=403, resource="kuragateways")
    with pytest.raises(SourceError) as caught:
        source(cluster, tmp_path).fetch(NOW)
    assert caught.value.message == (
        "not allowed to list kuragateways.kura.tuist.dev in namespace kura "
        "(403 Forbidden: check RBAC)"
    )


def test_a_slow_api_server_times_out(cluster: KubeDouble, tmp_path: Path) -> None:
    cluster.hang(5.0, resource="kuragateways")
    with pytest.raises(SourceError) as caught:
        source(cluster, tmp_path, timeout=0.3).fetch(NOW)
    assert caught.value.unreachable
    assert caught.value.message == f"the Kubernetes API at {cluster.url} did not answer within 0.3s"


def test_an_api_server_that_is_gone_is_unreachable(tmp_path: Path) -> None:
    with KubeDouble.in_thread() as gone:
        reader = source(gone, tmp_path)
        url = gone.url
    collector = Collector(_NoMetrics(), reader, lambda: NOW)
    status = collector.collect().statuses[1]
    assert status.state is ConnectionState.UNREACHABLE
    assert status.error == f"cannot connect to the Kubernetes API at {url}: connection refused"


def test_a_missing_kubeconfig_is_said_in_words(tmp_path: Path) -> None:
    reader = KubernetesSource(kubeconfig=tmp_path / "nope", namespace="kura")
    with pytest.raises(SourceError) as caught:
        reader.fetch(NOW)
    assert caught.value.message.startswith(f"cannot load the kubeconfig {tmp_path / 'nope'}: ")


def test_simulation_source_steps_only_what_the_clock_reached() -> None:
    from kura_core.simulator import DEFAULT_SIMULATION, Simulator

    simulator = Simulator(DEFAULT_SIMULATION, list(managed_catalogs()["production"]))
    reader = SimulationSource(simulator, start=NOW - 60)
    assert [r.at for r in reader.fetch(NOW)] == [NOW - 60 + 5 * k for k in range(1, 13)]
    assert reader.fetch(NOW) == []
    assert [r.at for r in reader.fetch(NOW + 5)] == [NOW + 5]
