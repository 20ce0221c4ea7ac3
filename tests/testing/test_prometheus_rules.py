"""``prometheus_with_rules``: the real Prometheus with a rule file loaded and what it recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kura_testing.binaries import require_binary
from kura_testing.prometheus import (
    T0,
    PodLoad,
    api_data,
    backfill,
    ingress_nginx_openmetrics,
    prometheus_with_rules,
)

AT = T0 + 10 * 60
RATE = "sum by (controller_class) (rate(nginx_ingress_controller_requests[5m]))"


def _value(url: str, promql: str) -> float:
    (result,) = api_data(url, "query", query=promql, time=str(AT))["result"]
    return float(result["value"][1])


def _rules(path: Path, *rules: dict[str, str]) -> Path:
    path.write_text(yaml.safe_dump({"groups": [{"name": "g", "interval": "1s", "rules": rules}]}))
    return path


@pytest.mark.e2e  # a real prometheus, three times
def test_a_rule_reading_another_rules_record_is_backfilled_after_it(tmp_path: Path) -> None:
    promtool, prometheus = require_binary("promtool"), require_binary("prometheus")
    text = ingress_nginx_openmetrics({"k8s.io/a": [PodLoad(requests_ok=3.0)]}, minutes=15)
    data = backfill(promtool, text, tmp_path)
    # Listed before the rule it reads: promtool alone would record nothing for it.
    rules = _rules(
        tmp_path / "rules.yml",
        {"record": "controller_class:requests:rate5m_doubled", "expr": "2 * cc:requests:rate5m"},
        {"record": "cc:requests:rate5m", "expr": RATE},
    )
    start, end = AT - 30, AT + 30
    with prometheus_with_rules(
        prometheus, promtool, data, tmp_path, rules, start=start, end=end
    ) as up:
        assert _value(up.url, "cc:requests:rate5m") == pytest.approx(3.0)
        assert _value(up.url, "controller_class:requests:rate5m_doubled") == pytest.approx(6.0)
        (group,) = api_data(up.url, "rules")["groups"]
        assert {rule["health"] for rule in group["rules"]} == {"ok"}


def test_rules_reading_each_other_are_refused_before_anything_runs(tmp_path: Path) -> None:
    rules = _rules(
        tmp_path / "rules.yml",
        {"record": "a:x:sum", "expr": "b:x:sum"},
        {"record": "b:x:sum", "expr": "a:x:sum"},
    )
    with (
        pytest.raises(ValueError, match="read each other's records"),
        prometheus_with_rules("prometheus", "promtool", tmp_path, tmp_path, rules, start=0, end=1),
    ):
        pass
