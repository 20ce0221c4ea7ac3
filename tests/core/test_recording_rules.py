"""``kura recording-rules``: the Prometheus rules of the ingress providers' gateway queries."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from kura_core.metric_queries import GatewayQuery, Metric, MetricQueries, Shape
from kura_core.plugins import PluginHost
from kura_testing.binaries import require_binary
from tests.core.conftest import Invoke, LabCatalog


def _promtool_check(rules: str, tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(rules, encoding="utf-8")
    checked = subprocess.run(
        [require_binary("promtool"), "check", "rules", str(path)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_one_group_per_provider_one_rule_per_gateway_query(
    invoke: Invoke, host: PluginHost, lab_catalog: LabCatalog, tmp_path: Path
) -> None:
    catalog = lab_catalog()
    regions = yaml.safe_load(catalog.read_text())
    moved = dict(regions["environments"]["lab"][0], id="lab-2", ingress_provider="gateway-api")
    regions["environments"]["lab"].append(moved)
    catalog.write_text(yaml.safe_dump(regions))
    result = invoke("--catalog", str(catalog), "recording-rules", "--env", "lab")
    assert result.exit_code == 0, result.stderr
    _promtool_check(result.stdout, tmp_path)
    groups = yaml.safe_load(result.stdout)["groups"]
    assert [group["name"] for group in groups] == ["kura-gateway-api", "kura-ingress-nginx"]
    for group in groups:
        queries = host.ingress_provider(group["name"].removeprefix("kura-")).metric_queries()
        assert group["interval"] == "15s"
        # Every gateway query is recorded, as itself, and the four percentiles of its buckets
        # right after them: they read what the same evaluation recorded.
        recorded = [rule for rule in group["rules"] if "labels" not in rule]
        assert recorded == [
            {"record": query.record, "expr": query.promql} for query in queries.by_gateway
        ]
        percentiles = [rule for rule in group["rules"] if "labels" in rule]
        assert [rule["labels"] for rule in percentiles] == [
            {"quantile": q} for q in ("0.5", "0.9", "0.95", "0.99")
        ]
        (buckets,) = [q for q in queries.by_gateway if q.quantile_record is not None]
        first = group["rules"].index({"record": buckets.record, "expr": buckets.promql}) + 1
        assert group["rules"][first : first + 4] == percentiles
        assert {rule["record"] for rule in percentiles} == {buckets.quantile_record}
        assert all(f", {buckets.record})" in rule["expr"] for rule in percentiles)


def test_the_interval_is_whole_seconds(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("recording-rules", "--interval", "1m")
    assert result.exit_code == 0, result.stderr
    assert {group["interval"] for group in yaml.safe_load(result.stdout)["groups"]} == {"60s"}
    _promtool_check(result.stdout, tmp_path)
    for bad, why in (("0s", "not more than zero"), ("1.5s", "whole seconds")):
        refused = invoke("recording-rules", "--interval", bad)
        assert refused.exit_code == 2
        assert refused.stdout == ""
        assert refused.stderr.count("\n") == 1
        assert why in refused.stderr


def test_the_table_lists_each_record(invoke: Invoke) -> None:
    result = invoke("recording-rules", "-o", "table", env={"COLUMNS": "400"})
    assert result.exit_code == 0
    records = yaml.safe_load(invoke("recording-rules").stdout)["groups"][0]["rules"]
    rows = [line for line in result.stdout.splitlines() if ":" in line]
    assert len(rows) == len(records)
    for row, rule in zip(rows, records, strict=True):
        assert rule["record"] in row
        if "labels" in rule:  # the percentiles share a record: their label tells them apart
            assert f"quantile={rule['labels']['quantile']}" in row


def test_a_buckets_querys_percentiles_are_recorded_in_seconds() -> None:
    query = GatewayQuery(
        promql="sum by (le, gw) (rate(rq_time_ms_bucket[5m]))",
        shape=Shape.BUCKETS,
        bucket_unit=0.001,
        record="gw_le:rq_time_ms_bucket:rate5m",
        quantile_record="gw_quantile:rq_time_seconds:histogram_quantile_rate5m",
    )
    record, *quantiles = query.recording_rules()
    assert record == {"record": query.record, "expr": query.promql}
    assert quantiles == [
        {
            "record": "gw_quantile:rq_time_seconds:histogram_quantile_rate5m",
            "expr": f"histogram_quantile({q}, gw_le:rq_time_ms_bucket:rate5m) * 0.001",
            "labels": {"quantile": q},
        }
        for q in ("0.5", "0.9", "0.95", "0.99")
    ]
    # Read back: four series a gateway, whatever the buckets.
    assert query.recorded("gw") == (
        "max by (gw, quantile) (gw_quantile:rq_time_seconds:histogram_quantile_rate5m)"
    )
    read = query.read_recorded(
        [({"gw": "a", "quantile": "0.5"}, 0.1), ({"gw": "a", "quantile": "0.99"}, float("nan")),
         ({"gw": "a", "quantile": "0.3"}, 9.0), ({"quantile": "0.5"}, 9.0)],
        "gw",
    )  # fmt: skip
    assert read == {
        "a": {
            Metric.P50_LATENCY: 0.1,
            Metric.P90_LATENCY: None,
            Metric.P95_LATENCY: None,
            Metric.P99_LATENCY: None,
        }
    }
    with pytest.raises(ValidationError, match="only a recorded buckets query"):
        GatewayQuery(promql="q", shape=Shape.BUCKETS, quantile_record="gw:q:x")


def test_a_record_reads_back_with_the_querys_own_labels() -> None:
    buckets = GatewayQuery(promql="q", shape=Shape.BUCKETS, record="gw_le:latency_bucket:rate5m")
    assert buckets.recorded("gw") == "max by (gw, le) (gw_le:latency_bucket:rate5m)"
    value = GatewayQuery(promql="q", metric=Metric.CERT_EXPIRY, record="gw:cert:min")
    assert value.recorded("gw") == "max by (gw) (gw:cert:min)"
    assert GatewayQuery(promql="q", metric=Metric.CERT_EXPIRY).recorded("gw") is None


@pytest.mark.parametrize("name", ["latency", "gw le:latency", "9gw:latency", ""])
def test_a_record_is_a_recording_rules_name(name: str) -> None:
    with pytest.raises(ValidationError, match="record"):
        GatewayQuery(promql="q", metric=Metric.CERT_EXPIRY, record=name)


def test_two_queries_are_never_recorded_as_one(host: PluginHost) -> None:
    queries = host.ingress_provider("ingress-nginx").metric_queries()
    first, second, *rest = queries.by_gateway
    twice = second.model_copy(update={"record": first.record})
    with pytest.raises(ValidationError, match="records more than one query as"):
        MetricQueries.model_validate(queries.model_dump() | {"by_gateway": [first, twice, *rest]})
