"""PromQL over ingress-nginx's controller metrics (research/hetzner-nginx-prom.md §4).

Every controller series carries ``controller_class`` (the ``--controller-class`` value, one per
gateway here) and ``controller_pod``. Byte rates come from the ``_sum`` of the size histograms:
their default buckets are useless for sizes. Counters only grow when a request finishes, so a
long transfer shows up when it ends.
"""

from __future__ import annotations

from kura_core.metric_queries import Metric, MetricQueries

GATEWAY_LABEL = "controller_class"
POD_LABEL = "controller_pod"
WINDOW = "5m"
PREFIX = "nginx_ingress_controller_"


def _selector(*matchers: str) -> str:
    return "{" + ",".join(matchers) + "}" if matchers else ""


def _queries(by: str, *matchers: str) -> dict[Metric, str]:
    """One query per metric, aggregated ``by (<by>)`` over series matching ``matchers``."""

    def rate(series: str, *extra: str) -> str:
        return f"rate({PREFIX}{series}{_selector(*matchers, *extra)}[{WINDOW}])"

    def summed(series: str, *extra: str) -> str:
        return f"sum by ({by}) ({rate(series, *extra)})"

    errors = 'status=~"5.."'
    active = 'state="active"'
    return {
        Metric.BYTES_IN: summed("request_size_sum"),
        Metric.BYTES_OUT: summed("response_size_sum"),
        Metric.REQUESTS: summed("requests"),
        Metric.P95_LATENCY: (
            f"histogram_quantile(0.95, sum by (le, {by}) "
            f"({rate('request_duration_seconds_bucket')}))"
        ),
        Metric.ERROR_RATIO: f"{summed('requests', errors)} / {summed('requests')}",
        Metric.ACTIVE_CONNECTIONS: (
            f"sum by ({by}) ({PREFIX}nginx_process_connections{_selector(*matchers, active)})"
        ),
    }


def ingress_nginx_queries() -> MetricQueries:
    """Per gateway (``controller_class``) and per pod of one gateway (``controller_pod``)."""
    return MetricQueries(
        gateway_label=GATEWAY_LABEL,
        pod_label=POD_LABEL,
        window=WINDOW,
        by_gateway=_queries(GATEWAY_LABEL),
        by_pod=_queries(POD_LABEL, f'{GATEWAY_LABEL}="{{gateway}}"'),
    )
