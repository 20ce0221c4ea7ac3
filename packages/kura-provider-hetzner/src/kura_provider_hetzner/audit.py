"""The load-balancer audit: kura's Hetzner LBs against the region catalog and dedicated gateways.

A rollout ends by verifying that no Hetzner LB was orphaned. Pure: the inventory, the
catalog and the gateways go in, findings come out. Only LBs named the kura way
(``tuist-kura-<region>-ingress``, ``tuist-kgw-<12 hex>-<region>-ingress``) or named by a gateway
are judged; every other LB of the project is someone else's and ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kura_core import (
    GATEWAY_KIND,
    InputError,
    KuraGateway,
    RegionCatalog,
    dedicated_load_balancer_name,
    list_items,
    parse_gateway,
    parse_yaml_stream,
    regional_load_balancer_name,
)
from kura_provider_hetzner.inventory import HetznerLoadBalancer
from kura_provider_hetzner.load_balancer import HetznerLoadBalancerProvider

_REGION = r"(?P<region>[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)"
REGIONAL_NAME = re.compile(rf"^tuist-kura-{_REGION}-ingress$")
DEDICATED_NAME = re.compile(rf"^tuist-(?P<gateway>kgw-[0-9a-f]{{12}}-{_REGION})-ingress$")

Check = Literal["missing", "wrong-location", "orphaned", "unknown-region"]
CHECKS: tuple[Check, ...] = ("missing", "wrong-location", "orphaned", "unknown-region")


class Finding(BaseModel):
    """One problem with one load balancer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    check: Check
    load_balancer: str = Field(description="The LB's name, found or expected")
    region: str | None = None
    gateway: str | None = Field(default=None, description="The dedicated gateway, if any")
    expected: str | None = None
    actual: str | None = None
    message: str


class AuditReport(BaseModel):
    """What ``kura lb audit`` found."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    env: str
    regions: list[str] = Field(description="Regions of the env served by Hetzner LBs")
    gateways: list[str] | None = Field(
        description="Dedicated gateways checked; null when none were given, so dedicated LBs "
        "were neither expected nor judged orphaned"
    )
    load_balancers: int = Field(description="LBs in the project, kura's and others'")
    findings: list[Finding]


@dataclass(frozen=True)
class _Expected:
    name: str
    region: str
    location: str | None
    gateway: str | None = None
    deleting: bool = False


def is_kura_name(name: str) -> bool:
    """Whether ``name`` follows kura's regional or dedicated LB naming."""
    return bool(REGIONAL_NAME.match(name) or DEDICATED_NAME.match(name))


def _expected(
    catalog: RegionCatalog, gateways: Sequence[KuraGateway], provider: str
) -> tuple[dict[str, _Expected], list[Finding]]:
    expected: dict[str, _Expected] = {}
    findings: list[Finding] = []
    for served in catalog:
        if served.load_balancer_provider == provider:
            name = regional_load_balancer_name(served.id)
            expected[name] = _Expected(name, served.id, served.location)
    for gateway in gateways:
        gw, region_id = gateway.metadata.name, gateway.spec.region
        # The name and location come from the gateway's name and region, never its annotations.
        name = dedicated_load_balancer_name(gw)
        region = catalog.get(region_id) if region_id in catalog else None
        if region is not None and region.load_balancer_provider != provider:
            continue
        if region is None:
            findings.append(
                Finding(
                    check="unknown-region",
                    load_balancer=name,
                    region=region_id,
                    gateway=gw,
                    expected=", ".join(catalog.ids) or None,
                    actual=region_id,
                    message=f"dedicated gateway {gw} names region {region_id}, which the env "
                    "does not offer",
                )
            )
        location = region.location if region else None
        deleting = gateway.metadata.deletion_timestamp is not None
        expected[name] = _Expected(name, region_id, location, gw, deleting)
    return expected, findings


def _regional_orphan(lb: HetznerLoadBalancer, region: str, catalog: RegionCatalog) -> Finding:
    why = (
        f"region {region} is not served by Hetzner LBs"
        if region in catalog
        else f"the env does not offer region {region}"
    )
    return Finding(
        check="orphaned",
        load_balancer=lb.name,
        region=region,
        actual=lb.location,
        message=f"{lb.name} ({lb.location}) is named as region {region}'s LB, but {why}",
    )


def _dedicated_orphan(lb: HetznerLoadBalancer, gateway: str, region: str) -> Finding:
    return Finding(
        check="orphaned",
        load_balancer=lb.name,
        region=region,
        gateway=gateway,
        actual=lb.location,
        message=f"{lb.name} ({lb.location}) is named as dedicated gateway {gateway}'s LB, but no "
        "such KuraGateway exists",
    )


def _missing(want: _Expected) -> Finding:
    if want.gateway is None:
        message = (
            f"no load balancer {want.name} for region {want.region}: is its regional "
            "ingress-nginx enabled and its LoadBalancer Service provisioned?"
        )
    else:
        message = (
            f"no load balancer {want.name} for dedicated gateway {want.gateway} "
            f"(region {want.region}); it may still be provisioning"
        )
    return Finding(
        check="missing",
        load_balancer=want.name,
        region=want.region,
        gateway=want.gateway,
        expected=want.location,
        message=message,
    )


def audit(
    load_balancers: Sequence[HetznerLoadBalancer],
    catalog: RegionCatalog,
    gateways: Sequence[KuraGateway] | None,
    *,
    env: str,
    provider: str = HetznerLoadBalancerProvider.name,
) -> AuditReport:
    """Missing, misplaced and orphaned kura LBs.

    ``gateways`` is ``None`` when the dedicated gateways are unknown: dedicated LBs are then not
    judged at all, rather than every one of them reported as orphaned.
    """
    expected, findings = _expected(catalog, gateways or (), provider)
    present = {lb.name for lb in load_balancers}
    for lb in load_balancers:
        want = expected.get(lb.name)
        if want is None:
            regional = REGIONAL_NAME.match(lb.name)
            dedicated = DEDICATED_NAME.match(lb.name) if gateways is not None else None
            if regional:
                findings.append(_regional_orphan(lb, regional["region"], catalog))
            elif dedicated:
                findings.append(_dedicated_orphan(lb, dedicated["gateway"], dedicated["region"]))
        elif want.location is not None and lb.location != want.location:
            owner = f"gateway {want.gateway}" if want.gateway else f"region {want.region}"
            findings.append(
                Finding(
                    check="wrong-location",
                    load_balancer=lb.name,
                    region=want.region,
                    gateway=want.gateway,
                    expected=want.location,
                    actual=lb.location,
                    message=f"{lb.name} is in {lb.location}, but {owner} expects "
                    f"{want.location}; a location cannot change: recreate the LB (new IPs)",
                )
            )
    findings.extend(
        _missing(want)
        for want in expected.values()
        if want.name not in present and not want.deleting
    )
    findings.sort(key=lambda f: (CHECKS.index(f.check), f.load_balancer))
    return AuditReport(
        env=env,
        regions=[r.id for r in catalog if r.load_balancer_provider == provider],
        gateways=None if gateways is None else [g.metadata.name for g in gateways],
        load_balancers=len(load_balancers),
        findings=findings,
    )


def _gateway_documents(document: Any, source: str) -> list[Mapping[str, Any]]:
    if not isinstance(document, Mapping):
        raise InputError(f"{source}: expected Kubernetes objects, got a {type(document).__name__}")
    return [item for item in list_items(document, source) if item.get("kind") == GATEWAY_KIND]


def parse_gateways(text: str, source: str) -> list[KuraGateway]:
    """KuraGateways from a YAML stream or a ``kind: List`` (``kubectl get kuragateways -o yaml``).

    Objects of other kinds are skipped; a malformed KuraGateway is one :class:`InputError`.
    """
    gateways: list[KuraGateway] = []
    for document in parse_yaml_stream(text, source):
        for data in _gateway_documents(document, source):
            try:
                gateways.append(parse_gateway(data))
            except InputError as exc:
                raise InputError(f"{source}: {exc}") from None
    return gateways
