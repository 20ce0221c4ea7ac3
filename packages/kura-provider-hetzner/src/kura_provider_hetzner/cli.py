"""``kura lb``: the project's Hetzner load balancers and their audit. Read-only."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Group, RenderableType

from kura_core import (
    CheckFailed,
    KuraContext,
    emit,
    env_option,
    output_option,
    pass_kura,
    read_text,
    simple_table,
)
from kura_provider_hetzner.audit import AuditReport, audit, parse_gateways
from kura_provider_hetzner.inventory import (
    DEFAULT_TIMEOUT,
    Inventory,
    settings_from_env,
)

_F = TypeVar("_F", bound=Callable[..., Any])


def timeout_option(func: _F) -> _F:
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=DEFAULT_TIMEOUT,
        show_default=True,
        help="Seconds to wait for the Hetzner API to accept a connection or to answer.",
    )(func)


def _inventory(timeout: float) -> Inventory:
    # Imported here so that every other kura command starts without loading hcloud.
    from kura_provider_hetzner.hcloud_api import fetch_inventory

    return fetch_inventory(settings_from_env(os.environ, timeout=timeout))


def _inventory_table(inventory: Inventory) -> RenderableType:
    return simple_table(
        f"Hetzner load balancers ({inventory.endpoint})",
        ["NAME", "TYPE", "LOCATION", "IPV4", "IPV6", "TARGETS", "LABELS"],
        [
            [
                lb.name,
                lb.type,
                lb.location,
                lb.public_ipv4,
                lb.public_ipv6,
                ", ".join(str(target) for target in lb.targets),
                ", ".join(f"{key}={value}" for key, value in sorted(lb.labels.items())),
            ]
            for lb in inventory.load_balancers
        ],
    )


def _audit_table(report: AuditReport) -> RenderableType:
    scope = (
        f"{len(report.gateways)} dedicated gateway(s)"
        if report.gateways is not None
        else "no --gateways given: dedicated LBs were not checked"
    )
    summary = (
        f"{report.load_balancers} load balancer(s) against {len(report.regions)} region(s) of "
        f"env {report.env} ({', '.join(report.regions) or 'none'}); {scope}"
    )
    if not report.findings:
        return f"no findings: {summary}"
    table = simple_table(
        f"Load-balancer audit ({report.env})",
        ["CHECK", "LOAD BALANCER", "REGION", "GATEWAY", "EXPECTED", "ACTUAL", "MESSAGE"],
        [
            [f.check, f.load_balancer, f.region, f.gateway, f.expected, f.actual, f.message]
            for f in report.findings
        ],
    )
    return Group(table, summary)


@click.group("lb")
def lb_group() -> None:
    """Hetzner Cloud load balancers of the token's project (read-only).

    \b
    Environment: HCLOUD_TOKEN (required; a read-only token suffices),
    HCLOUD_ENDPOINT (default https://api.hetzner.cloud/v1).
    A missing token, an API error or a timeout is one line and exit code 2.
    """


@lb_group.command("list")
@timeout_option
@output_option
def list_command(timeout: float, output: str) -> None:
    """Every load balancer: type, location, public IPs, targets and labels.

    json/yaml fields: endpoint, load_balancers[] (id, name, type, location, network_zone,
    public_ipv4, public_ipv6, labels, targets[] (type, server_id, label_selector, ip,
    use_private_ip)).
    """
    inventory = _inventory(timeout)
    emit(inventory, output, lambda: _inventory_table(inventory))


@lb_group.command("audit")
@env_option
@click.option(
    "--gateways",
    "gateways_file",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    help="KuraGateway objects as YAML, `-` for stdin: a stream of documents or a `kind: List` "
    "(`kubectl get kuragateways -n kura -o yaml`); other kinds are skipped. Without it "
    "dedicated LBs are not checked.",
)
@timeout_option
@output_option
@pass_kura
def audit_command(
    kura: KuraContext, env: str, gateways_file: Path | None, timeout: float, output: str
) -> None:
    """Find orphaned, misplaced and missing kura load balancers.

    \b
    - orphaned: named tuist-kura-<region>-ingress or tuist-kgw-<12 hex>-<region>-ingress,
      but no region of the env or KuraGateway owns it;
    - wrong-location: not in the region's location (for a dedicated LB, the gateway's
      load-balancer.hetzner.cloud/location annotation when set);
    - missing: a region's regional LB, or a dedicated gateway's LB, does not exist
      (a new gateway's LB may still be provisioning);
    - unknown-region: a KuraGateway names a region the env does not offer.
    LBs not named the kura way are ignored.

    json/yaml fields: env, regions, gateways (null without --gateways), load_balancers (count),
    findings[] (check, load_balancer, region, gateway, expected, actual, message).

    Exit codes: 0 no findings, 1 findings, 2 bad input or a Hetzner API error.
    """
    catalog = kura.catalog(env)
    gateways = None
    if gateways_file is not None:
        if str(gateways_file) == "-":
            text, source = sys.stdin.read(), "<stdin>"
        else:
            text, source = read_text(gateways_file, "gateways file"), str(gateways_file)
        gateways = parse_gateways(text, source)
    inventory = _inventory(timeout)
    report = audit(inventory.load_balancers, catalog, gateways, env=env)
    emit(report, output, lambda: _audit_table(report))
    if report.findings:
        raise CheckFailed([finding.message for finding in report.findings])
