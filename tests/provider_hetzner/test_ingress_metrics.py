"""The dashboard's PromQL for ingress-nginx gateways."""

from __future__ import annotations

import re

import pytest

from kura_core.metric_queries import Metric, MetricQueries, Shape
from kura_core.plugins import PluginHost

HOST = PluginHost(environ={"KURA_LOAD_PLUGINS": "hetzner"})
GATEWAY = "k8s.io/kura-us-east-ingress-nginx"


def queries() -> MetricQueries:
    return HOST.ingress_provider("ingress-nginx").metric_queries()


def test_labels_and_window() -> None:
    q = queries()
    assert (q.gateway_label, q.pod_label, q.window) == ("controller_class", "controller_pod", "5m")


def test_every_metric_has_both_queries_and_a_refresh_sends_eight() -> None:
    q = queries()
    answered = [metric for query in q.by_gateway for metric in query.metrics]
    assert sorted(answered) == sorted(Metric)
    assert set(q.by_pod) == set(Metric)
    assert len(q.by_gateway) == 8


@pytest.mark.parametrize("index", range(8))
def test_gateway_queries_aggregate_by_controller_class(index: int) -> None:
    query = queries().by_gateway[index].promql
    groupings = re.findall(r"by \(([^)]*)\)", query)
    assert groupings
    for grouping in groupings:
        assert "controller_class" in [label.strip() for label in grouping.split(",")]
    assert "{gateway}" not in query


# ssl_expire_time_seconds names the controller class `class` and lacks controller_pod.
CLASS_MATCHER = re.compile(r'(?<![\w])(controller_)?class="([^"]*)"')


@pytest.mark.parametrize("metric", list(Metric))
def test_pod_queries_are_for_one_gateway_and_aggregate_by_controller_pod(metric: Metric) -> None:
    q = queries()
    query = q.for_gateway(metric, GATEWAY)
    for grouping in re.findall(r"by \(([^)]*)\)", query):
        assert "controller_pod" in [label.strip() for label in grouping.split(",")]
    # Every selector names the gateway, so no other gateway's series leak into the sum.
    selectors = re.findall(r"nginx_ingress_controller_\w+(\{[^}]*\})?", query)
    assert selectors
    for selector in selectors:
        assert [match[1] for match in CLASS_MATCHER.findall(selector)] == [GATEWAY]


def test_the_exact_queries() -> None:
    q = queries()
    assert [(query.shape, query.metric, query.promql) for query in q.by_gateway] == [
        (
            Shape.STATUS_CLASSES,
            None,
            "sum by (controller_class, status_class) (label_replace("
            'rate(nginx_ingress_controller_requests[5m]), "status_class", "${1}xx", "status", '
            '"(.).*"))',
        ),
        (
            Shape.BUCKETS,
            None,
            "sum by (le, controller_class) "
            "(rate(nginx_ingress_controller_request_duration_seconds_bucket[5m]))",
        ),
        (
            Shape.VALUE,
            Metric.BYTES_IN,
            "sum by (controller_class) (rate(nginx_ingress_controller_request_size_sum[5m]))",
        ),
        (
            Shape.VALUE,
            Metric.BYTES_OUT,
            "sum by (controller_class) (rate(nginx_ingress_controller_response_size_sum[5m]))",
        ),
        (
            Shape.VALUE,
            Metric.ACTIVE_CONNECTIONS,
            "sum by (controller_class) "
            '(nginx_ingress_controller_nginx_process_connections{state="active"})',
        ),
        (
            Shape.VALUE,
            Metric.CONFIG_RELOAD_FAILED,
            "max by (controller_class) "
            "(nginx_ingress_controller_config_last_reload_successful == bool 0)",
        ),
        (
            Shape.VALUE,
            Metric.CONFIG_RELOADS,
            "sum by (controller_class) (changes("
            "nginx_ingress_controller_config_last_reload_successful_timestamp_seconds[5m]))",
        ),
        (
            Shape.VALUE,
            Metric.CERT_EXPIRY,
            "min by (controller_class) (label_replace("
            'nginx_ingress_controller_ssl_expire_time_seconds, "controller_class", "$1", '
            '"class", "(.+)")) - time()',
        ),
    ]
    assert q.for_gateway(Metric.P95_LATENCY, GATEWAY) == (
        "histogram_quantile(0.95, sum by (le, controller_pod) "
        "(rate(nginx_ingress_controller_request_duration_seconds_bucket"
        f'{{controller_class="{GATEWAY}"}}[5m])))'
    )
    assert q.for_gateway(Metric.ERROR_RATIO, GATEWAY) == (
        "sum by (controller_pod) (rate(nginx_ingress_controller_requests"
        f'{{controller_class="{GATEWAY}",status=~"5.."}}[5m])) / sum by (controller_pod) '
        f'(rate(nginx_ingress_controller_requests{{controller_class="{GATEWAY}"}}[5m]))'
    )
    assert q.for_gateway(Metric.CERT_EXPIRY, GATEWAY) == (
        "min by (controller_pod) (nginx_ingress_controller_ssl_expire_time_seconds"
        f'{{class="{GATEWAY}"}} * on (instance) group_left (controller_pod) '
        f'nginx_ingress_controller_build_info{{controller_class="{GATEWAY}"}}) - time()'
    )
