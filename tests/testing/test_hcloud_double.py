"""The Hetzner Cloud API double, as the real ``hcloud`` client sees it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hcloud import APIException, Client

from kura_testing.hcloud_double import HetznerDouble, load_balancer_json, running_double

TOKEN = "doubleTestToken0123456789abcdefSECRET"
START = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
def double() -> Iterator[HetznerDouble]:
    with running_double(TOKEN) as running:
        yield running


def client(double: HetznerDouble, token: str = TOKEN) -> Client:
    made = Client(token=token, api_endpoint=double.url)
    # hcloud retries 429 with a backoff of seconds; the answer itself is what is tested here.
    made._client._retry_max_retries = 0
    return made


def test_every_page_of_load_balancers_reaches_the_client(double: HetznerDouble) -> None:
    double.max_per_page = 2
    double.load_balancers = [load_balancer_json(i, f"lb-{i}") for i in range(1, 6)]
    found = client(double).load_balancers.get_all()
    assert [lb.name for lb in found] == [f"lb-{i}" for i in range(1, 6)]
    assert sum("/v1/load_balancers?" in path for path in double.requests) == 3


def test_a_wrong_token_is_refused_and_no_request_log_holds_a_token(
    double: HetznerDouble,
) -> None:
    with pytest.raises(APIException) as raised:
        client(double, token="wrong").load_balancers.get_all()
    assert raised.value.code == "unauthorized"
    assert double.requests
    assert not any(TOKEN in path for path in double.requests)


@pytest.mark.parametrize(
    ("mode", "code"),
    [("forbidden", "forbidden"), ("rate-limited", "rate_limit_exceeded")],
)
def test_a_switched_mode_answers_every_path(double: HetznerDouble, mode: str, code: str) -> None:
    double.load_balancers = [load_balancer_json(1, "lb-1")]
    double.mode = mode  # type: ignore[assignment]
    with pytest.raises(APIException) as raised:
        client(double).load_balancers.get_all()
    assert raised.value.code == code


def test_metrics_answer_only_the_samples_inside_the_window(double: HetznerDouble) -> None:
    double.load_balancers = [load_balancer_json(7, "lb-7")]
    stamp = START.timestamp()
    double.bandwidth[7] = [
        (stamp - 60, 1.0, 2.0),
        (stamp + 60, 10.0, None),
        (stamp + 7200, 3.0, 4.0),
    ]
    (lb,) = client(double).load_balancers.get_all()
    metrics = lb.get_metrics(type="bandwidth", start=START, end=START.replace(hour=13), step=60)
    series = metrics.metrics.time_series
    assert [list(value) for value in series["bandwidth.in"]["values"]] == [
        [stamp + 60, "10.000000"]
    ]
    assert "bandwidth.out" not in series


def test_metrics_of_an_unknown_load_balancer_are_not_found(double: HetznerDouble) -> None:
    status, body = double.metrics(99, {"type": ["bandwidth"], "start": ["x"], "end": ["y"]})
    assert (status, body["error"]["code"]) == (404, "not_found")


def test_metrics_need_a_type_and_a_zoned_window(double: HetznerDouble) -> None:
    double.load_balancers = [load_balancer_json(7, "lb-7")]
    missing = double.metrics(7, {"start": ["2026-12-06T12:00:00+00:00"]})
    naive = double.metrics(
        7, {"type": ["bandwidth"], "start": ["2026-12-06T12:00:00"], "end": ["2026-12-06T13:00"]}
    )
    assert missing[0] == 400
    assert missing[1]["error"]["message"] == "missing query: type, end"
    assert naive[0] == 400
    assert "zone" in naive[1]["error"]["message"]
