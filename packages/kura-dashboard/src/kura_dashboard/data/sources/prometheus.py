"""Gateway metrics from Prometheus, with the PromQL each region's ingress provider supplies.

One refresh sends one instant query per metric per distinct provider query set, each aggregated by
the provider's gateway label, so the number of queries does not grow with the number of gateways.
The client gets a short timeout and no retries (``Retry(total=0)``): prometheus-api-client's
default retries turn a dead server into a 6-second stall, and the dashboard must show a dead
Prometheus at once. The first connection failure ends the refresh, for the same reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from urllib3.util.retry import Retry

from kura_core import Metric, MetricQueries
from kura_dashboard.data.readings import GatewayMetrics, MetricsReadout, SourceError

DEFAULT_TIMEOUT = 2.0
_FIELDS: dict[Metric, str] = {
    Metric.BYTES_IN: "bytes_in",
    Metric.BYTES_OUT: "bytes_out",
    Metric.REQUESTS: "requests",
    Metric.P50_LATENCY: "p50_latency",
    Metric.P90_LATENCY: "p90_latency",
    Metric.P95_LATENCY: "p95_latency",
    Metric.P99_LATENCY: "p99_latency",
    Metric.ERROR_RATIO: "error_ratio",
    Metric.SUCCESS_RATIO: "success_ratio",
    Metric.ACTIVE_CONNECTIONS: "active_connections",
    Metric.CONFIG_RELOAD_FAILED: "config_reload_failed",
    Metric.CONFIG_RELOADS: "config_reloads",
    Metric.CERT_EXPIRY: "cert_expiry",
}
# A ratio whose numerator matched no series at all: none of its responses, so 0, not unknown.
_NO_SERIES_IS_ZERO = {Metric.ERROR_RATIO: "error_ratio", Metric.SUCCESS_RATIO: "success_ratio"}
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")
_API_ERROR = re.compile(r'"error":"((?:[^"\\]|\\.)*)"')


def connection_reason(exc: BaseException) -> str:
    """The words of a connection failure: ``connection refused``, not a urllib3 repr."""
    match = _ERRNO.search(str(exc))
    if match:
        return match.group(1).strip().lower()
    return str(exc) or type(exc).__name__


def _value(result: dict[str, Any]) -> float | None:
    """The sample of one instant-vector element; Prometheus sends numbers as strings."""
    value = float(result["value"][1])
    return value if math.isfinite(value) else None


class PrometheusSource:
    """Reads every gateway's metrics with a constant number of instant queries."""

    name = "prometheus"

    def __init__(
        self,
        url: str,
        query_sets: Sequence[MetricQueries],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        evaluation_time: float | None = None,
    ) -> None:
        """``evaluation_time`` evaluates every query at that instant instead of now."""
        self.url = url.rstrip("/")
        self.target = self.url
        unique: dict[str, MetricQueries] = {}
        for queries in query_sets:
            unique.setdefault(queries.model_dump_json(), queries)
        self.query_sets = tuple(unique.values())
        self.timeout = timeout
        self.evaluation_time = evaluation_time
        self.queries_sent = 0
        self._client = PrometheusConnect(
            # read=False re-raises a read timeout as itself rather than as a retry error.
            url=self.url,
            disable_ssl=False,
            retry=Retry(total=0, read=False),
            timeout=timeout,
        )

    @property
    def queries_per_refresh(self) -> int:
        return sum(len(queries.by_gateway) for queries in self.query_sets)

    def fetch(self, now: float) -> list[MetricsReadout]:
        at = self.evaluation_time if self.evaluation_time is not None else now
        values: dict[str, dict[str, float | None]] = {}
        problems: list[str] = []
        failed: set[Metric] = set()
        for queries in self.query_sets:
            for metric, promql in queries.by_gateway.items():
                try:
                    results = self._query(promql, at)
                except PrometheusApiClientException as exc:
                    problems.append(f"{metric.value} query failed: {self._api_error(exc)}")
                    failed.add(metric)
                    continue
                for result in results:
                    label = result.get("metric", {}).get(queries.gateway_label)
                    if label is not None:
                        values.setdefault(label, {})[_FIELDS[metric]] = _value(result)
        if problems and len(problems) == self.queries_per_refresh:
            raise SourceError(f"every query failed; {problems[0]}", unreachable=False)
        for fields in values.values():
            # No 5xx series at all means no 5xx responses (no 2xx/3xx series: nothing succeeded):
            # the ratio query returns nothing then. Without requests there is no ratio.
            if not fields.get("requests"):
                continue
            for metric, name in _NO_SERIES_IS_ZERO.items():
                if metric not in failed and name not in fields:
                    fields[name] = 0.0
        gateways = {label: GatewayMetrics(**fields) for label, fields in values.items()}
        return [MetricsReadout(at, gateways, tuple(problems))]

    def _query(self, promql: str, at: float) -> list[dict[str, Any]]:
        self.queries_sent += 1
        try:
            result: list[dict[str, Any]] = self._client.custom_query(promql, params={"time": at})
        except requests.Timeout:
            raise SourceError(
                f"Prometheus at {self.url} did not answer within {self.timeout:g}s"
            ) from None
        except requests.ConnectionError as exc:
            raise SourceError(
                f"cannot connect to Prometheus at {self.url}: {connection_reason(exc)}"
            ) from None
        except requests.RequestException as exc:
            raise SourceError(f"Prometheus at {self.url}: {exc}") from None
        return result

    @staticmethod
    def _api_error(exc: PrometheusApiClientException) -> str:
        text = str(exc)
        status = re.search(r"HTTP Status Code (\d+)", text)
        error = _API_ERROR.search(text)
        parts = [f"HTTP {status.group(1)}" if status else "", error.group(1) if error else ""]
        return ": ".join(part for part in parts if part) or text

    def close(self) -> None:
        self._client.close()
