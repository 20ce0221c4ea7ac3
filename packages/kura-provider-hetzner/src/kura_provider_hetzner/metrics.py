"""PromQL over ingress-nginx's controller metrics (on :10254).

Most controller series carry ``controller_class`` (the ``--controller-class`` value, one per
gateway here) and ``controller_pod``. Byte rates come from the ``_sum`` of the size histograms:
their default buckets are useless for sizes. Counters only grow when a request finishes, so a
long transfer shows up when it ends.

Certificate expiry is the exception: ``ssl_expire_time_seconds`` is labelled ``class`` (the same
controller class), ``host`` and ``secret_name``, without the controller's constant labels
(ingress-nginx ``internal/ingress/metric/collectors/controller.go``). The gateway query renames
``class``; the per-pod query takes ``controller_pod`` from ``build_info`` of the same scrape
target (``instance``). Its value is an epoch, so the queries subtract ``time()``.

A refresh reads the request rate once, split by status class (the first digit of ``status``), for
requests and both ratios, and the request-duration buckets once for every percentile
(``kura_core.metric_queries.Shape``): eight queries in all. The per-pod queries of one gateway
stay one per metric.

Config reloads follow the ingress-nginx Grafana dashboard: the last reload failed when
``config_last_reload_successful`` is 0, and only a successful reload moves
``config_last_reload_successful_timestamp_seconds``, so ``changes()`` of it counts them.
"""

from __future__ import annotations

from kura_core import (
    QUANTILE_LABEL,
    QUANTILES,
    STATUS_CLASS_LABEL,
    GatewayQuery,
    Metric,
    MetricQueries,
    Shape,
)

GATEWAY_LABEL = "controller_class"
POD_LABEL = "controller_pod"
WINDOW = "5m"
PREFIX = "nginx_ingress_controller_"
# The label ssl_expire_time_seconds names the controller class with.
CERT_CLASS_LABEL = "class"


def _selector(*matchers: str) -> str:
    return "{" + ",".join(matchers) + "}" if matchers else ""


def _series(name: str, *matchers: str) -> str:
    return f"{PREFIX}{name}{_selector(*matchers)}"


def _rate(name: str, *matchers: str) -> str:
    return f"rate({_series(name, *matchers)}[{WINDOW}])"


def _buckets(by: str, *matchers: str) -> str:
    return f"sum by (le, {by}) ({_rate('request_duration_seconds_bucket', *matchers)})"


def _queries(by: str, gateway: str | None = None) -> dict[Metric, str]:
    """One query per metric, aggregated ``by (<by>)``; ``gateway`` keeps one controller class."""

    matchers = (f'{GATEWAY_LABEL}="{gateway}"',) if gateway is not None else ()

    def series(name: str, *extra: str) -> str:
        return _series(name, *matchers, *extra)

    def summed(name: str, *extra: str) -> str:
        return f"sum by ({by}) ({_rate(name, *matchers, *extra)})"

    def ratio(*extra: str) -> str:
        return f"{summed('requests', *extra)} / {summed('requests')}"

    active = series("nginx_process_connections", 'state="active"')
    percentiles = {
        metric: f"histogram_quantile({quantile:g}, {_buckets(by, *matchers)})"
        for metric, quantile in QUANTILES.items()
    }
    queries = percentiles | {
        Metric.BYTES_IN: summed("request_size_sum"),
        Metric.BYTES_OUT: summed("response_size_sum"),
        Metric.REQUESTS: summed("requests"),
        Metric.ERROR_RATIO: ratio('status=~"5.."'),
        # The Grafana dashboard's "Success Rate (non-4|5xx)".
        Metric.SUCCESS_RATIO: ratio('status!~"[4-5].*"'),
        Metric.ACTIVE_CONNECTIONS: f"sum by ({by}) ({active})",
        # 1 when any pod's last reload failed: `== bool` answers 0 or 1 rather than filtering.
        Metric.CONFIG_RELOAD_FAILED: (
            f"max by ({by}) ({series('config_last_reload_successful')} == bool 0)"
        ),
        Metric.CONFIG_RELOADS: (
            f"sum by ({by}) "
            f"(changes({series('config_last_reload_successful_timestamp_seconds')}[{WINDOW}]))"
        ),
        Metric.CERT_EXPIRY: _cert_expiry(by, gateway),
    }
    return {metric: queries[metric] for metric in Metric}


# The series each gateway query is recorded as (`kura recording-rules`): level:metric:operations.
RECORDS = {
    Shape.STATUS_CLASSES: f"{GATEWAY_LABEL}_{STATUS_CLASS_LABEL}:{PREFIX}requests:rate{WINDOW}",
    Shape.BUCKETS: f"{GATEWAY_LABEL}_le:{PREFIX}request_duration_seconds_bucket:rate{WINDOW}",
    Metric.BYTES_IN: f"{GATEWAY_LABEL}:{PREFIX}request_size_sum:rate{WINDOW}",
    Metric.BYTES_OUT: f"{GATEWAY_LABEL}:{PREFIX}response_size_sum:rate{WINDOW}",
    Metric.ACTIVE_CONNECTIONS: f"{GATEWAY_LABEL}:{PREFIX}nginx_process_connections_active:sum",
    Metric.CONFIG_RELOAD_FAILED: f"{GATEWAY_LABEL}:{PREFIX}config_last_reload_failed:max",
    Metric.CONFIG_RELOADS: f"{GATEWAY_LABEL}:{PREFIX}config_reloads:changes{WINDOW}",
    Metric.CERT_EXPIRY: f"{GATEWAY_LABEL}:{PREFIX}ssl_expire_time_seconds:min_remaining",
}
QUANTILE_RECORD = (
    f"{GATEWAY_LABEL}_{QUANTILE_LABEL}:{PREFIX}request_duration_seconds:"
    f"histogram_quantile_rate{WINDOW}"
)


def _gateway_queries() -> tuple[GatewayQuery, ...]:
    """The request rate by status class, the duration buckets, and one query per other metric."""
    shared = {metric for shape in (Shape.STATUS_CLASSES, Shape.BUCKETS) for metric in shape.metrics}
    # `${1}`, not `$1xx`: Prometheus would read the group's name as `1xx`.
    classes = (
        f'label_replace({_rate("requests")}, "{STATUS_CLASS_LABEL}", "${{1}}xx", "status", "(.).*")'
    )
    alone = _queries(GATEWAY_LABEL)
    return (
        GatewayQuery(
            promql=f"sum by ({GATEWAY_LABEL}, {STATUS_CLASS_LABEL}) ({classes})",
            shape=Shape.STATUS_CLASSES,
            record=RECORDS[Shape.STATUS_CLASSES],
        ),
        GatewayQuery(
            promql=_buckets(GATEWAY_LABEL),
            shape=Shape.BUCKETS,
            record=RECORDS[Shape.BUCKETS],
            quantile_record=QUANTILE_RECORD,
        ),
        *(
            GatewayQuery(promql=alone[m], metric=m, record=RECORDS[m])
            for m in Metric
            if m not in shared
        ),
    )


def _cert_expiry(by: str, gateway: str | None) -> str:
    """Seconds to the soonest expiry; the series lack ``by``, so it is added first."""
    if gateway is None:
        expiry = f"{PREFIX}ssl_expire_time_seconds"
        labelled = f'label_replace({expiry}, "{by}", "$1", "{CERT_CLASS_LABEL}", "(.+)")'
    else:
        expiry = f'{PREFIX}ssl_expire_time_seconds{{{CERT_CLASS_LABEL}="{gateway}"}}'
        # build_info is 1 per pod and carries the constant labels: a join, not a change of value.
        info = f'{PREFIX}build_info{{{GATEWAY_LABEL}="{gateway}"}}'
        labelled = f"{expiry} * on (instance) group_left ({by}) {info}"
    return f"min by ({by}) ({labelled}) - time()"


def ingress_nginx_queries() -> MetricQueries:
    """Per gateway (``controller_class``) and per pod of one gateway (``controller_pod``)."""
    return MetricQueries(
        gateway_label=GATEWAY_LABEL,
        pod_label=POD_LABEL,
        window=WINDOW,
        by_gateway=_gateway_queries(),
        by_pod=_queries(POD_LABEL, "{gateway}"),
    )
