"""The metric query contract: what a gateway query answers, and how its series are read."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from kura_core.metric_queries import (
    GatewayQuery,
    Metric,
    MetricQueries,
    Shape,
    bucket_quantiles,
)

INF = math.inf


@pytest.mark.parametrize(
    ("q", "buckets", "expected"),
    [
        # Linear within the bucket, from 0 in the lowest one.
        (0.5, [(0.1, 5.0), (0.5, 8.0), (INF, 10.0)], 0.1),
        (0.25, [(0.1, 5.0), (0.5, 8.0), (INF, 10.0)], 0.05),
        # Rank 6.5: 1.5 of the 3 observations between 0.1 and 0.5.
        (0.65, [(0.1, 5.0), (0.5, 8.0), (INF, 10.0)], 0.3),
        # In the +Inf bucket: the highest finite bound.
        (0.9, [(0.1, 5.0), (0.5, 8.0), (INF, 10.0)], 0.5),
        # Order does not matter; one bound's buckets add up.
        (0.5, [(INF, 10.0), (0.1, 2.0), (0.5, 8.0), (0.1, 3.0)], 0.1),
        # A count below the one before is raised to it: rank 7 is 1 of 2 between 0.25 and 0.5.
        (0.7, [(0.1, 6.0), (0.25, 4.0), (0.5, 8.0), (INF, 10.0)], 0.375),
        # A lowest bound at or below zero is the answer within that bucket.
        (0.25, [(-1.0, 2.0), (0.5, 4.0), (INF, 4.0)], -1.0),
    ],
)
def test_bucket_quantiles_interpolates_as_prometheus_does(
    q: float, buckets: list[tuple[float, float]], expected: float
) -> None:
    assert bucket_quantiles(buckets, [q]) == [pytest.approx(expected, rel=1e-12)]


@pytest.mark.parametrize(
    "buckets",
    [
        [(0.1, 5.0), (0.5, 8.0)],  # no +Inf bucket
        [(INF, 3.0)],  # one bound
        [(0.1, 0.0), (INF, 0.0)],  # no observations
        [],
    ],
)
def test_bucket_quantiles_is_unknown_where_prometheus_answers_nan(
    buckets: list[tuple[float, float]],
) -> None:
    assert bucket_quantiles(buckets, [0.5, 0.99]) == [None, None]


def test_status_classes_give_requests_and_both_ratios() -> None:
    query = GatewayQuery(promql="q", shape=Shape.STATUS_CLASSES)
    assert query.metrics == (Metric.REQUESTS, Metric.ERROR_RATIO, Metric.SUCCESS_RATIO)
    read = query.read(
        [
            ({"gw": "a", "status_class": "2xx"}, 2.5),
            ({"gw": "a", "status_class": "3xx"}, 0.5),
            ({"gw": "a", "status_class": "4xx"}, 1.0),
            ({"gw": "a", "status_class": "5xx"}, 1.0),
            ({"gw": "ok", "status_class": "2xx"}, 4.0),
            ({"gw": "idle", "status_class": "2xx"}, 0.0),
            ({"status_class": "5xx"}, 9.0),  # not a gateway's
        ],
        "gw",
    )
    assert read == {
        "a": {Metric.REQUESTS: 5.0, Metric.ERROR_RATIO: 0.2, Metric.SUCCESS_RATIO: 0.6},
        # No 5xx series: no 5xx responses.
        "ok": {Metric.REQUESTS: 4.0, Metric.ERROR_RATIO: 0.0, Metric.SUCCESS_RATIO: 1.0},
        # No requests: no ratio.
        "idle": {Metric.REQUESTS: 0.0, Metric.ERROR_RATIO: None, Metric.SUCCESS_RATIO: None},
    }


def test_buckets_give_every_percentile_and_skip_series_without_a_bound() -> None:
    query = GatewayQuery(promql="q", shape=Shape.BUCKETS)
    read = query.read(
        [
            ({"gw": "a", "le": "0.1"}, 5.0),
            ({"gw": "a", "le": "0.5"}, 8.0),
            ({"gw": "a", "le": "+Inf"}, 10.0),
            ({"gw": "a"}, 100.0),
            ({"gw": "a", "le": "soon"}, 100.0),
        ],
        "gw",
    )
    assert read == {
        "a": {
            Metric.P50_LATENCY: pytest.approx(0.1),
            Metric.P90_LATENCY: 0.5,
            Metric.P95_LATENCY: 0.5,
            Metric.P99_LATENCY: 0.5,
        }
    }


def test_buckets_of_many_gateways_are_read_apart_and_without_bounds_as_unknown() -> None:
    query = GatewayQuery(promql="q", shape=Shape.BUCKETS)
    # Prometheus sorts an answer by its labels: a gateway's buckets need not be adjacent.
    read = query.read(
        [
            ({"gw": "a", "le": "0.1"}, 5.0),
            ({"gw": "b", "le": "0.1"}, 1.0),
            ({"gw": "a", "le": "+Inf"}, 10.0),
            ({"gw": "b", "le": "+Inf"}, 1.0),
            ({"gw": "a", "le": "0.1"}, 3.0),
            ({"gw": "c", "le": "soon"}, 4.0),
        ],
        "gw",
    )
    assert read["a"][Metric.P50_LATENCY] == pytest.approx(0.1 * 5.0 / 8.0)
    assert read["b"][Metric.P99_LATENCY] == pytest.approx(0.099)
    # Series, but no bucket among them: known to be there, its percentiles unknown.
    assert read["c"] == dict.fromkeys(Shape.BUCKETS.metrics)


def test_buckets_in_milliseconds_give_percentiles_in_seconds() -> None:
    query = GatewayQuery(promql="q", shape=Shape.BUCKETS, bucket_unit=0.001)
    read = query.read(
        [({"gw": "a", "le": "100"}, 5.0), ({"gw": "a", "le": "500"}, 8.0),
         ({"gw": "a", "le": "+Inf"}, 10.0), ({"gw": "idle", "le": "+Inf"}, 0.0)],
        "gw",
    )  # fmt: skip
    assert read["a"][Metric.P50_LATENCY] == pytest.approx(0.1)
    assert read["a"][Metric.P99_LATENCY] == pytest.approx(0.5)
    assert read["idle"] == dict.fromkeys(Shape.BUCKETS.metrics)
    with pytest.raises(ValidationError, match="only a buckets query has a bucket unit"):
        GatewayQuery(promql="q", metric=Metric.P50_LATENCY, bucket_unit=0.001)
    with pytest.raises(ValidationError, match="greater than 0"):
        GatewayQuery(promql="q", shape=Shape.BUCKETS, bucket_unit=0)


def test_a_value_query_reads_its_metric_and_not_a_number_as_unknown() -> None:
    query = GatewayQuery(promql="q", metric=Metric.CERT_EXPIRY)
    read = query.read([({"gw": "a"}, 86_400.0), ({"gw": "b"}, math.nan)], "gw")
    assert read == {"a": {Metric.CERT_EXPIRY: 86_400.0}, "b": {Metric.CERT_EXPIRY: None}}


def test_a_value_query_names_its_metric_and_only_it_does() -> None:
    with pytest.raises(ValidationError, match="names its metric"):
        GatewayQuery(promql="q")
    with pytest.raises(ValidationError, match="names its metric"):
        GatewayQuery(promql="q", shape=Shape.BUCKETS, metric=Metric.P50_LATENCY)


def _queries(*by_gateway: GatewayQuery) -> MetricQueries:
    return MetricQueries(
        gateway_label="gw",
        pod_label="pod",
        window="1m",
        by_gateway=by_gateway,
        by_pod={metric: f'{metric}{{gw="{{gateway}}"}}' for metric in Metric},
    )


def test_every_metric_is_answered_exactly_once() -> None:
    shared = (
        GatewayQuery(promql="q", shape=Shape.STATUS_CLASSES),
        GatewayQuery(promql="q", shape=Shape.BUCKETS),
    )
    rest = [m for m in Metric if m not in {*Shape.STATUS_CLASSES.metrics, *Shape.BUCKETS.metrics}]
    values = tuple(GatewayQuery(promql="q", metric=m) for m in rest)
    assert len(_queries(*shared, *values).by_gateway) == 8
    with pytest.raises(ValidationError, match="by_gateway lacks cert_expiry"):
        _queries(*shared, *values[:-1])
    with pytest.raises(ValidationError, match="answers requests more than once"):
        _queries(*shared, *values, GatewayQuery(promql="q", metric=Metric.REQUESTS))
