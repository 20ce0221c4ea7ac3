"""``kura instance``: preview how public traffic reaches KuraInstances, with no cluster."""

from __future__ import annotations

from typing import Any

import click

from kura_core.cli.context import KuraContext, env_option, pass_kura
from kura_core.cli.manifest_output import manifest_output_option
from kura_core.cli.resource_input import emit_rendered, objects_of_kind, source_argument
from kura_core.resources import INSTANCE_KIND, parse_instance


@click.group("instance")
def instance_group() -> None:
    """Preview what the ingress providers render for KuraInstances."""


@instance_group.command("render")
@source_argument
@click.option(
    "--cluster-issuer",
    default=None,
    help="cert-manager ClusterIssuer of the TLS Certificates. Default: the ingress "
    "provider's (ingress-nginx: letsencrypt-cloudflare); an empty value renders no Certificates.",
)
@env_option
@manifest_output_option
@pass_kura
def render_command(
    kura: KuraContext,
    source: str,
    allow_empty: bool,
    cluster_issuer: str | None,
    env: str,
    output: str,
) -> None:
    """Render the ingress objects of every KuraInstance in FILE (default: stdin), in apply order.

    Documents of other kinds are skipped, so `kura render ... | kura instance render -` works.
    Each instance's spec.region is looked up in the env's catalog and that region's ingress
    provider renders the objects (ingress-nginx: Ingresses and cert-manager Certificates).
    Read-only: nothing is sent to a cluster. An instance never applied has no uid, so its
    preview has no owner references.

    Default output is a YAML stream for `kubectl apply -f -`; -o json is a JSON list of the same
    objects (Kubernetes wire format); -o table summarises instance, kind, namespace and name.
    Exit code 1 when the input holds no KuraInstance, unless --allow-empty; 2 for malformed
    YAML, an invalid KuraInstance or a region the env does not offer.
    """
    instances = [parse_instance(document) for document in objects_of_kind(source, INSTANCE_KIND)]
    rendered: list[tuple[str, dict[str, Any]]] = []
    for instance in instances:
        region = kura.region(env, instance.spec.region)
        provider = kura.host.ingress_provider(region.ingress_provider)
        objects = provider.render_instance_ingress(instance, cluster_issuer=cluster_issuer)
        rendered.extend((instance.metadata.name, obj) for obj in objects)
    emit_rendered(
        rendered,
        output,
        kind=INSTANCE_KIND,
        found=len(instances),
        title=f"Instance ingress objects ({env})",
        allow_empty=allow_empty,
    )
