"""``kura render``: the manifests the control plane applies for an account in a region."""

from __future__ import annotations

import click

from kura_core.cli.account_args import AccountInRegion, account_options
from kura_core.cli.context import KuraContext
from kura_core.cli.manifest_output import emit_manifests, manifest_output_option
from kura_core.cli.output import simple_table
from kura_core.cli.params import NON_EMPTY
from kura_core.manifests import DEFAULT_IMAGE, render_manifests


@click.command("render")
@account_options
@click.option(
    "--image", type=NON_EMPTY, default=DEFAULT_IMAGE, show_default=True, help="Kura runtime image."
)
@click.option(
    "--manifest-revision",
    help="Value of the tuist.dev/kura-manifest-revision annotation; bump it to force a reapply.",
)
@manifest_output_option
def render_command(
    kura: KuraContext,
    target: AccountInRegion,
    image: str,
    manifest_revision: str | None,
    output: str,
) -> None:
    """Render the KuraGateway (dedicated gateways only) and the KuraInstance, in apply order.

    Default output is a YAML stream for `kubectl apply -f -`; -o json is a JSON list of the same
    objects (upstream wire field names); -o table summarises kind, namespace, name and ingress
    class. The gateway follows `kura assign` for the same options.
    """
    manifests = render_manifests(
        target.account,
        target.region,
        assignment=target.assignment,
        load_balancer_provider=kura.host.load_balancer_provider(
            target.region.load_balancer_provider
        ),
        image=image,
        manifest_revision=manifest_revision,
    )
    emit_manifests(
        manifests,
        output,
        lambda: simple_table(
            f"Manifests for {target.account.handle} in {target.region.id} ({target.env})",
            ["KIND", "NAMESPACE", "NAME", "INGRESS CLASS"],
            [
                [
                    m["kind"],
                    m["metadata"].get("namespace"),
                    m["metadata"]["name"],
                    m["spec"].get("ingressClassName"),
                ]
                for m in manifests
            ],
        ),
    )
