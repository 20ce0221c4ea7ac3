"""A fleet with one region per ingress provider: eu-central on the Gateway API (Envoy Gateway),
us-east on ingress-nginx.

Envoy has no capacity figure (docs/capacity.md), so eu-central's ceiling is unknown: the dashboard
says so as ``kura plan`` does, with what the other terms allow as an upper bound, and the
saturation computed on it as a lower bound. Each region's metrics come from its own provider's
queries: both sets against the real Debian ``prometheus``, backfilled with ingress-nginx's and
Envoy's series by ``promtool``, and ``kura dashboard --once`` on such a catalog, simulated and
live.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kura_core.cli.app import build_cli
from kura_core.plugins import PluginHost
from kura_core.regions import Region
from kura_core.scenario import DEFAULT_SCENARIO
from kura_dashboard.data.collector import Collector
from kura_dashboard.data.readings import GatewayObject
from kura_dashboard.data.sources.prometheus import PrometheusSource
from kura_dashboard.data.state import DashboardState
from kura_dashboard.data.topology import Topology, cluster_topology
from kura_dashboard.data.views import (
    ladder_lines,
    overview_view,
    region_sparks,
    region_summary,
    region_view,
)
from kura_testing.binaries import require_binary
from kura_testing.kube_double import KubeDouble
from kura_testing.prometheus import (
    T0,
    PodLoad,
    PrometheusServer,
    backfill,
    envoy_openmetrics,
    ingress_nginx_openmetrics,
    prometheus_server,
)
from tests.dashboard.conftest import (
    FakeMetrics,
    assert_same_metrics,
    last_evaluation,
    load,
    on_gateway_api,
    provided_components,
    recorded_prometheus,
)

HOST = PluginHost(environ={})
DEDICATED = "kgw-0123456789ab-eu-central"
DEDICATED_CLASS = f"kura-eu-central-{DEDICATED}"
ELAPSED = 20 * 60
AT = float(T0 + ELAPSED)
DAY = 86_400
# Envoy's request time buckets in milliseconds: shares at or below 100/250/500/1000 ms.
SHARD = PodLoad(
    reloads=((300, True), (970, True), (1090, True)),
    cert_expiries=(ELAPSED + 45 * DAY, ELAPSED + 30 * DAY),
)
DEDICATED_POD = PodLoad(
    requests_ok=10.0,
    requests_4xx=0.5,
    bytes_in=5e5,
    bytes_out=2e7,
    active_connections=7.0,
    duration_shares=(0.96, 0.98, 0.99, 1.0),
    reloads=((1000, True), (1100, False)),
    cert_expiries=(ELAPSED + 7 * DAY,),
)


def regions() -> list[Region]:
    return [r for r in on_gateway_api() if r.id in ("eu-central", "us-east")]


def label(region: Region, ingress_class: str) -> str:
    """The gateway label of the region's own ingress provider (as the dashboard's wiring)."""
    return HOST.ingress_provider(region.ingress_provider).default_controller_class(ingress_class)


def dedicated_gateway() -> GatewayObject:
    return GatewayObject(
        name=DEDICATED,
        namespace="kura",
        region="eu-central",
        ingress_class=DEDICATED_CLASS,
        controller_class=None,
        replicas=2,
    )


def topology() -> Topology:
    fleet = regions()
    return cluster_topology(
        fleet, DEFAULT_SCENARIO, label, [dedicated_gateway()], (), provided_components(fleet)
    )


def test_a_region_on_the_gateway_api_has_an_unknown_ceiling_as_kura_plan_says(
    fake_metrics: FakeMetrics,
) -> None:
    fleet = topology()
    # Envoy's gateways are labelled with their Gateway's name, ingress-nginx's with the class.
    assert {ref.name: ref.label for ref in fleet.gateways} == {
        "kura-eu-central": "kura-eu-central",
        "kura-us-east": "k8s.io/kura-us-east-ingress-nginx",
        DEDICATED: DEDICATED_CLASS,
    }
    fake_metrics.gateways = {
        "kura-eu-central": load(1.0, 1.5),
        "k8s.io/kura-us-east-ingress-nginx": load(1.0, 1.5),
        DEDICATED_CLASS: load(0.5, 0.5),
    }
    state = DashboardState(fleet)
    state.apply(Collector(fake_metrics, None, lambda: AT).collect())
    view = overview_view(state, AT, width=200)
    rows = {row.id: row.cells for row in view.rows}
    # 2.5 Gbps on the 5 Gbps the load balancer allows: at least half; us-east's is its ceiling.
    assert rows["eu-central"]["ceiling"].text == "unknown (≤ 5.00)"
    assert rows["eu-central"]["ceiling"].sort == 5e9
    assert rows["eu-central"]["sat"].text == "█████░░░░░ ≥50% OK"
    assert rows["eu-central"]["binds"].text == "regional-lb"
    assert rows["us-east"]["ceiling"].text == "5.00"
    assert rows["us-east"]["sat"].text == "█████░░░░░  50% OK"
    unknown = [note for note in view.notes if "unknown" in note]
    assert unknown == [
        "eu-central: the ceiling is unknown, envoy-proxy having no figure; 5.00 Gbps is what "
        "the other terms allow, and SATURATION (≥, a lower bound) and the ladder rest on it. "
        "Give the figure in a scenario once measured (docs/capacity.md)"
    ]
    ladder = {line.region: line.reasons for line in ladder_lines(state)}
    assert ladder["eu-central"][-1] == (
        "the ceiling is unknown, envoy-proxy having no figure: this rests on the 5.00 Gbps per "
        "shard the other terms allow"
    )
    assert not any("unknown" in reason for reason in ladder["us-east"])
    summary = region_summary(state, "eu-central", AT).splitlines()[0]
    assert summary.startswith(
        "EU Central: ceiling unknown, at most 5.00 Gbps = 1 x 5.00 Gbps (envoy-proxy having no "
        "figure; of the others regional-lb binds, an assumption) · in 1.00 / out 1.50 Gbps"
    )
    assert "unknown" not in region_summary(state, "us-east", AT)
    sparks = {r: region_sparks(state, r, 20)[0].latest for r in ("eu-central", "us-east")}
    assert sparks == {"eu-central": "≥50%", "us-east": "50%"}
    # The dedicated gateway's ceiling is unknown too: same region, same data plane.
    gateways = region_view(state, "eu-central", AT, width=200)
    cells = {row.id: row.cells for row in gateways.rows}
    assert cells[DEDICATED]["ceiling"].text == "unknown (≤ 5.00)"
    assert cells[DEDICATED]["sat"].text == "██░░░░░░░░ ≥20% OK"
    assert [n for n in gateways.notes if "unknown" in n] == [
        f"{name}: the ceiling is unknown, envoy-proxy having no figure; CEILING is what the "
        "other terms allow, and SATURATION (≥) rests on it"
        for name in ("kura-eu-central", DEDICATED)
    ]


# --- both providers' queries against the real Prometheus ------------------------------------


def mixed_openmetrics(start: int, minutes: int = 30) -> str:
    """us-east's shard on ingress-nginx, eu-central's shard and dedicated gateway on Envoy; one
    OpenMetrics text (the two families' names differ)."""
    nginx = ingress_nginx_openmetrics(
        {"k8s.io/kura-us-east-ingress-nginx": [SHARD] * 2}, start=start, minutes=minutes
    )
    envoy = envoy_openmetrics(
        {"kura-eu-central": [SHARD] * 2, DEDICATED_CLASS: [DEDICATED_POD]},
        start=start,
        minutes=minutes,
    )
    return nginx.removesuffix("# EOF\n") + envoy


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    promtool, prometheus = require_binary("promtool"), require_binary("prometheus")
    workdir = tmp_path_factory.mktemp("mixed")
    data = backfill(promtool, mixed_openmetrics(T0), workdir)
    with prometheus_server(prometheus, data, workdir) as running:
        yield running


def queries_answered(server: PrometheusServer) -> float:
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    pattern = r'^prometheus_http_requests_total\{code="200",handler="/api/v1/query"\} (\S+)$'
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def query_sets(fleet: Sequence[Region]) -> list[object]:
    # One set per region, as the dashboard's wiring builds them: the source keeps each once.
    return [HOST.ingress_provider(r.ingress_provider).metric_queries() for r in fleet]


def test_each_region_is_read_with_its_own_providers_queries(server: PrometheusServer) -> None:
    fleet = regions()
    source = PrometheusSource(server.url, query_sets(fleet), timeout=5.0, evaluation_time=AT)  # type: ignore[arg-type]
    before = queries_answered(server)
    (readout,) = source.fetch(now=AT)
    assert readout.problems == ()
    # Each provider's eight queries, whatever the number of gateways.
    assert source.queries_per_refresh == 8 + 8
    assert queries_answered(server) - before == 16
    assert set(readout.gateways) == {
        "k8s.io/kura-us-east-ingress-nginx",
        "kura-eu-central",
        DEDICATED_CLASS,
    }
    nginx, envoy = (
        readout.gateways["k8s.io/kura-us-east-ingress-nginx"],
        readout.gateways["kura-eu-central"],
    )
    # The same load through either data plane reads the same; Envoy Gateway's own readiness
    # listener (probes, a connection, a few bytes) is not the gateway's traffic.
    for metrics in (nginx, envoy):
        assert metrics.bytes_in == pytest.approx(2e6, rel=1e-9)
        assert metrics.bytes_out == pytest.approx(8e6, rel=1e-9)
        assert metrics.requests == pytest.approx(6.0, rel=1e-9)
        assert metrics.error_ratio == 0.0
        assert metrics.success_ratio == pytest.approx(1.0, rel=1e-9)
        assert metrics.active_connections == 80.0
        # Envoy's milliseconds are seconds here: shares at 0.1/0.25/0.5/1s of 50/80/90/100%.
        assert metrics.p50_latency == pytest.approx(0.1, rel=1e-9)
        assert metrics.p90_latency == pytest.approx(0.5, rel=1e-9)
        assert metrics.p95_latency == pytest.approx(0.75, rel=1e-9)
        assert metrics.p99_latency == pytest.approx(0.95, rel=1e-9)
        # Two reloads (listener updates) in the last 5 minutes on each of two pods.
        assert metrics.config_reloads == 4.0
        assert metrics.config_reload_failed == 0.0
        assert metrics.cert_expiry == 30 * DAY
    dedicated = readout.gateways[DEDICATED_CLASS]
    assert dedicated.requests == pytest.approx(10.5, rel=1e-9)
    assert dedicated.success_ratio == pytest.approx(10.0 / 10.5, rel=1e-9)
    assert dedicated.p99_latency == pytest.approx(0.5, rel=1e-9)
    # One accepted listener update in the window, then a rejected one: the gateway's reload
    # failed, and its first certificate expires in 7 days.
    assert (dedicated.config_reloads, dedicated.config_reload_failed) == (1.0, 1.0)
    assert dedicated.cert_expiry == 7 * DAY
    # On the dashboard: eu-central's load over the bound the other terms allow.
    state = DashboardState(topology())
    state.apply(Collector(source, None, lambda: AT).collect())
    rows = {row.id: row.cells for row in overview_view(state, AT, width=200).rows}
    assert rows["eu-central"]["sat"].text.endswith(" ≥2% OK")
    assert rows["us-east"]["sat"].text.endswith("  2% OK")
    assert rows["eu-central"]["reload"].text == "FAILED"
    assert rows["eu-central"]["cert"].text == "7d CRIT"


@pytest.fixture(scope="module")
def recorded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """The same series, with both providers' recording rules loaded and what they recorded."""
    providers = {r.ingress_provider for r in regions()}
    query_sets = {name: HOST.ingress_provider(name).metric_queries() for name in providers}
    workdir = tmp_path_factory.mktemp("mixed-recorded")
    with recorded_prometheus(mixed_openmetrics(T0), query_sets, workdir, AT) as up:
        yield up


def test_each_providers_recorded_series_read_as_its_queries_do(
    server: PrometheusServer, recorded_server: PrometheusServer
) -> None:
    sets = query_sets(regions())
    source = PrometheusSource(recorded_server.url, sets, timeout=5.0, evaluation_time=AT)  # type: ignore[arg-type]
    try:
        source.fetch(now=AT)
        (readout,) = source.fetch(now=AT)
    finally:
        source.close()
    assert readout.note == "recording rules"
    assert readout.problems == ()
    # A recorded figure is as of its group's last evaluation, within the interval before AT:
    # the provider's queries at that instant read the same.
    read: set[str] = set()
    for provider in ("ingress-nginx", "gateway-api"):
        queries = HOST.ingress_provider(provider).metric_queries()
        assert queries.by_gateway[0].record is not None
        evaluated = last_evaluation(recorded_server.url, queries.by_gateway[0].record, AT)
        assert AT - 1.0 < evaluated <= AT
        raw = PrometheusSource(server.url, [queries], timeout=5.0, evaluation_time=evaluated)
        try:
            (expected,) = raw.fetch(now=AT)
        finally:
            raw.close()
        for gateway, want in expected.gateways.items():
            assert_same_metrics(readout.gateways[gateway], want, gateway)
        read |= expected.gateways.keys()
    assert read == readout.gateways.keys()
    # Envoy's milliseconds are recorded as seconds.
    assert readout.gateways["kura-eu-central"].p95_latency == pytest.approx(0.75, rel=1e-9)


# --- kura dashboard --once on such a catalog ------------------------------------------------


def catalog_file(directory: Path, fleet: Sequence[Region]) -> Path:
    """A catalog as `kura regions -o json` prints it."""
    catalog = directory / "catalog.json"
    catalog.write_text(json.dumps([r.model_dump(mode="json") for r in fleet]))
    return catalog


def kura(*args: str) -> Result:
    return CliRunner().invoke(
        build_cli(PluginHost(environ={})),
        list(args),
        env={"KURA_CATALOG": None, "KURA_ENV": None, "HCLOUD_TOKEN": None},
        catch_exceptions=False,
    )


def row(frame: str, region: str) -> str:
    return next(line for line in frame.splitlines() if line.startswith(f" {region} "))


def test_once_prints_the_simulated_fleet_with_the_unknown_ceiling(tmp_path: Path) -> None:
    result = kura("--catalog", str(catalog_file(tmp_path, on_gateway_api())), "dashboard", "--once")
    assert result.exit_code == 0, result.output
    frame = result.stdout
    assert "unknown (≤ 10.0)" in row(frame, "eu-central")
    assert re.search(r" ≥\d+% ", row(frame, "eu-central"))
    for region in ("us-east", "us-west"):
        assert "unknown" not in row(frame, region)
        assert "≥" not in row(frame, region)
    words = " ".join(frame.split())
    assert "eu-central: the ceiling is unknown, envoy-proxy having no figure; 10.0 Gbps" in words


@pytest.mark.e2e  # a real prometheus
def test_once_reads_a_live_fleet_with_one_region_per_provider(tmp_path: Path) -> None:
    promtool, prometheus = require_binary("promtool"), require_binary("prometheus")
    # The samples of the test above, ending now, so the dashboard's queries at now find them.
    start = int(time.time()) - ELAPSED
    data = backfill(promtool, mixed_openmetrics(start, minutes=ELAPSED // 60), tmp_path)
    with KubeDouble.in_thread() as kube, prometheus_server(prometheus, data, tmp_path) as live:
        kube.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kura"}})
        kube.put_object(
            {
                "apiVersion": "kura.tuist.dev/v1alpha1",
                "kind": "KuraGateway",
                "metadata": {"name": DEDICATED, "namespace": "kura"},
                "spec": {"region": "eu-central", "ingressClassName": DEDICATED_CLASS},
            }
        )
        kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
        result = kura(
            "--catalog", str(catalog_file(tmp_path, regions())), "dashboard", "--once",
            "--prometheus", live.url, "--kubeconfig", str(kubeconfig), "--env", "production",
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = result.stdout
    eu_central = row(frame, "eu-central")
    # 10 MB/s of shared load on the 5 Gbps bound; the dedicated gateway's failed update shows.
    assert "unknown (≤ 5.00)" in eu_central
    assert " ≥2% " in eu_central
    assert "FAILED" in eu_central
    assert "7d CRIT" in eu_central
    assert " 2% " in row(frame, "us-east")
    assert "unknown" not in row(frame, "us-east")
