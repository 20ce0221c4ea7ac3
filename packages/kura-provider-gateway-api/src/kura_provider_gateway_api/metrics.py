"""PromQL over Envoy's own Prometheus metrics, per gateway.

Envoy Gateway's proxies serve Envoy's statistics at ``:19001/stats/prometheus`` and carry the
pod label ``gateway.envoyproxy.io/owning-gateway-name``, which Prometheus's usual pod
relabelling (``labelmap`` of ``__meta_kubernetes_pod_label_(.+)``) turns into
``gateway_envoyproxy_io_owning_gateway_name``: the gateway label (the Gateway's name, which is
its ingress class). ``pod`` is the pod label of the same scrape configuration.

The series are the downstream (client-side) HTTP connection manager's: requests by response
code class (``envoy_response_code_class``), request time in milliseconds, bytes received and
sent on client connections, active client connections; config updates are the listener
manager's LDS updates, and certificate expiry is the server's days to the first expiring
certificate. The gateway's admin and stats listeners are Envoy's own, prefixed ``eg-`` by
Envoy Gateway, and left out. Eight queries a refresh, as ingress-nginx's: the request rate by
status class, the request-time buckets (in milliseconds, which the dashboard scales to seconds)
and one query per other metric. The per-pod queries of one gateway stay one per metric.
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

GATEWAY_LABEL = "gateway_envoyproxy_io_owning_gateway_name"
POD_LABEL = "pod"
WINDOW = "5m"
# Envoy Gateway's own listeners (stats, readiness) carry these prefixes; traffic does not.
OWN_LISTENERS = 'envoy_http_conn_manager_prefix!~"eg-.*"'
SECONDS_PER_DAY = 86400
MILLISECOND = 0.001


def _selector(*matchers: str) -> str:
    return "{" + ",".join(matchers) + "}"


def _queries(by: str, gateway: str | None = None) -> dict[Metric, str]:
    """One query per metric, aggregated ``by (<by>)``; ``gateway`` keeps one gateway."""
    own = (f'{GATEWAY_LABEL}="{gateway}"',) if gateway is not None else ()

    def rate(name: str, *extra: str) -> str:
        return f"rate({name}{_selector(OWN_LISTENERS, *own, *extra)}[{WINDOW}])"

    def summed(name: str, *extra: str) -> str:
        return f"sum by ({by}) ({rate(name, *extra)})"

    def ratio(*extra: str) -> str:
        return (
            f"{summed('envoy_http_downstream_rq_xx', *extra)} / "
            f"{summed('envoy_http_downstream_rq_xx')}"
        )

    percentiles = {
        # Envoy measures request time in milliseconds.
        metric: f"histogram_quantile({quantile:g}, {_buckets(by, *own)}) / 1000"
        for metric, quantile in QUANTILES.items()
    }
    server = _selector(*own) if own else ""
    queries = percentiles | {
        Metric.BYTES_IN: summed("envoy_http_downstream_cx_rx_bytes_total"),
        Metric.BYTES_OUT: summed("envoy_http_downstream_cx_tx_bytes_total"),
        Metric.REQUESTS: summed("envoy_http_downstream_rq_xx"),
        Metric.ERROR_RATIO: ratio('envoy_response_code_class="5"'),
        Metric.SUCCESS_RATIO: ratio('envoy_response_code_class!~"4|5"'),
        Metric.ACTIVE_CONNECTIONS: (
            f"sum by ({by}) (envoy_http_downstream_cx_active{_selector(OWN_LISTENERS, *own)})"
        ),
        # 1 when a pod rejected its latest listener update, the config of the last push.
        Metric.CONFIG_RELOAD_FAILED: (
            f"max by ({by}) (increase(envoy_listener_manager_lds_update_rejected{server}"
            f"[{WINDOW}]) > bool 0)"
        ),
        Metric.CONFIG_RELOADS: (
            f"sum by ({by}) (increase(envoy_listener_manager_lds_update_success{server}[{WINDOW}]))"
        ),
        Metric.CERT_EXPIRY: (
            f"min by ({by}) (envoy_server_days_until_first_cert_expiring{server}) "
            f"* {SECONDS_PER_DAY}"
        ),
    }
    return {metric: queries[metric] for metric in Metric}


def _buckets(by: str, *own: str) -> str:
    return (
        f"sum by (le, {by}) "
        f"(rate(envoy_http_downstream_rq_time_bucket{_selector(OWN_LISTENERS, *own)}[{WINDOW}]))"
    )


# The series each gateway query is recorded as (`kura recording-rules`): level:metric:operations.
RECORDS = {
    Shape.STATUS_CLASSES: (
        f"{GATEWAY_LABEL}_{STATUS_CLASS_LABEL}:envoy_http_downstream_rq_xx:rate{WINDOW}"
    ),
    Shape.BUCKETS: f"{GATEWAY_LABEL}_le:envoy_http_downstream_rq_time_bucket:rate{WINDOW}",
    Metric.BYTES_IN: f"{GATEWAY_LABEL}:envoy_http_downstream_cx_rx_bytes_total:rate{WINDOW}",
    Metric.BYTES_OUT: f"{GATEWAY_LABEL}:envoy_http_downstream_cx_tx_bytes_total:rate{WINDOW}",
    Metric.ACTIVE_CONNECTIONS: f"{GATEWAY_LABEL}:envoy_http_downstream_cx_active:sum",
    Metric.CONFIG_RELOAD_FAILED: (
        f"{GATEWAY_LABEL}:envoy_listener_manager_lds_update_rejected:max_increase{WINDOW}"
    ),
    Metric.CONFIG_RELOADS: (
        f"{GATEWAY_LABEL}:envoy_listener_manager_lds_update_success:increase{WINDOW}"
    ),
    Metric.CERT_EXPIRY: f"{GATEWAY_LABEL}:envoy_server_days_until_first_cert_expiring:min_seconds",
}
# In seconds: the rules scale Envoy's milliseconds.
QUANTILE_RECORD = (
    f"{GATEWAY_LABEL}_{QUANTILE_LABEL}:envoy_http_downstream_rq_time_seconds:"
    f"histogram_quantile_rate{WINDOW}"
)


def _gateway_queries() -> tuple[GatewayQuery, ...]:
    """The request rate by status class, the request-time buckets, one query per other metric."""
    shared = {metric for shape in (Shape.STATUS_CLASSES, Shape.BUCKETS) for metric in shape.metrics}
    rate = f"rate(envoy_http_downstream_rq_xx{_selector(OWN_LISTENERS)}[{WINDOW}])"
    classes = (
        f'label_replace({rate}, "{STATUS_CLASS_LABEL}", "${{1}}xx", '
        '"envoy_response_code_class", "(.)")'
    )
    alone = _queries(GATEWAY_LABEL)
    return (
        GatewayQuery(
            promql=f"sum by ({GATEWAY_LABEL}, {STATUS_CLASS_LABEL}) ({classes})",
            shape=Shape.STATUS_CLASSES,
            record=RECORDS[Shape.STATUS_CLASSES],
        ),
        # Envoy measures request time in milliseconds.
        GatewayQuery(
            promql=_buckets(GATEWAY_LABEL),
            shape=Shape.BUCKETS,
            bucket_unit=MILLISECOND,
            record=RECORDS[Shape.BUCKETS],
            quantile_record=QUANTILE_RECORD,
        ),
        *(
            GatewayQuery(promql=alone[m], metric=m, record=RECORDS[m])
            for m in Metric
            if m not in shared
        ),
    )


def envoy_queries() -> MetricQueries:
    """Per gateway and per pod of one gateway (``{gateway}`` stands for its name)."""
    return MetricQueries(
        gateway_label=GATEWAY_LABEL,
        pod_label=POD_LABEL,
        window=WINDOW,
        by_gateway=_gateway_queries(),
        by_pod=_queries(POD_LABEL, "{gateway}"),
    )
