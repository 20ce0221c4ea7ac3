"""``kura gateway``: preview gateways as their providers build them, with no cluster.

``render`` turns KuraGateway objects into the child objects the operator would apply;
``values`` prints the platform chart values of every shared regional gateway of an env. Both ask
each region's ingress and load-balancer providers, so they know no provider's details.
"""

from __future__ import annotations

from typing import Any

import click
from rich.console import RenderableType

from kura_core.cli.context import KuraContext, env_option, pass_kura
from kura_core.cli.manifest_output import manifest_output_option
from kura_core.cli.output import emit, simple_table, yaml_output_option
from kura_core.cli.resource_input import emit_rendered, objects_of_kind, source_argument
from kura_core.errors import InputError
from kura_core.names import require_own_load_balancer
from kura_core.providers import DEFAULT_GATEWAY_SERVICE_ACCOUNT, ignored_annotations_warning
from kura_core.resources import GATEWAY_KIND, parse_gateway


@click.group("gateway")
def gateway_group() -> None:
    """Preview dedicated gateways' objects and the shared gateways' chart values."""


@gateway_group.command("render")
@source_argument
@click.option(
    "--service-account-name",
    default=DEFAULT_GATEWAY_SERVICE_ACCOUNT,
    show_default=True,
    help="ServiceAccount the gateway controller pods run as (the operator's "
    "--gateway-service-account-name).",
)
@env_option
@manifest_output_option
@pass_kura
def render_command(
    kura: KuraContext,
    source: str,
    allow_empty: bool,
    service_account_name: str,
    env: str,
    output: str,
) -> None:
    """Render the child objects of every KuraGateway in FILE (default: stdin), in apply order.

    Documents of other kinds are skipped, so `kura render ... | kura gateway render -` works.
    Each gateway's spec.region is looked up in the env's catalog and its providers render the
    objects. Read-only: nothing is sent to a cluster. A gateway never applied has no uid, so its
    preview has no owner references.

    Default output is a YAML stream for `kubectl apply -f -`; -o json is a JSON list of the same
    objects (Kubernetes wire format); -o table summarises gateway, kind, namespace and name.
    Exit code 1 when the input holds no KuraGateway (a shared-gateway account's manifests),
    unless --allow-empty; 2 for malformed YAML, an invalid KuraGateway or a region the env does
    not offer.
    """
    gateways = [parse_gateway(document) for document in objects_of_kind(source, GATEWAY_KIND)]
    rendered: list[tuple[str, dict[str, Any]]] = []
    for gateway in gateways:
        region = kura.region(env, gateway.spec.region)
        require_own_load_balancer(gateway.metadata.name, kura.catalog(env).ids)
        provider = kura.host.ingress_provider(region.ingress_provider)
        load_balancer = kura.host.load_balancer_provider(region.load_balancer_provider)
        if ignored := ignored_annotations_warning(gateway, region, load_balancer):
            # As the operator's Warning Event says it: the preview shows the values kept.
            click.echo(f"kura: warning: KuraGateway {gateway.metadata.name}: {ignored}", err=True)
        children = provider.render_gateway(
            gateway,
            region=region,
            load_balancer=load_balancer,
            service_account_name=service_account_name,
        )
        rendered.extend((gateway.metadata.name, child) for child in children)
    emit_rendered(
        rendered,
        output,
        kind=GATEWAY_KIND,
        found=len(gateways),
        title=f"Gateway objects ({env})",
        allow_empty=allow_empty,
    )


@gateway_group.command("values")
@env_option
@yaml_output_option("yaml: a values file for `helm -f`; json: the same values; table: a summary.")
@pass_kura
def values_command(kura: KuraContext, env: str, output: str) -> None:
    """Print the platform chart values of every shared regional gateway of the env.

    Each region's ingress provider gives its values block(s) (ingress-nginx:
    kura-<region>-ingress-nginx), with the Service annotations of the region's load-balancer
    provider; the blocks are merged into one mapping. The output passes
    `kura drift --values <file>` for the same env. Read-only.

    Default output is YAML for `helm -f`; -o json is the same mapping; -o table lists region,
    values block and providers.
    """
    catalog = kura.catalog(env)
    values: dict[str, Any] = {}
    rows: list[list[str]] = []
    for region in catalog:
        provider = kura.host.ingress_provider(region.ingress_provider)
        blocks = provider.shared_gateway_values(
            region,
            load_balancer=kura.host.load_balancer_provider(region.load_balancer_provider),
        )
        clashes = sorted(set(blocks) & set(values))
        if clashes:
            raise InputError(
                f"region {region.id}: values block(s) {', '.join(clashes)} already come from "
                "another region"
            )
        values.update(blocks)
        rows.extend(
            [region.id, key, region.ingress_provider, region.load_balancer_provider]
            for key in blocks
        )

    def table() -> RenderableType:
        return simple_table(
            f"Shared gateway values ({env})",
            ["REGION", "VALUES BLOCK", "INGRESS PROVIDER", "LOAD BALANCER PROVIDER"],
            rows,
        )

    emit(values, output, table)
