"""The Prometheus source against the real Debian ``prometheus``, loaded by ``promtool``.

The series grow linearly, so every figure is known exactly: the source must read each gateway's
throughput, requests, percentiles, success and 5xx ratios, connections, config reloads and
certificate expiry with the ingress provider's queries (reached through the plugin host), with a
constant number of queries. A killed Prometheus refuses at once, a stopped (SIGSTOP) one times
out, and either shows as unreachable, in words.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from kura_core.metric_queries import QUANTILES, Metric, Shape
from kura_core.plugins import PluginHost
from kura_core.providers import IngressProvider
from kura_core.regions import managed_catalogs
from kura_core.scenario import DEFAULT_SCENARIO
from kura_core.simulator import GatewayKind
from kura_dashboard.data.collector import Collector
from kura_dashboard.data.connection import ConnectionState
from kura_dashboard.data.events import EventKind
from kura_dashboard.data.readings import GatewayMetrics, GatewayObject, SourceError
from kura_dashboard.data.sources.prometheus import PrometheusSource
from kura_dashboard.data.state import DashboardState
from kura_dashboard.data.thresholds import Level
from kura_dashboard.data.topology import cluster_topology
from kura_dashboard.data.views import overview_view, region_view
from kura_testing.binaries import require_binary
from kura_testing.loopback import LoopbackServer
from kura_testing.prometheus import (
    T0,
    PodLoad,
    PrometheusServer,
    api_data,
    backfill,
    ingress_nginx_openmetrics,
    prometheus_server,
)
from tests.dashboard.conftest import assert_same_metrics, last_evaluation, recorded_prometheus

DEDICATED = "kgw-0123456789ab-eu-central"
# Mid-way through the 30 minutes of samples: a whole 5m rate window of data behind it.
ELAPSED = 20 * 60
AT = float(T0 + ELAPSED)
DAY = 86_400
# The shard's pods reload at 5m (before the 5m window), 16m10s and 18m10s; the dedicated
# gateway's at 16m40s, then fails at 18m20s.
SHARD_RELOADS = ((300, True), (970, True), (1090, True))
DEDICATED_RELOADS = ((1000, True), (1100, False))


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost(environ={})


@pytest.fixture(scope="module")
def ingress(host: PluginHost) -> IngressProvider:
    return host.ingress_provider("ingress-nginx")


@pytest.fixture(scope="module")
def classes(ingress: IngressProvider) -> dict[str, str]:
    return {
        "shard": ingress.default_controller_class("kura-eu-central"),
        "dedicated": ingress.default_controller_class(f"kura-eu-central-{DEDICATED}"),
        "failing": ingress.default_controller_class("kura-us-west"),
        "slow": ingress.default_controller_class("kura-us-west-2"),
    }


def _history(classes: dict[str, str]) -> str:
    return ingress_nginx_openmetrics(
        {
            classes["shard"]: [
                PodLoad(
                    requests_ok=3.0,
                    requests_5xx=0.1,
                    reloads=SHARD_RELOADS,
                    cert_expiries=(ELAPSED + 45 * DAY, ELAPSED + 30 * DAY),
                )
            ]
            * 2,
            classes["dedicated"]: [
                PodLoad(
                    requests_ok=10.0,
                    requests_4xx=0.5,
                    bytes_in=5e5,
                    bytes_out=2e7,
                    active_connections=7.0,
                    duration_shares=(0.96, 0.98, 0.99, 1.0),
                    reloads=DEDICATED_RELOADS,
                    cert_expiries=(ELAPSED + 7 * DAY,),
                )
            ],
            # Nothing but 5xx, and no certificate.
            classes["failing"]: [PodLoad(requests_ok=0.0, requests_5xx=2.0)],
            # A tenth of its requests take longer than the highest bound, one pod's a twentieth.
            classes["slow"]: [
                PodLoad(duration_shares=(0.2, 0.2, 0.6, 0.9)),
                PodLoad(requests_ok=1.0, requests_4xx=1.0, duration_shares=(0.0, 0.5, 0.7, 0.95)),
            ],
        }
    )


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, classes: dict[str, str]
) -> Iterator[PrometheusServer]:
    promtool = require_binary("promtool")
    prometheus = require_binary("prometheus")
    workdir = tmp_path_factory.mktemp("prometheus")
    data = backfill(promtool, _history(classes), workdir)
    with prometheus_server(prometheus, data, workdir) as running:
        yield running


@pytest.fixture(scope="module")
def recorded_server(
    tmp_path_factory: pytest.TempPathFactory, classes: dict[str, str], ingress: IngressProvider
) -> Iterator[PrometheusServer]:
    """The same series, with kura's recording rules loaded and what they recorded."""
    workdir = tmp_path_factory.mktemp("recorded")
    query_sets = {"ingress-nginx": ingress.metric_queries()}
    with recorded_prometheus(_history(classes), query_sets, workdir, AT) as up:
        yield up


def source(url: str, ingress: IngressProvider, timeout: float = 2.0) -> PrometheusSource:
    return PrometheusSource(url, [ingress.metric_queries()], timeout=timeout, evaluation_time=AT)


def test_reads_each_gateway_exactly_from_the_providers_queries(
    server: PrometheusServer, ingress: IngressProvider, classes: dict[str, str]
) -> None:
    (readout,) = source(server.url, ingress).fetch(now=AT)
    assert readout.at == AT
    assert readout.problems == ()
    shard = readout.gateways[classes["shard"]]
    # Two pods, each 1 MB/s in, 4 MB/s out, 3 ok + 0.1 failed requests/s, 40 connections.
    assert shard.bytes_in == pytest.approx(2e6, rel=1e-9)
    assert shard.bytes_out == pytest.approx(8e6, rel=1e-9)
    assert shard.requests == pytest.approx(6.2, rel=1e-9)
    assert shard.error_ratio == pytest.approx(0.2 / 6.2, rel=1e-9)
    assert shard.success_ratio == pytest.approx(6.0 / 6.2, rel=1e-9)
    assert shard.active_connections == 80.0
    # Shares at or below 0.1/0.25/0.5/1s: 50/80/90/100%. Each percentile interpolates linearly
    # within its bucket: p50 at 0.1s, p90 at 0.5s, p95 half-way to 1s, p99 90% of the way.
    assert shard.p50_latency == pytest.approx(0.1, rel=1e-9)
    assert shard.p90_latency == pytest.approx(0.5, rel=1e-9)
    assert shard.p95_latency == pytest.approx(0.75, rel=1e-9)
    assert shard.p99_latency == pytest.approx(0.95, rel=1e-9)
    # Two reloads in the last 5 minutes on each of the two pods; the last one succeeded.
    assert shard.config_reloads == 4.0
    assert shard.config_reload_failed == 0.0
    # The sooner of its two certificates, 30 days from now.
    assert shard.cert_expiry == 30 * DAY
    dedicated = readout.gateways[classes["dedicated"]]
    assert dedicated.bytes_in == pytest.approx(5e5, rel=1e-9)
    assert dedicated.bytes_out == pytest.approx(2e7, rel=1e-9)
    assert dedicated.requests == pytest.approx(10.5, rel=1e-9)
    # No 5xx series at all: the ratio is zero, not unknown; 404s are not successes.
    assert dedicated.error_ratio == 0.0
    assert dedicated.success_ratio == pytest.approx(10.0 / 10.5, rel=1e-9)
    assert dedicated.active_connections == 7.0
    assert dedicated.p50_latency == pytest.approx(0.1 * 0.5 / 0.96, rel=1e-9)
    assert dedicated.p90_latency == pytest.approx(0.1 * 0.9 / 0.96, rel=1e-9)
    assert dedicated.p95_latency == pytest.approx(0.1 * 0.95 / 0.96, rel=1e-9)
    assert dedicated.p99_latency == pytest.approx(0.5, rel=1e-9)
    # One successful reload in the window, then a failed one: the failure does not count.
    assert dedicated.config_reloads == 1.0
    assert dedicated.config_reload_failed == 1.0
    assert dedicated.cert_expiry == 7 * DAY
    failing = readout.gateways[classes["failing"]]
    assert failing.requests == pytest.approx(2.0, rel=1e-9)
    assert failing.error_ratio == pytest.approx(1.0, rel=1e-9)
    # No series of successes at all: nothing succeeded, which is zero, not unknown.
    assert failing.success_ratio == 0.0
    assert (failing.config_reloads, failing.config_reload_failed) == (0.0, 0.0)
    # It serves no certificate: unknown, never a made-up expiry.
    assert failing.cert_expiry is None
    assert set(readout.gateways) == set(classes.values())


def _instant(url: str, promql: str) -> list[dict[str, object]]:
    result: list[dict[str, object]] = api_data(url, "query", query=promql, time=str(AT))["result"]
    return result


def test_recorded_series_read_as_the_queries_do(
    server: PrometheusServer, recorded_server: PrometheusServer, ingress: IngressProvider
) -> None:
    reader = source(recorded_server.url, ingress)
    try:
        (first,) = reader.fetch(now=AT)
        (readout,) = reader.fetch(now=AT)
    finally:
        reader.close()
    assert (first.note, readout.note) == ("raw queries", "recording rules")
    assert readout.problems == ()
    # A recorded figure is as of the rule's last evaluation, within its interval (1s) before
    # AT: the queries at that instant read the same.
    queries = ingress.metric_queries()
    assert queries.by_gateway[0].record is not None
    evaluated = last_evaluation(recorded_server.url, queries.by_gateway[0].record, AT)
    assert AT - 1.0 < evaluated <= AT
    raw = PrometheusSource(server.url, [queries], timeout=2.0, evaluation_time=evaluated)
    try:
        raw.fetch(now=AT)
        (expected,) = raw.fetch(now=AT)
    finally:
        raw.close()
    assert expected.note == "raw queries: no kura recording rules loaded"
    assert readout.gateways.keys() == expected.gateways.keys()
    for gateway, metrics in readout.gateways.items():
        assert_same_metrics(metrics, expected.gateways[gateway], gateway)


def test_the_per_pod_queries_split_one_gateway_by_pod(
    server: PrometheusServer, ingress: IngressProvider, classes: dict[str, str]
) -> None:
    queries = ingress.metric_queries()
    expected = {
        Metric.REQUESTS: 3.1,
        Metric.P99_LATENCY: 0.95,
        Metric.SUCCESS_RATIO: 3.0 / 3.1,
        Metric.CONFIG_RELOADS: 2.0,
        Metric.CONFIG_RELOAD_FAILED: 0.0,
        # The certificate series carry no controller_pod: it comes from build_info.
        Metric.CERT_EXPIRY: 30.0 * DAY,
    }
    for metric, value in expected.items():
        results = _instant(server.url, queries.for_gateway(metric, classes["shard"]))
        by_pod = {r["metric"]["controller_pod"]: float(r["value"][1]) for r in results}  # type: ignore[index]
        assert by_pod == {
            "kura-eu-central-ingress-nginx-0": pytest.approx(value, rel=1e-9),
            "kura-eu-central-ingress-nginx-1": pytest.approx(value, rel=1e-9),
        }, metric


def _queries_answered(server: PrometheusServer) -> float:
    """How many instant queries Prometheus has answered, by its own count."""
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    pattern = r'^prometheus_http_requests_total\{code="200",handler="/api/v1/query"\} (\S+)$'
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


@pytest.fixture(scope="module")
def fleet_server(
    tmp_path_factory: pytest.TempPathFactory, ingress: IngressProvider
) -> Iterator[tuple[PrometheusServer, list[str]]]:
    """Twenty times the gateways of ``server``: 80 dedicated ones."""
    promtool = require_binary("promtool")
    prometheus = require_binary("prometheus")
    workdir = tmp_path_factory.mktemp("fleet")
    fleet = [
        ingress.default_controller_class(f"kura-eu-central-kgw-{number:012x}-eu-central")
        for number in range(80)
    ]
    data = backfill(promtool, ingress_nginx_openmetrics({c: [PodLoad()] for c in fleet}), workdir)
    with prometheus_server(prometheus, data, workdir) as running:
        yield running, fleet


def test_a_refresh_sends_at_most_eight_queries_whatever_the_fleet(
    server: PrometheusServer,
    fleet_server: tuple[PrometheusServer, list[str]],
    ingress: IngressProvider,
    classes: dict[str, str],
) -> None:
    large, fleet = fleet_server
    per_refresh = []
    for prometheus, gateways in ((server, list(classes.values())), (large, fleet)):
        # Every region names the same provider: one query set.
        reader = PrometheusSource(
            prometheus.url, [ingress.metric_queries()] * 3, timeout=2.0, evaluation_time=AT
        )
        before = _queries_answered(prometheus)
        for _ in range(3):
            (readout,) = reader.fetch(now=AT)
            assert sorted(readout.gateways) == sorted(gateways)
            assert readout.problems == ()
        per_refresh.append((_queries_answered(prometheus) - before) / 3)
    assert per_refresh[0] == per_refresh[1] <= 8


def test_the_percentiles_are_prometheus_histogram_quantile(
    server: PrometheusServer, ingress: IngressProvider, classes: dict[str, str]
) -> None:
    (readout,) = source(server.url, ingress).fetch(now=AT)
    buckets = (
        "sum by (le, controller_class) "
        "(rate(nginx_ingress_controller_request_duration_seconds_bucket[5m]))"
    )
    for metric, q in QUANTILES.items():
        reference = {
            r["metric"]["controller_class"]: float(r["value"][1])  # type: ignore[index]
            for r in _instant(server.url, f"histogram_quantile({q}, {buckets})")
        }
        assert set(reference) == set(classes.values())
        for gateway, expected in reference.items():
            got = getattr(readout.gateways[gateway], metric.value)
            assert got == pytest.approx(expected, rel=1e-9), (gateway, metric)
    slow = readout.gateways[classes["slow"]]
    # 8% of the slow gateway's requests took longer than 1s: p95 and p99 are that bound.
    assert (slow.p95_latency, slow.p99_latency) == (1.0, 1.0)
    # Its 2xx and 4xx series: half of one pod's requests are 404s.
    assert slow.requests == pytest.approx(5.0, rel=1e-9)
    assert slow.success_ratio == pytest.approx(4.0 / 5.0, rel=1e-9)
    assert slow.error_ratio == 0.0


class _Fake(LoopbackServer):
    """A stand-in for Prometheus's HTTP API on loopback (or a forward proxy in front of one):
    it keeps the query of every request and answers it with no series, and answers the rules
    API with ``rules`` (health by record) or ``rules_status``. With a ``barrier``, it answers
    a query only once every query of the refresh has arrived."""

    def __init__(self) -> None:
        super().__init__(_Answering)
        self.queries: list[str] = []
        self.paths: list[str] = []
        self.rules: dict[str, str] = {}
        self.rules_status = 200
        self.barrier: threading.Barrier | None = None


class _Answering(BaseHTTPRequestHandler):
    server: _Fake

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/api/v1/rules":
            rules = [
                {"name": name, "query": "q", "health": health, "type": "recording"}
                for name, health in self.server.rules.items()
            ]
            groups = [{"name": "kura-ingress-nginx", "rules": rules}]
            self.answer(self.server.rules_status, {"status": "success", "data": {"groups": groups}})
            return
        self.server.queries.extend(urllib.parse.parse_qs(url.query)["query"])
        if self.server.barrier is not None:
            try:
                self.server.barrier.wait()
            except threading.BrokenBarrierError:
                self.answer(503, {"status": "error", "errorType": "timeout", "error": "alone"})
                return
        self.answer(200, {"status": "success", "data": {"result": []}})

    def answer(self, status: int, body: dict[str, object]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_refreshs_queries_are_in_flight_together(ingress: IngressProvider) -> None:
    # A real Prometheus answers each query as it comes, so it cannot show whether they came
    # together: this server holds every answer until all of them have arrived.
    with _Fake().serving() as fake:
        reader = PrometheusSource(fake.url, [ingress.metric_queries()], timeout=10.0)
        fake.barrier = threading.Barrier(reader.queries_per_refresh, timeout=5.0)
        try:
            (readout,) = reader.fetch(now=AT)
        finally:
            reader.close()
    assert readout.problems == ()
    assert reader.queries_sent == reader.queries_per_refresh


def test_a_proxy_from_the_environment_carries_every_request(
    ingress: IngressProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The source reads its environment once: the proxy must still carry every request.
    with _Fake().serving() as proxy:
        for name in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("http_proxy", proxy.url)
        reader = source("http://prometheus.invalid:9090", ingress)
        try:
            reader.fetch(now=AT)
            reader.fetch(now=AT)
        finally:
            reader.close()
    assert len(proxy.queries) == 2 * reader.queries_per_refresh
    # Which rules are loaded is asked once, with the first refresh's queries.
    rules = "http://prometheus.invalid:9090/api/v1/rules?type=record"
    queries = [path for path in proxy.paths if path != rules]
    assert len(queries) == len(proxy.paths) - 1
    assert all(p.startswith("http://prometheus.invalid:9090/api/v1/query?") for p in queries)


def _refresh(reader: PrometheusSource, fake: _Fake, now: float) -> tuple[list[str], str]:
    """The queries one refresh sent, and how the source says it read them."""
    fake.queries.clear()
    (readout,) = reader.fetch(now=now)
    return sorted(fake.queries), readout.note


def test_recorded_series_replace_the_queries_whose_rules_are_loaded_and_healthy(
    ingress: IngressProvider,
) -> None:
    queries = ingress.metric_queries()
    raw = sorted(q.promql for q in queries.by_gateway)
    recorded = {q.promql: q.recorded(queries.gateway_label) or "" for q in queries.by_gateway}
    assert all(recorded.values())
    classes, buckets, *values = queries.by_gateway
    assert (classes.shape, buckets.shape) == (Shape.STATUS_CLASSES, Shape.BUCKETS)
    with _Fake().serving() as fake:
        fake.rules = {name: "ok" for query in queries.by_gateway for name in query.records}
        reader = source(fake.url, ingress)
        try:
            # Which rules are loaded is learnt with the first refresh, for the next one.
            assert _refresh(reader, fake, AT) == (raw, "raw queries")
            assert _refresh(reader, fake, AT + 5) == (sorted(recorded.values()), "recording rules")
            # A rule fails to evaluate, another is not evaluated yet, and an unknown one is not
            # ours: learnt a minute after the last look, for the refresh after. The buckets'
            # rule failing takes the percentiles recorded from them along.
            fake.rules |= {
                buckets.records[0]: "err",
                classes.records[0]: "unknown",
                "other:rule:sum": "ok",
            }
            assert _refresh(reader, fake, AT + 30)[1] == "recording rules"
            assert _refresh(reader, fake, AT + 65)[1] == "recording rules"
            sent, note = _refresh(reader, fake, AT + 70)
            assert note == "recording rules for 6 of 8 queries"
            assert sent == sorted(
                [classes.promql, buckets.promql, *(recorded[q.promql] for q in values)]
            )
            # Rules gone: back to the queries, and the status says why.
            fake.rules = {}
            _refresh(reader, fake, AT + 130)
            assert _refresh(reader, fake, AT + 135) == (
                raw,
                "raw queries: no kura recording rules loaded",
            )
        finally:
            reader.close()


def test_rules_that_cannot_be_read_leave_the_queries_as_they_are(
    ingress: IngressProvider,
) -> None:
    with _Fake().serving() as fake:
        fake.rules_status = 404
        reader = source(fake.url, ingress)
        collector = Collector(reader, None, lambda: AT)
        try:
            collector.collect()
            fake.queries.clear()
            (status,) = collector.collect(force=True).statuses
        finally:
            reader.close()
    assert sorted(fake.queries) == sorted(q.promql for q in ingress.metric_queries().by_gateway)
    assert status.describe(AT) == (
        "prometheus ok (raw queries: cannot read Prometheus's rules: HTTP 404)"
    )


def test_the_dashboard_state_computes_saturation_from_the_capacity_model(
    server: PrometheusServer, ingress: IngressProvider, classes: dict[str, str]
) -> None:
    regions = [r for r in managed_catalogs()["production"] if r.id == "eu-central"]
    dedicated = GatewayObject(
        name=DEDICATED,
        namespace="kura",
        region="eu-central",
        ingress_class=f"kura-eu-central-{DEDICATED}",
        controller_class=None,
        replicas=2,
    )
    topology = cluster_topology(
        regions,
        DEFAULT_SCENARIO,
        lambda region, ingress_class: ingress.default_controller_class(ingress_class),
        [dedicated],
    )
    state = DashboardState(topology)
    collector = Collector(source(server.url, ingress), None, lambda: AT)
    state.apply(collector.collect())
    assert state.statuses["prometheus"].state is ConnectionState.OK
    shard_ref, shard = state.gateway("kura-eu-central")
    assert shard_ref.kind is GatewayKind.SHARD
    # 2e6 + 8e6 bytes/s = 80 Mbps on the default shard's 5 Gbps ceiling.
    assert shard_ref.ceiling.capacity.bits_per_second == 5e9
    assert shard.saturation == pytest.approx(80e6 / 5e9, rel=1e-9)
    _, gateway = state.gateway(DEDICATED)
    assert gateway.saturation == pytest.approx((5e5 + 2e7) * 8 / 5e9, rel=1e-9)
    # The region is its shared shards only: the dedicated gateway is not in its load.
    assert state.regions["eu-central"].saturation == pytest.approx(80e6 / 5e9, rel=1e-9)
    assert state.regions["eu-central"].age(AT + 12) == 12
    # The dedicated gateway's failed reload and 7-day certificate are CRIT, and its region's row
    # says so: a region's health covers every one of its gateways.
    assert gateway.metric_level("reload failed") is Level.CRIT
    assert gateway.metric_level("cert expiry") is Level.CRIT
    (region,) = overview_view(state, AT, width=200).rows
    assert (region.cells["reload"].text, region.cells["cert"].text) == ("FAILED", "7d CRIT")
    assert region.level is Level.CRIT
    rows = {row.id: row for row in region_view(state, "eu-central", AT, width=200).rows}
    assert rows["kura-eu-central"].cells["reload"].text == "4"
    assert rows["kura-eu-central"].cells["cert"].text == "30d"
    assert rows["kura-eu-central"].cells["p50"].text == "100ms"
    assert rows["kura-eu-central"].cells["succ"].text == "96.8%"
    reloads = [
        (e.subject, e.message, e.level)
        for e in state.events.newest_first()
        if e.kind is EventKind.RELOAD
    ]
    assert reloads == [
        (DEDICATED, "config reload failed", Level.CRIT),
        (DEDICATED, "config reloaded", Level.OK),
        ("kura-eu-central", "config reloaded", Level.OK),
    ]
    thresholds = [(e.subject, e.message) for e in state.events.newest_first()]
    assert (DEDICATED, "cert expiry OK → CRIT (7d)") in thresholds


def test_a_bad_query_degrades_the_source_and_names_the_query(
    server: PrometheusServer, ingress: IngressProvider
) -> None:
    queries = ingress.metric_queries()
    classes, *others = queries.by_gateway
    assert classes.shape is Shape.STATUS_CLASSES
    broken = queries.model_copy(
        update={"by_gateway": (classes.model_copy(update={"promql": "sum by (("}), *others)}
    )
    reader = PrometheusSource(server.url, [broken], timeout=2.0, evaluation_time=AT)
    collector = Collector(reader, None, lambda: AT)
    snapshot = collector.collect()
    (status,) = snapshot.statuses
    assert status.state is ConnectionState.DEGRADED
    assert status.error.startswith("requests, error_ratio, success_ratio query failed: HTTP 400: ")
    (readout,) = snapshot.readouts
    assert all(m.bytes_out is not None for m in readout.gateways.values())


def _fetch_within(reader: PrometheusSource, limit: float) -> BaseException | None:
    """Fetch on a thread; fail the test if it has not returned after ``limit`` seconds."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            reader.fetch(now=AT)
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(limit)
    assert outcome, f"the fetch was still waiting after {limit}s"
    return outcome[0]


@pytest.fixture
def lone_server(tmp_path: Path) -> Iterator[PrometheusServer]:
    prometheus = require_binary("prometheus")
    data = tmp_path / "data"
    data.mkdir()
    with prometheus_server(prometheus, data, tmp_path) as running:
        yield running


def test_a_killed_prometheus_is_unreachable_at_once_with_the_reason(
    lone_server: PrometheusServer, ingress: IngressProvider
) -> None:
    reader = source(lone_server.url, ingress)
    collector = Collector(reader, None, lambda: AT)
    assert collector.collect().statuses[0].state is ConnectionState.OK
    lone_server.kill()
    status = collector.collect(force=True).statuses[0]
    assert status.state is ConnectionState.UNREACHABLE
    assert status.error == f"cannot connect to Prometheus at {lone_server.url}: connection refused"
    # No retries: each query of the refresh went out once, together.
    assert reader.queries_sent == 2 * reader.queries_per_refresh
    # Retries back off: not due again until the backoff ends, unless forced.
    assert status.retry_at is not None
    assert status.retry_at > AT
    assert collector.collect().statuses[0].failures == 1


def test_a_stopped_prometheus_is_unreachable_within_the_timeout(
    lone_server: PrometheusServer, ingress: IngressProvider
) -> None:
    reader = source(lone_server.url, ingress, timeout=0.5)
    lone_server.freeze()
    try:
        error = _fetch_within(reader, limit=5.0)
    finally:
        lone_server.thaw()
    assert isinstance(error, SourceError)
    assert error.unreachable
    assert error.message == f"Prometheus at {lone_server.url} did not answer within 0.5s"
    # The queries went out together and waited out one timeout between them, not one each.
    assert reader.queries_sent == reader.queries_per_refresh


def test_missing_gateways_read_as_unknown_not_zero(
    server: PrometheusServer, ingress: IngressProvider
) -> None:
    (readout,) = source(server.url, ingress).fetch(now=AT)
    assert readout.gateways.get("k8s.io/kura-us-east-ingress-nginx") is None
    assert GatewayMetrics().throughput_bps is None
