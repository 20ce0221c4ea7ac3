"""``kura lb list`` and ``kura lb audit`` end to end: CLI, hcloud, real HTTP, the API double."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result

from kura_core.names import gateway_name
from kura_testing.hcloud_double import (
    HetznerDouble,
    label_selector_target,
    load_balancer_json,
)
from tests.provider_hetzner.conftest import TEST_TIMEOUT, TOKEN, InvokeKura

GW = gateway_name(42, "us-east")
REGIONAL = [
    ("tuist-kura-eu-central-ingress", "fsn1"),
    ("tuist-kura-us-east-ingress", "ash"),
    ("tuist-kura-us-west-ingress", "hil"),
]


def project(double: HetznerDouble, *lbs: tuple[str, str]) -> None:
    """The LBs of the double's project, plus ones that are not kura's."""
    named = [*lbs, ("tuist-ingress", "fsn1"), ("monitoring", "nbg1")]
    double.load_balancers = [
        load_balancer_json(i, name, location=location)
        for i, (name, location) in enumerate(named, start=1)
    ]


def gateways_yaml(*names_regions: tuple[str, str]) -> str:
    """What ``kubectl get kuragateways -n kura -o yaml`` prints."""
    items = [
        {
            "apiVersion": "kura.tuist.dev/v1alpha1",
            "kind": "KuraGateway",
            "metadata": {"name": name, "namespace": "kura", "uid": "u", "resourceVersion": "1"},
            "spec": {
                "region": region,
                "ingressClassName": f"kura-{region}-{name}",
                "loadBalancerAnnotations": {
                    "load-balancer.hetzner.cloud/name": f"tuist-{name}-ingress",
                    "load-balancer.hetzner.cloud/uses-proxyprotocol": "true",
                },
            },
            "status": {"phase": "Ready", "readyReplicas": 2, "loadBalancer": "203.0.113.9"},
        }
        for name, region in names_regions
    ]
    return yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {}})


def one_line_error(result: Result, expected: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("kura: error: ")
    assert expected in line
    assert "Traceback" not in result.output
    assert TOKEN not in result.output


def findings(result: Result) -> list[tuple[str, str]]:
    data: dict[str, Any] = json.loads(result.stdout)
    return [(f["check"], f["load_balancer"]) for f in data["findings"]]


# --- kura lb list --------------------------------------------------------------------------------


def test_list_json(kura: InvokeKura, hetzner: HetznerDouble) -> None:
    hetzner.load_balancers = [
        load_balancer_json(
            3,
            "tuist-kura-us-east-ingress",
            location="ash",
            labels={"team": "kura"},
            targets=[label_selector_target("pool=kura-us-east", 11)],
        )
    ]
    result = kura("lb", "list", "-o", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data == {
        "endpoint": hetzner.url,
        "load_balancers": [
            {
                "id": 3,
                "name": "tuist-kura-us-east-ingress",
                "type": "lb11",
                "location": "ash",
                "network_zone": "us-east",
                "public_ipv4": "203.0.113.4",
                "public_ipv6": "2001:db8::3",
                "labels": {"team": "kura"},
                "targets": [
                    {
                        "type": "label_selector",
                        "server_id": None,
                        "label_selector": "pool=kura-us-east",
                        "ip": None,
                        "use_private_ip": True,
                    }
                ],
            }
        ],
    }


def test_list_table(kura: InvokeKura, hetzner: HetznerDouble) -> None:
    project(hetzner, *REGIONAL)
    result = kura("lb", "list")
    assert result.exit_code == 0, result.output
    for name in ("tuist-kura-eu-central-ingress", "tuist-ingress", "monitoring", "server:10"):
        assert name in result.stdout
    assert TOKEN not in result.output


def test_list_pages_through_a_large_project(kura: InvokeKura, hetzner: HetznerDouble) -> None:
    hetzner.max_per_page = 25
    hetzner.load_balancers = [load_balancer_json(i, f"lb-{i}") for i in range(1, 31)]
    result = kura("lb", "list", "-o", "yaml")
    assert result.exit_code == 0, result.output
    assert len(yaml.safe_load(result.stdout)["load_balancers"]) == 30


def test_a_missing_token_is_one_line(kura: InvokeKura) -> None:
    one_line_error(kura("lb", "list", env={"HCLOUD_TOKEN": None}), "HCLOUD_TOKEN is not set")


def test_a_plain_http_endpoint_off_loopback_is_one_line(kura: InvokeKura) -> None:
    result = kura("lb", "list", env={"HCLOUD_ENDPOINT": "http://api.hetzner.cloud/v1"})
    one_line_error(result, "HCLOUD_ENDPOINT must be an https URL (plain http only on loopback)")


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("forbidden", "403 forbidden"),
        ("rate-limited", "(429 too many requests): retry after 2030-01-02T03:04:05Z"),
        ("server-error", "HTTP 500 internal server error"),
        ("hang", f"did not answer within {TEST_TIMEOUT}s"),
    ],
)
def test_api_failures_are_one_line_and_exit_2(
    kura: InvokeKura, hetzner: HetznerDouble, mode: Any, expected: str
) -> None:
    hetzner.mode = mode
    reset = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    hetzner.rate_limit_headers = {"RateLimit-Reset": str(int(reset.timestamp()))}
    for command in (["lb", "list"], ["lb", "audit", "-o", "json"]):
        one_line_error(kura(*command, "--timeout", TEST_TIMEOUT), expected)


def test_a_wrong_token_is_401_and_never_printed(kura: InvokeKura) -> None:
    result = kura("lb", "list", env={"HCLOUD_TOKEN": TOKEN + "x"})
    one_line_error(result, "401 unauthorized")
    assert TOKEN + "x" not in result.output


def test_a_bad_timeout_is_a_usage_error(kura: InvokeKura) -> None:
    result = kura("lb", "list", "--timeout", "0")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


# --- kura lb audit -------------------------------------------------------------------------------


def test_audit_clean(kura: InvokeKura, hetzner: HetznerDouble, tmp_path: Path) -> None:
    project(hetzner, *REGIONAL, (f"tuist-{GW}-ingress", "ash"))
    gateways = tmp_path / "gateways.yaml"
    gateways.write_text(gateways_yaml((GW, "us-east")))
    result = kura("lb", "audit", "--gateways", str(gateways))
    assert result.exit_code == 0, result.output
    assert "no findings: 6 load balancer(s) against 3 region(s) of env production" in result.stdout
    assert "1 dedicated gateway(s)" in result.stdout


def test_audit_finds_exactly_the_one_orphaned_lb(kura: InvokeKura, hetzner: HetznerDouble) -> None:
    # An LB of a gateway that no longer exists, left after its customer left the Enterprise plan.
    project(hetzner, *REGIONAL, (f"tuist-{GW}-ingress", "ash"))
    result = kura("lb", "audit", "--gateways", "-", "-o", "json", input=gateways_yaml())
    assert result.exit_code == 1, result.output
    assert findings(result) == [("orphaned", f"tuist-{GW}-ingress")]
    assert result.stderr.strip() == "kura: 1 problem(s) found"
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["gateway"] == GW
    assert finding["region"] == "us-east"


def test_audit_without_gateways_does_not_judge_dedicated_lbs(
    kura: InvokeKura, hetzner: HetznerDouble
) -> None:
    project(hetzner, *REGIONAL, (f"tuist-{GW}-ingress", "ash"))
    result = kura("lb", "audit")
    assert result.exit_code == 0, result.output
    assert "no --gateways given: dedicated LBs were not checked" in result.stdout


def test_audit_wrong_location(kura: InvokeKura, hetzner: HetznerDouble) -> None:
    project(hetzner, REGIONAL[0], ("tuist-kura-us-east-ingress", "hil"), REGIONAL[2])
    result = kura("lb", "audit", "-o", "json")
    assert result.exit_code == 1
    assert findings(result) == [("wrong-location", "tuist-kura-us-east-ingress")]


def test_audit_missing_regional_lb_as_a_table(kura: InvokeKura, hetzner: HetznerDouble) -> None:
    project(hetzner, *REGIONAL[:2])
    result = kura("lb", "audit")
    assert result.exit_code == 1
    assert "missing" in result.stdout
    assert "tuist-kura-us-west-ingress" in result.stdout
    assert "kura: 1 problem(s) found" in result.stderr


def test_audit_of_staging_only_expects_eu_central(kura: InvokeKura, hetzner: HetznerDouble) -> None:
    project(hetzner, REGIONAL[0])
    result = kura("lb", "audit", "--env", "staging", "-o", "yaml")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout)["regions"] == ["eu-central"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("kind: KuraGateway\nmetadata: {name: x}\n", "gateways.yaml: invalid KuraGateway x"),
        ("kind: List\nitems: [\n", "gateways.yaml: not valid YAML"),
    ],
)
def test_audit_with_malformed_gateways(
    kura: InvokeKura, hetzner: HetznerDouble, tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "gateways.yaml"
    path.write_text(content)
    one_line_error(kura("lb", "audit", "--gateways", str(path)), expected)
    assert hetzner.requests == []  # bad input is caught before the API is asked


def test_audit_with_an_unreadable_gateways_file(kura: InvokeKura, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    one_line_error(kura("lb", "audit", "--gateways", str(missing)), "cannot read gateways file")


def test_audit_of_an_unknown_env(kura: InvokeKura) -> None:
    one_line_error(kura("lb", "audit", "--env", "moon"), "unknown env 'moon'")
