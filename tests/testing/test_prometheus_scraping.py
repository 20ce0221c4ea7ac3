"""``exposition_of`` and ``prometheus_scraping``: series moved from one real Prometheus's blocks
into another's head, by a scrape, with the same labels and values."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kura_testing.binaries import require_binary
from kura_testing.prometheus import (
    SCRAPE_JOB,
    T0,
    PodLoad,
    _escaped,
    api_data,
    backfill,
    exposition_of,
    ingress_nginx_openmetrics,
    prometheus_scraping,
    prometheus_server,
)

AT = T0 + 10 * 60
NAME = "nginx_ingress_controller_nginx_process_connections"


def _series(url: str, promql: str, at: float) -> dict[str, float]:
    result = api_data(url, "query", query=promql, time=repr(at))["result"]
    return {series["metric"]["controller_class"]: float(series["value"][1]) for series in result}


@pytest.mark.e2e  # two real prometheus servers
def test_the_series_of_one_prometheus_are_scraped_into_anothers_head(tmp_path: Path) -> None:
    promtool, prometheus = require_binary("promtool"), require_binary("prometheus")
    loads = {"k8s.io/a": [PodLoad(active_connections=12.0)], "k8s.io/b": [PodLoad()]}
    data = backfill(promtool, ingress_nginx_openmetrics(loads, minutes=15), tmp_path)
    with prometheus_server(prometheus, data, tmp_path) as blocks:
        text = exposition_of(blocks.url, [NAME], AT)
        before = _series(blocks.url, NAME, AT)
    assert before == {"k8s.io/a": 12.0, "k8s.io/b": 40.0}
    # One line a series and no timestamp: scraped, it is now.
    assert text.count("\n") == 2
    assert all(line.endswith((" 12", " 40")) for line in text.splitlines())
    with prometheus_scraping(prometheus, text, tmp_path, interval="1s") as head:
        # The same series and values, read at the current time, from the head.
        assert _series(head.url, f'{NAME}{{job="{SCRAPE_JOB}"}}', time.time()) == before
        status = api_data(head.url, "status/tsdb")
    assert status["headStats"]["numSeries"] >= 2


def test_label_values_are_escaped_as_the_text_format_wants() -> None:
    assert _escaped('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
