"""``kura dashboard`` live reads each region's load balancer through the hetzner provider.

The provider is reached through the plugin host and talks to the Hetzner API double over real
HTTP; Prometheus and Kubernetes are left unreachable, since the load balancers' figures come
from their own source.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from kura_core.cli.app import build_cli
from kura_core.names import regional_load_balancer_name
from kura_core.plugins import PluginHost
from kura_testing.hcloud_double import HetznerDouble, load_balancer_json, running_double
from kura_testing.ports import free_port

TOKEN = "dashboardHcloudToken0123456789SECRET"
GBPS = 1e9 / 8


@pytest.fixture
def hetzner() -> Iterator[HetznerDouble]:
    with running_double(TOKEN) as double:
        yield double


def dashboard(env: dict[str, str | None]) -> Result:
    host = PluginHost(environ={"KURA_LOAD_PLUGINS": "hetzner,dashboard"})
    args = [
        "dashboard", "--prometheus", f"http://127.0.0.1:{free_port()}",
        "--kubeconfig", "/nonexistent/kubeconfig", "--timeout", "1", "--once",
    ]  # fmt: skip
    return CliRunner().invoke(build_cli(host), args, env=env, catch_exceptions=False)


def test_each_regions_load_balancer_bandwidth_is_shown(hetzner: HetznerDouble) -> None:
    hetzner.load_balancers = [
        load_balancer_json(1, regional_load_balancer_name("eu-central"), location="fsn1"),
        load_balancer_json(2, regional_load_balancer_name("us-east"), location="ash"),
        load_balancer_json(3, "somebody-elses-lb"),
    ]
    now = time.time()
    hetzner.bandwidth = {
        1: [(now - 90, 0.5 * GBPS, 1.0 * GBPS), (now - 30, 1.25 * GBPS, 3.5 * GBPS)],
        2: [(now - 30, 0.2 * GBPS, 0.4 * GBPS)],
    }
    result = dashboard({"HCLOUD_TOKEN": TOKEN, "HCLOUD_ENDPOINT": hetzner.url})
    # No Prometheus here: the frame is stale, exit 1.
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    header = next(line for line in lines if " REGION " in line)
    start, end = header.index(" OUT ") + len(" OUT"), header.index("LB OUT") + len("LB OUT")
    shown = {line.split()[0]: line[start:end].split() for line in lines if line.startswith(" ")}
    # The latest sample of each series, in Gbps; us-west has no load balancer of that name.
    assert shown["eu-central"] == ["s1", "1.25", "s1", "3.50"]
    assert shown["us-east"] == ["s1", "0.20", "s1", "0.40"]
    assert shown["us-west"] == ["-", "-"]
    words = " ".join(result.stdout.split())
    assert (
        "load balancers degraded: no load balancer named tuist-kura-us-west-ingress "
        "(region us-west)" in words
    )
    # One listing and one metrics request per load balancer found, never the others.
    paths = [path.split("?")[0] for path in hetzner.requests]
    assert paths.count("/v1/load_balancers") == 1
    assert sorted(p for p in paths if p.endswith("/metrics")) == [
        "/v1/load_balancers/1/metrics",
        "/v1/load_balancers/2/metrics",
    ]
    assert TOKEN not in result.output


def test_a_rejected_token_is_one_line_and_never_shown(hetzner: HetznerDouble) -> None:
    result = dashboard({"HCLOUD_TOKEN": "not" + TOKEN, "HCLOUD_ENDPOINT": hetzner.url})
    assert result.exit_code == 1, result.output
    words = " ".join(result.stdout.split())
    assert "load balancers unreachable: hetzner: the Hetzner API at" in words
    assert "(401 unauthorized)" in words
    assert TOKEN not in result.output


def test_without_credentials_no_load_balancer_is_read(hetzner: HetznerDouble) -> None:
    result = dashboard({"HCLOUD_TOKEN": None, "HCLOUD_ENDPOINT": hetzner.url})
    assert result.exit_code == 1, result.output
    assert "load balancers" not in result.stdout
    assert hetzner.requests == []


def test_a_malformed_token_is_one_line_and_exit_2(hetzner: HetznerDouble) -> None:
    result = dashboard({"HCLOUD_TOKEN": "two words", "HCLOUD_ENDPOINT": hetzner.url})
    assert result.exit_code == 2
    assert result.stderr.startswith("kura: error: HCLOUD_TOKEN contains whitespace")
    assert result.stderr.count("\n") == 1
    assert "two words" not in result.output
    assert hetzner.requests == []
