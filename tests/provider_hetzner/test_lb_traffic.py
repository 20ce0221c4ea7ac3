"""The LB traffic reader: reached through the plugin host, real hcloud over HTTP to the double."""

from __future__ import annotations

import math
import socket
from collections.abc import Iterator
from datetime import datetime
from typing import Literal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from kura_core.errors import InputError, KuraError
from kura_core.plugins import PluginHost
from kura_core.providers import (
    LoadBalancerTraffic,
    LoadBalancerTrafficReader,
    LoadBalancerTrafficSupport,
)
from kura_testing.hcloud_double import HetznerDouble, Mode, load_balancer_json
from tests.provider_hetzner.conftest import TEST_TIMEOUT, TOKEN

# A fixed instant: the reader takes the time only from its ``now`` argument.
NOW = 1_900_000_000.0
EU, US = "tuist-kura-eu-central-ingress", "tuist-kura-us-east-ingress"


def traffic_reader(
    environ: dict[str, str], *, timeout: float = float(TEST_TIMEOUT)
) -> LoadBalancerTrafficReader | None:
    """The reader as the dashboard gets it: through the plugin host and the capability."""
    provider = PluginHost(environ={"KURA_LOAD_PLUGINS": "hetzner"}).load_balancer_provider(
        "hetzner"
    )
    assert isinstance(provider, LoadBalancerTrafficSupport)
    return provider.traffic_reader(environ, timeout=timeout)


def open_reader(double: HetznerDouble, token: str = TOKEN) -> LoadBalancerTrafficReader:
    reader = traffic_reader({"HCLOUD_TOKEN": token, "HCLOUD_ENDPOINT": double.url})
    assert reader is not None
    return reader


@pytest.fixture
def reader(hetzner: HetznerDouble) -> Iterator[LoadBalancerTrafficReader]:
    hetzner.load_balancers = [load_balancer_json(7, EU), load_balancer_json(8, US, location="ash")]
    opened = open_reader(hetzner)
    yield opened
    opened.close()


def listings(double: HetznerDouble) -> int:
    return sum(1 for path in double.requests if urlsplit(path).path == "/v1/load_balancers")


def metrics_requests(double: HetznerDouble) -> list[dict[str, list[str]]]:
    return [
        parse_qs(urlsplit(path).query)
        for path in double.requests
        if urlsplit(path).path.endswith("/metrics")
    ]


def failure(reader: LoadBalancerTrafficReader, names: list[str], *, now: float = NOW) -> str:
    with pytest.raises(KuraError) as caught:
        reader.traffic(names, now=now)
    message = str(caught.value)
    assert "\n" not in message
    assert TOKEN not in message
    assert caught.value.exit_code == 2
    return message


# --- credentials -------------------------------------------------------------------------------


@pytest.mark.parametrize("environ", [{}, {"HCLOUD_TOKEN": ""}, {"HCLOUD_TOKEN": "  "}])
def test_no_token_no_reader(environ: dict[str, str]) -> None:
    assert traffic_reader(environ) is None


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"HCLOUD_TOKEN": "abc def"}, "HCLOUD_TOKEN contains whitespace"),
        ({"HCLOUD_TOKEN": TOKEN, "HCLOUD_ENDPOINT": "api.example"}, "must be an http(s) URL"),
    ],
)
def test_malformed_settings_are_input_errors(environ: dict[str, str], expected: str) -> None:
    with pytest.raises(InputError) as caught:
        traffic_reader(environ)
    assert expected in str(caught.value)
    assert "abc def" not in str(caught.value)


def test_the_reader_names_its_endpoint_and_resolution(
    hetzner: HetznerDouble, reader: LoadBalancerTrafficReader
) -> None:
    assert isinstance(reader, LoadBalancerTrafficReader)
    assert reader.target == hetzner.url
    assert reader.resolution == 60.0


# --- figures -----------------------------------------------------------------------------------


def test_the_latest_sample_of_each_load_balancer(
    hetzner: HetznerDouble, reader: LoadBalancerTrafficReader
) -> None:
    hetzner.bandwidth[7] = [
        (NOW - 120, 1_000.0, 2_000.0),
        (NOW - 60, 125_000_000.5, 600_000_000.0),  # the latest, though not listed last
        (NOW - 180, 3.0, 4.0),
        (NOW + 60, 9.0, 9.0),  # after ``now``: outside the window asked for
    ]
    hetzner.bandwidth[8] = [(NOW - 240, 10.0, 20.0), (NOW - 180, 30.0, 40.0)]
    assert reader.traffic([EU, US], now=NOW) == {
        EU: LoadBalancerTraffic(name=EU, at=NOW - 60, bytes_in=125_000_000.5, bytes_out=6e8),
        US: LoadBalancerTraffic(name=US, at=NOW - 180, bytes_in=30.0, bytes_out=40.0),
    }


def test_missing_or_non_finite_figures_are_none_not_zero(
    hetzner: HetznerDouble, reader: LoadBalancerTrafficReader
) -> None:
    # bandwidth.in's latest sample is NaN; bandwidth.out is absent from the answer.
    hetzner.bandwidth[7] = [(NOW - 120, 5.0, None), (NOW - 60, math.nan, None)]
    assert reader.traffic([EU, US], now=NOW) == {
        EU: LoadBalancerTraffic(name=EU, at=NOW - 60, bytes_in=None, bytes_out=None),
        # A load balancer without a sample in the window: known, but no figure yet.
        US: LoadBalancerTraffic(name=US, at=NOW, bytes_in=None, bytes_out=None),
    }


def test_each_series_keeps_its_own_latest_sample(
    hetzner: HetznerDouble, reader: LoadBalancerTrafficReader
) -> None:
    hetzner.bandwidth[7] = [(NOW - 120, 1.0, 2.0), (NOW - 60, 3.0, None)]
    assert reader.traffic([EU], now=NOW) == {
        EU: LoadBalancerTraffic(name=EU, at=NOW - 60, bytes_in=3.0, bytes_out=2.0)
    }


def test_open_connections_come_in_the_same_request(
    hetzner: HetznerDouble, reader: LoadBalancerTrafficReader
) -> None:
    hetzner.bandwidth[7] = [(NOW - 120, 1.0, 2.0)]
    hetzner.connections[7] = [(NOW - 120, 80.0), (NOW - 60, 1_250.0)]
    assert reader.traffic([EU], now=NOW) == {
        EU: LoadBalancerTraffic(
            name=EU, at=NOW - 60, bytes_in=1.0, bytes_out=2.0, open_connections=1_250.0
        )
    }
    assert len(metrics_requests(hetzner)) == 1


def test_a_name_the_api_does_not_know_is_left_out(
    hetzner: HetznerDouble, reader: LoadBalancerTrafficReader
) -> None:
    hetzner.bandwidth[7] = [(NOW - 60, 1.0, 2.0)]
    assert list(reader.traffic(["kura-gone", EU], now=NOW)) == [EU]
    assert len(metrics_requests(hetzner)) == 1


def test_the_metrics_request_asks_for_five_minutes_of_bandwidth_a_minute_apart(
    hetzner: HetznerDouble, reader: LoadBalancerTrafficReader
) -> None:
    reader.traffic([US], now=NOW)
    [path] = [path for path in hetzner.requests if "/metrics" in path]
    assert urlsplit(path).path == "/v1/load_balancers/8/metrics"
    query = parse_qs(urlsplit(path).query)
    assert query["type"] == ["bandwidth,open_connections"]
    assert query["step"] == ["60"]
    start, end = (datetime.fromisoformat(query[key][0]) for key in ("start", "end"))
    assert start.utcoffset() is not None
    assert (start.timestamp(), end.timestamp()) == (NOW - 300, NOW)


def test_no_names_no_request(hetzner: HetznerDouble, reader: LoadBalancerTrafficReader) -> None:
    assert reader.traffic([], now=NOW) == {}
    assert hetzner.requests == []


# --- the cached listing ------------------------------------------------------------------------


def test_the_listing_is_cached_across_reads(
    hetzner: HetznerDouble, reader: LoadBalancerTrafficReader
) -> None:
    for minute in range(30):
        reader.traffic([EU, US], now=NOW + 60 * minute)
    assert listings(hetzner) == 1
    assert len(metrics_requests(hetzner)) == 60


def test_a_missing_name_lists_again_only_after_ten_minutes(
    hetzner: HetznerDouble, reader: LoadBalancerTrafficReader
) -> None:
    assert list(reader.traffic([EU, "kura-new"], now=NOW)) == [EU]
    hetzner.load_balancers.append(load_balancer_json(9, "kura-new"))
    for seconds in (60, 300, 600):  # each read still finds the name missing
        assert list(reader.traffic([EU, "kura-new"], now=NOW + seconds)) == [EU]
    assert listings(hetzner) == 1
    assert list(reader.traffic([EU, "kura-new"], now=NOW + 601)) == [EU, "kura-new"]
    assert listings(hetzner) == 2
    # Found now: no more listings, however old the listing grows.
    reader.traffic([EU, "kura-new"], now=NOW + 10_000)
    assert listings(hetzner) == 2


def test_a_load_balancer_deleted_after_the_listing_is_left_out(
    hetzner: HetznerDouble, reader: LoadBalancerTrafficReader
) -> None:
    reader.traffic([EU, US], now=NOW)
    hetzner.load_balancers = [lb for lb in hetzner.load_balancers if lb["name"] != US]
    assert list(reader.traffic([EU, US], now=NOW + 60)) == [EU]  # its metrics answered 404
    assert list(reader.traffic([EU, US], now=NOW + 120)) == [EU]
    assert len(metrics_requests(hetzner)) == 2 + 2 + 1  # forgotten after the 404
    assert listings(hetzner) == 1
    reader.traffic([EU, US], now=NOW + 601)
    assert listings(hetzner) == 2


# --- failures ----------------------------------------------------------------------------------

FAILURES = [
    pytest.param("forbidden", {}, ["403 forbidden", "insufficient permissions"], id="403"),
    pytest.param(
        "rate-limited",
        {"rate_limit_headers": {"RateLimit-Limit": "3600", "RateLimit-Reset": str(int(NOW) + 90)}},
        # The wait counts from the read's ``now``, not from the clock.
        ["429 too many requests", "(in 90s) (limit 3600 requests per hour)"],
        id="429",
    ),
    pytest.param(
        "server-error", {"error_status": 500}, ["HTTP 500 internal", "Hetzner-side"], id="500"
    ),
    pytest.param(
        "server-error",
        {"error_status": 502, "error_json": False},  # hcloud alone would retry a 502
        ["HTTP 502 bad gateway", "Hetzner-side"],
        id="502-html",
    ),
    pytest.param("not-json", {}, ["answered HTTP 200 with a body that is not JSON"], id="not-json"),
    pytest.param("hang", {}, [f"did not answer within {TEST_TIMEOUT}s"], id="timeout"),
]


@pytest.mark.parametrize("phase", ["listing", "metrics"])
@pytest.mark.parametrize(("mode", "setup", "expected"), FAILURES)
def test_each_failure_is_one_line_without_the_token(
    hetzner: HetznerDouble,
    reader: LoadBalancerTrafficReader,
    phase: Literal["listing", "metrics"],
    mode: Mode,
    setup: dict[str, object],
    expected: list[str],
) -> None:
    if phase == "metrics":  # the listing is cached: only the metrics request fails
        reader.traffic([EU], now=NOW - 60)
        hetzner.requests.clear()
    for key, value in setup.items():
        setattr(hetzner, key, value)
    hetzner.mode = mode
    message = failure(reader, [EU])
    for fragment in expected:
        assert fragment in message
    [path] = hetzner.requests  # one request: hcloud's own retries are off
    assert ("/metrics" in path) == (phase == "metrics")


def test_a_wrong_token_is_401_without_the_token(hetzner: HetznerDouble) -> None:
    reader = open_reader(hetzner, token="wrong-" + TOKEN)
    try:
        message = failure(reader, [EU])
    finally:
        reader.close()
    assert "401 unauthorized" in message
    assert "wrong-" not in message


def test_a_failed_read_does_not_poison_the_next(
    hetzner: HetznerDouble, reader: LoadBalancerTrafficReader
) -> None:
    hetzner.bandwidth[7] = [(NOW - 60, 1.0, 2.0)]
    hetzner.mode = "server-error"
    failure(reader, [EU])
    hetzner.mode = "ok"
    assert reader.traffic([EU], now=NOW) == {
        EU: LoadBalancerTraffic(name=EU, at=NOW - 60, bytes_in=1.0, bytes_out=2.0)
    }


def test_connection_refused() -> None:
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    reader = traffic_reader(
        {"HCLOUD_TOKEN": TOKEN, "HCLOUD_ENDPOINT": f"http://127.0.0.1:{port}/v1"}
    )
    assert reader is not None
    try:
        assert "connection refused" in failure(reader, [EU])
    finally:
        reader.close()


# --- the double's metrics endpoint -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        (
            "/load_balancers/99/metrics?type=bandwidth&start=2030-01-01T00:00:00Z"
            "&end=2030-01-01T00:05:00Z",
            404,
            "not_found",
        ),
        (
            "/load_balancers/7/metrics?start=2030-01-01T00:00:00Z&end=2030-01-01T00:05:00Z",
            400,
            "invalid_input",
        ),
        ("/load_balancers/7/metrics?type=bandwidth&end=2030-01-01T00:05:00Z", 400, "invalid_input"),
        (
            "/load_balancers/7/metrics?type=bandwidth&start=2030-01-01T00:00:00Z",
            400,
            "invalid_input",
        ),
        (
            "/load_balancers/7/metrics?type=bandwidth&start=2030-01-01T00:00:00"
            "&end=2030-01-01T00:05:00",
            400,
            "invalid_input",
        ),
    ],
)
def test_the_double_refuses_what_the_api_refuses(
    hetzner: HetznerDouble, path: str, status: int, code: str
) -> None:
    hetzner.load_balancers = [load_balancer_json(7, EU)]
    answer = requests.get(
        hetzner.url + path, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
