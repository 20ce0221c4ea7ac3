"""The LB inventory: the real hcloud client over real HTTP against the API double."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime

import pytest

from kura_core.errors import InputError, KuraError
from kura_provider_hetzner.hcloud_api import fetch_inventory
from kura_provider_hetzner.inventory import (
    DEFAULT_ENDPOINT,
    HcloudSettings,
    HetznerAPIError,
    HetznerLoadBalancer,
    Target,
    retry_hint,
    settings_from_env,
)
from kura_testing.hcloud_double import (
    HetznerDouble,
    https_service,
    ip_target,
    label_selector_target,
    load_balancer_json,
    server_target,
    tcp_service,
)
from tests.provider_hetzner.conftest import TEST_TIMEOUT, TOKEN


def settings(double: HetznerDouble, token: str = TOKEN) -> HcloudSettings:
    return settings_from_env(
        {"HCLOUD_TOKEN": token, "HCLOUD_ENDPOINT": double.url}, timeout=float(TEST_TIMEOUT)
    )


def failure(double: HetznerDouble, token: str = TOKEN) -> str:
    with pytest.raises(HetznerAPIError) as caught:
        fetch_inventory(settings(double, token))
    message = str(caught.value)
    assert "\n" not in message
    assert TOKEN not in message
    assert caught.value.exit_code == 2
    return message


def test_every_field_of_a_load_balancer(hetzner: HetznerDouble) -> None:
    hetzner.load_balancers = [
        load_balancer_json(
            7,
            "tuist-kura-us-east-ingress",
            location="ash",
            lb_type="lb21",
            labels={"hcloud-ccm/service-uid": "0f3c"},
            services=[tcp_service(443, 31443), tcp_service(80, 31080), https_service()],
            targets=[
                server_target(1001),
                label_selector_target("pool=kura-us-east", 2001, 2002),
                ip_target("198.51.100.9"),
            ],
        )
    ]
    inventory = fetch_inventory(settings(hetzner))
    assert inventory.endpoint == hetzner.url
    assert inventory.load_balancers == [
        HetznerLoadBalancer(
            id=7,
            name="tuist-kura-us-east-ingress",
            type="lb21",
            location="ash",
            network_zone="us-east",
            public_ipv4="203.0.113.8",
            public_ipv6="2001:db8::7",
            labels={"hcloud-ccm/service-uid": "0f3c"},
            targets=[
                Target(type="server", server_id=1001, use_private_ip=False),
                Target(
                    type="label_selector", label_selector="pool=kura-us-east", use_private_ip=True
                ),
                Target(type="ip", ip="198.51.100.9"),
            ],
        )
    ]
    assert [str(t) for t in inventory.load_balancers[0].targets] == [
        "server:1001",
        "label:pool=kura-us-east",
        "ip:198.51.100.9",
    ]


def test_get_all_follows_every_page(hetzner: HetznerDouble) -> None:
    hetzner.max_per_page = 25  # hcloud asks for 50; the server caps pages as the API does
    hetzner.load_balancers = [load_balancer_json(i, f"lb-{i:02d}") for i in range(1, 31)]
    inventory = fetch_inventory(settings(hetzner))
    assert [lb.name for lb in inventory.load_balancers] == [f"lb-{i:02d}" for i in range(1, 31)]
    assert [path.split("?")[1] for path in hetzner.requests] == [
        "page=1&per_page=50",
        "page=2&per_page=50",
    ]


def test_an_empty_project(hetzner: HetznerDouble) -> None:
    assert fetch_inventory(settings(hetzner)).load_balancers == []


def test_a_wrong_token_is_401_without_the_token(hetzner: HetznerDouble) -> None:
    message = failure(hetzner, token="wrong-" + TOKEN)
    assert "401 unauthorized" in message
    assert "HCLOUD_TOKEN" in message
    assert "wrong-" not in message


def test_403(hetzner: HetznerDouble) -> None:
    hetzner.mode = "forbidden"
    message = failure(hetzner)
    assert "403 forbidden" in message
    assert "insufficient permissions" in message


def test_429_says_when_to_retry_from_ratelimit_reset_and_is_not_retried(
    hetzner: HetznerDouble,
) -> None:
    hetzner.mode = "rate-limited"
    hetzner.rate_limit_headers = {
        "RateLimit-Limit": "3600",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": str(int(datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp())),
    }
    message = failure(hetzner)
    assert "429 too many requests" in message
    assert "retry after 2030-01-02T03:04:05Z" in message
    assert "limit 3600 requests per hour" in message
    # hcloud on its own would retry a 429 five times with backoff; kura fails at once.
    assert len(hetzner.requests) == 1


def test_429_prefers_retry_after(hetzner: HetznerDouble) -> None:
    hetzner.mode = "rate-limited"
    hetzner.rate_limit_headers = {"Retry-After": "17", "RateLimit-Reset": "1"}
    assert "retry in 17s" in failure(hetzner)


@pytest.mark.parametrize(
    ("status", "json_body", "shown"),
    [
        (500, True, "HTTP 500 internal server error"),
        (502, False, "HTTP 502 bad gateway"),  # hcloud retries 502 by itself; kura does not
        (503, False, "HTTP 503 service unavailable"),
    ],
)
def test_5xx(hetzner: HetznerDouble, status: int, json_body: bool, shown: str) -> None:
    hetzner.mode = "server-error"
    hetzner.error_status = status
    hetzner.error_json = json_body
    message = failure(hetzner)
    assert shown in message
    assert "Hetzner-side error" in message
    assert len(hetzner.requests) == 1


def test_a_body_that_is_not_json(hetzner: HetznerDouble) -> None:
    hetzner.mode = "not-json"
    assert "answered HTTP 200 with a body that is not JSON" in failure(hetzner)


def test_an_answer_missing_a_field_hcloud_needs(hetzner: HetznerDouble) -> None:
    broken = load_balancer_json(1, "lb-1")
    del broken["services"][0]["proxyprotocol"]
    hetzner.load_balancers = [broken]
    assert "unexpected answer from the Hetzner API" in failure(hetzner)
    assert "'proxyprotocol'" in failure(hetzner)


def test_a_server_that_never_answers_fails_at_the_timeout(hetzner: HetznerDouble) -> None:
    hetzner.mode = "hang"
    message = failure(hetzner)
    assert f"did not answer within {TEST_TIMEOUT}s" in message
    assert len(hetzner.requests) == 1  # no retry multiplies the timeout


def test_the_token_never_reaches_a_log_line(
    hetzner: HetznerDouble, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hetzner.load_balancers = [load_balancer_json(1, "lb-1")]
    inventory = fetch_inventory(settings(hetzner))
    hetzner.mode = "forbidden"
    failure(hetzner)
    assert any("/v1/load_balancers" in record.getMessage() for record in caplog.records)
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(inventory)


def test_connection_refused() -> None:
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(HetznerAPIError, match="connection refused"):
        fetch_inventory(
            settings_from_env({"HCLOUD_TOKEN": TOKEN, "HCLOUD_ENDPOINT": endpoint}, timeout=0.5)
        )


# --- settings ----------------------------------------------------------------------------------


def test_settings_default_endpoint_and_hidden_token() -> None:
    loaded = settings_from_env({"HCLOUD_TOKEN": f"  {TOKEN}\n"})
    assert loaded.endpoint == DEFAULT_ENDPOINT
    assert loaded.token.get_secret_value() == TOKEN
    for shown in (repr(loaded), str(loaded), loaded.model_dump_json()):
        assert TOKEN not in shown


def test_the_endpoint_loses_its_trailing_slash() -> None:
    loaded = settings_from_env({"HCLOUD_TOKEN": TOKEN, "HCLOUD_ENDPOINT": "https://h:1/v1/"})
    assert loaded.endpoint == "https://h:1/v1"


@pytest.mark.parametrize(
    "endpoint",
    ["http://127.0.0.1:8/v1", "http://127.9.0.1/v1", "http://[::1]:8", "http://localhost"],
)
def test_plain_http_is_allowed_on_loopback(endpoint: str) -> None:
    loaded = settings_from_env({"HCLOUD_TOKEN": TOKEN, "HCLOUD_ENDPOINT": endpoint})
    assert loaded.endpoint == endpoint


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "HCLOUD_TOKEN is not set"),
        ({"HCLOUD_TOKEN": "   "}, "HCLOUD_TOKEN is not set"),
        ({"HCLOUD_TOKEN": "abc def"}, "HCLOUD_TOKEN contains whitespace or control characters"),
        ({"HCLOUD_TOKEN": "abc", "HCLOUD_ENDPOINT": "api.example"}, "must be an http(s) URL"),
        (
            {"HCLOUD_TOKEN": "abc", "HCLOUD_ENDPOINT": "http://api.example/v1"},
            "HCLOUD_ENDPOINT must be an https URL (plain http only on loopback), "
            "got 'http://api.example/v1'",
        ),
        (
            {"HCLOUD_TOKEN": "abc", "HCLOUD_ENDPOINT": "http://10.0.0.1/v1"},
            "must be an https URL (plain http only on loopback)",
        ),
    ],
)
def test_bad_settings_are_input_errors(environ: dict[str, str], expected: str) -> None:
    with pytest.raises(InputError) as caught:
        settings_from_env(environ)
    assert expected in str(caught.value)
    assert "abc def" not in str(caught.value)


def test_a_timeout_must_be_positive() -> None:
    with pytest.raises(KuraError, match="more than zero"):
        settings_from_env({"HCLOUD_TOKEN": TOKEN}, timeout=0)


# --- retry hints (pure) ------------------------------------------------------------------------

NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "30"}, "retry in 30s"),
        (
            {"retry-after": "Tue, 01 Jan 2030 12:01:00 GMT"},
            "retry after 2030-01-01T12:01:00Z (in 60s)",
        ),
        (
            {"RateLimit-Reset": str(int(NOW.timestamp()) + 90), "RateLimit-Limit": "3600"},
            "retry after 2030-01-01T12:01:30Z (in 90s) (limit 3600 requests per hour)",
        ),
        ({"RateLimit-Reset": str(int(NOW.timestamp()) - 5)}, "(in 0s)"),
        ({"Retry-After": "soon"}, "retry in a minute (no Retry-After or RateLimit-Reset header)"),
        ({}, "retry in a minute"),
    ],
)
def test_retry_hint(headers: dict[str, str], expected: str) -> None:
    assert expected in retry_hint(headers, NOW)
