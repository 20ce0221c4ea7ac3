"""The load-balancer audit, pure: inventory records, a catalog and gateways in, findings out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from kura_core.errors import InputError
from kura_core.names import gateway_name, regional_load_balancer_name
from kura_core.regions import Region, RegionCatalog, managed_catalogs
from kura_core.resources import KuraGateway, parse_gateway
from kura_provider_hetzner.audit import AuditReport, audit, is_kura_name, parse_gateways
from kura_provider_hetzner.inventory import HetznerLoadBalancer

PRODUCTION = managed_catalogs()["production"]
GW_US_EAST = gateway_name(42, "us-east")  # kgw-<12 hex>-us-east


def lb(name: str, location: str) -> HetznerLoadBalancer:
    return HetznerLoadBalancer(id=len(name), name=name, type="lb11", location=location)


def regional_lbs(catalog: RegionCatalog = PRODUCTION) -> list[HetznerLoadBalancer]:
    return [lb(regional_load_balancer_name(r.id), r.location) for r in catalog]


def gateway_doc(name: str, region: str, **annotations: str) -> dict[str, Any]:
    """A KuraGateway as the Tuist server applies it (docs/upstream.md)."""
    return {
        "apiVersion": "kura.tuist.dev/v1alpha1",
        "kind": "KuraGateway",
        "metadata": {"name": name, "namespace": "kura"},
        "spec": {
            "region": region,
            "ingressClassName": f"kura-{region}-{name}",
            "loadBalancerAnnotations": {
                "load-balancer.hetzner.cloud/name": f"tuist-{name}-ingress",
                "load-balancer.hetzner.cloud/uses-proxyprotocol": "true",
                **{f"load-balancer.hetzner.cloud/{k}": v for k, v in annotations.items()},
            },
        },
    }


def gateway(name: str, region: str, **annotations: str) -> KuraGateway:
    return parse_gateway(gateway_doc(name, region, **annotations))


def checks(report: AuditReport) -> list[tuple[str, str]]:
    return [(f.check, f.load_balancer) for f in report.findings]


def test_the_expected_lbs_in_their_locations_are_clean_and_other_lbs_are_ignored() -> None:
    inventory = [
        *regional_lbs(),
        lb(f"tuist-{GW_US_EAST}-ingress", "ash"),
        lb("tuist-ingress", "fsn1"),  # the main web ingress: not kura's
        lb("tuist-kura-ingress", "fsn1"),  # no region in the name: not kura's pattern
        lb("grafana", "nbg1"),
    ]
    report = audit(inventory, PRODUCTION, [gateway(GW_US_EAST, "us-east")], env="production")
    assert report.findings == []
    assert report.regions == ["eu-central", "us-east", "us-west"]
    assert report.gateways == [GW_US_EAST]
    assert report.load_balancers == 7


def test_a_regional_lb_of_a_region_the_env_does_not_offer_is_orphaned() -> None:
    # The old standalone regional clusters' LBs, left behind after the consolidation.
    inventory = [*regional_lbs(), lb("tuist-kura-eu-west-ingress", "nbg1")]
    report = audit(inventory, PRODUCTION, [], env="production")
    (finding,) = report.findings
    assert (finding.check, finding.load_balancer, finding.region) == (
        "orphaned",
        "tuist-kura-eu-west-ingress",
        "eu-west",
    )
    assert finding.actual == "nbg1"
    assert "does not offer region eu-west" in finding.message


def test_staging_judges_production_only_regions_orphaned() -> None:
    report = audit(regional_lbs(), managed_catalogs()["staging"], [], env="staging")
    assert checks(report) == [
        ("orphaned", "tuist-kura-us-east-ingress"),
        ("orphaned", "tuist-kura-us-west-ingress"),
    ]


def test_a_dedicated_lb_without_its_gateway_is_orphaned_only_when_gateways_are_known() -> None:
    stray = lb("tuist-kgw-0123456789ab-us-east-ingress", "ash")
    known = audit([*regional_lbs(), stray], PRODUCTION, [], env="production")
    (finding,) = known.findings
    assert (finding.check, finding.gateway, finding.region) == (
        "orphaned",
        "kgw-0123456789ab-us-east",
        "us-east",
    )
    unknown = audit([*regional_lbs(), stray], PRODUCTION, None, env="production")
    assert unknown.findings == []
    assert unknown.gateways is None


def test_a_regional_lb_in_the_wrong_location() -> None:
    inventory = [lb(regional_load_balancer_name(r.id), r.location) for r in PRODUCTION]
    inventory[1] = lb("tuist-kura-us-east-ingress", "fsn1")
    (finding,) = audit(inventory, PRODUCTION, None, env="production").findings
    assert (finding.check, finding.expected, finding.actual) == ("wrong-location", "ash", "fsn1")
    assert "recreate" in finding.message


def test_a_dedicated_lb_belongs_in_its_region_whatever_its_annotations_say() -> None:
    # The gateway's Service gets the region's location and the derived name (the provider
    # ignores annotations that say otherwise), so that is where the audit expects its LB.
    doc = gateway_doc(GW_US_EAST, "us-east", location="hil")
    doc["spec"]["loadBalancerAnnotations"]["load-balancer.hetzner.cloud/name"] = "custom-lb"
    pinned = parse_gateway(doc)
    right = audit(
        [*regional_lbs(), lb(f"tuist-{GW_US_EAST}-ingress", "ash")],
        PRODUCTION,
        [pinned],
        env="production",
    )
    assert right.findings == []
    wrong = audit(
        [*regional_lbs(), lb(f"tuist-{GW_US_EAST}-ingress", "hil")],
        PRODUCTION,
        [pinned],
        env="production",
    )
    assert [(f.check, f.gateway, f.expected, f.actual) for f in wrong.findings] == [
        ("wrong-location", GW_US_EAST, "ash", "hil")
    ]


def test_without_a_location_annotation_a_dedicated_lb_belongs_in_its_region() -> None:
    unpinned = parse_gateway(
        gateway_doc(GW_US_EAST, "us-east")
        | {"spec": {"region": "us-east", "ingressClassName": "kura-us-east-x"}}
    )
    report = audit(
        [*regional_lbs(), lb(f"tuist-{GW_US_EAST}-ingress", "fsn1")],
        PRODUCTION,
        [unpinned],
        env="production",
    )
    assert [(f.check, f.expected) for f in report.findings] == [("wrong-location", "ash")]


def test_missing_regional_and_dedicated_lbs() -> None:
    inventory = [lb for lb in regional_lbs() if lb.name != "tuist-kura-us-west-ingress"]
    report = audit(inventory, PRODUCTION, [gateway(GW_US_EAST, "us-east")], env="production")
    assert checks(report) == [
        ("missing", f"tuist-{GW_US_EAST}-ingress"),
        ("missing", "tuist-kura-us-west-ingress"),
    ]
    dedicated, regional = report.findings
    assert dedicated.gateway == GW_US_EAST
    assert "may still be provisioning" in dedicated.message
    assert (regional.region, regional.expected, regional.gateway) == ("us-west", "hil", None)


def test_a_gateway_being_deleted_is_not_missing_its_lb_but_still_owns_it() -> None:
    doc = gateway_doc(GW_US_EAST, "us-east")
    doc["metadata"]["deletionTimestamp"] = datetime(2026, 5, 1, tzinfo=UTC).isoformat()
    deleting = parse_gateway(doc)
    assert audit(regional_lbs(), PRODUCTION, [deleting], env="production").findings == []
    still_there = [*regional_lbs(), lb(f"tuist-{GW_US_EAST}-ingress", "ash")]
    assert audit(still_there, PRODUCTION, [deleting], env="production").findings == []


def test_a_gateway_in_a_region_the_env_does_not_offer() -> None:
    stray = gateway("kgw-0123456789ab-ap-southeast", "ap-southeast")
    report = audit(
        [*regional_lbs(), lb("tuist-kgw-0123456789ab-ap-southeast-ingress", "sin")],
        PRODUCTION,
        [stray],
        env="production",
    )
    assert checks(report) == [("unknown-region", "tuist-kgw-0123456789ab-ap-southeast-ingress")]


def test_regions_served_by_another_load_balancer_provider_are_not_hetzners_business() -> None:
    other = Region(
        id="lab-1",
        display_name="Lab",
        location="dc1",
        node_pool="lab",
        load_balancer_provider="other-cloud",
    )
    catalog = RegionCatalog([*PRODUCTION, other])
    report = audit(
        regional_lbs(PRODUCTION), catalog, [gateway(gateway_name(7, "lab-1"), "lab-1")], env="x"
    )
    assert report.findings == []
    assert "lab-1" not in report.regions


def test_findings_come_in_check_order_then_by_name() -> None:
    inventory = [
        lb("tuist-kura-zz-ingress", "fsn1"),
        lb("tuist-kura-aa-ingress", "fsn1"),
        lb("tuist-kura-eu-central-ingress", "hel1"),
    ]
    report = audit(inventory, PRODUCTION, [], env="production")
    assert checks(report) == [
        ("missing", "tuist-kura-us-east-ingress"),
        ("missing", "tuist-kura-us-west-ingress"),
        ("wrong-location", "tuist-kura-eu-central-ingress"),
        ("orphaned", "tuist-kura-aa-ingress"),
        ("orphaned", "tuist-kura-zz-ingress"),
    ]


@pytest.mark.parametrize(
    ("name", "kura"),
    [
        ("tuist-kura-us-east-ingress", True),
        ("tuist-kgw-1a2b3c4d5e6f-us-east-ingress", True),
        ("tuist-kgw-1a2b3c4d5e6-us-east-ingress", False),  # 11 hex
        ("tuist-kgw-1A2B3C4D5E6F-us-east-ingress", False),  # upper case is not a hash
        ("tuist-ingress", False),
        ("tuist-kura-us-east-ingress-old", False),
        ("kura-us-east", False),
    ],
)
def test_kura_names(name: str, kura: bool) -> None:
    assert is_kura_name(name) is kura


region_ids = st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4})?", fullmatch=True)


@given(
    regions=st.lists(region_ids, min_size=1, max_size=5, unique=True),
    dropped=st.integers(min_value=0, max_value=4),
)
def test_dropping_any_expected_lb_gives_exactly_that_missing_finding(
    regions: list[str], dropped: int
) -> None:
    catalog = RegionCatalog(
        Region(id=rid, display_name=rid, location=f"loc{i}", node_pool=rid)
        for i, rid in enumerate(regions)
    )
    everything = regional_lbs(catalog)
    assert audit(everything, catalog, [], env="p").findings == []
    gone = everything[dropped % len(everything)]
    rest = [lb for lb in everything if lb is not gone]
    report = audit(rest, catalog, [], env="p")
    assert checks(report) == [("missing", gone.name)]


# --- --gateways input ---------------------------------------------------------------------------


def test_gateways_from_a_yaml_stream_skip_other_kinds() -> None:
    text = yaml.safe_dump_all(
        [
            gateway_doc(GW_US_EAST, "us-east"),
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
            gateway_doc("kgw-0123456789ab-us-west", "us-west"),
        ]
    )
    names = [g.metadata.name for g in parse_gateways(text, "gw.yaml")]
    assert names == [GW_US_EAST, "kgw-0123456789ab-us-west"]


@pytest.mark.parametrize("kind", ["List", "KuraGatewayList"])
def test_gateways_from_a_list_as_kubectl_prints_it(kind: str) -> None:
    listed = gateway_doc(GW_US_EAST, "us-east")
    listed["status"] = {"phase": "Ready", "loadBalancer": "203.0.113.7", "readyReplicas": 2}
    listed["metadata"] |= {"uid": "abc", "resourceVersion": "12", "managedFields": [{}]}
    text = yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": kind,
            "items": [listed, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}],
            "metadata": {"resourceVersion": ""},
        }
    )
    (found,) = parse_gateways(text, "-")
    assert found.metadata.name == GW_US_EAST
    assert found.status is not None
    assert found.status.load_balancer == "203.0.113.7"


def test_an_empty_list_has_no_gateways() -> None:
    assert parse_gateways("apiVersion: v1\nkind: List\nitems: []\n", "gw.yaml") == []
    assert parse_gateways("", "gw.yaml") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (yaml.safe_dump(gateway_doc("Not_A_Name", "us-east")), "gw.yaml: invalid KuraGateway"),
        ("kind: KuraGateway\nspec: [1\n", "gw.yaml: not valid YAML"),
        ("- just\n- a list\n", "gw.yaml: expected Kubernetes objects, got a list"),
        ("kind: List\nitems: [1, 2]\n", "gw.yaml: List items must be a list of objects"),
    ],
)
def test_malformed_gateways_are_one_input_error(text: str, expected: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_gateways(text, "gw.yaml")
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)
