"""``kura render``: the manifests the control plane applies for an account in a region."""

from __future__ import annotations

from pathlib import Path

import click

from kura_core.cli.account_args import AccountInRegion, account_options
from kura_core.cli.context import KuraContext
from kura_core.cli.manifest_output import emit_manifests, manifest_output_option
from kura_core.cli.output import simple_table
from kura_core.cli.params import NON_EMPTY
from kura_core.control_plane import (
    DEFAULT_CONTROL_PLANE_URLS,
    EXTENSION_SCRIPT_ENV,
    control_plane_settings,
)
from kura_core.credentials import CLIENT_ID, CONTROL_PLANE_URL_ENV
from kura_core.files import read_text
from kura_core.manifests import (
    DEFAULT_IMAGE,
    MANIFEST_REVISION,
    InstanceOptions,
    render_manifests,
)


@click.command("render")
@account_options
@click.option(
    "--image", type=NON_EMPTY, default=DEFAULT_IMAGE, show_default=True, help="Kura runtime image."
)
@click.option(
    "--manifest-revision",
    type=NON_EMPTY,
    default=MANIFEST_REVISION,
    show_default=True,
    help="Value of the tuist.dev/kura-manifest-revision annotation; bump it to force a reapply.",
)
@click.option(
    "--control-plane-url",
    envvar=CONTROL_PLANE_URL_ENV,
    show_envvar=True,
    help="The Tuist server Kura nodes call for auth (https; default: the env's Tuist server, "
    + ", ".join(f"{env} {url}" for env, url in DEFAULT_CONTROL_PLANE_URLS.items())
    + ").",
)
@click.option(
    "--control-plane-client-id",
    envvar=CLIENT_ID,
    show_envvar=True,
    help="The control-plane OAuth client id (a UUID); its secret stays in kura-shared-secrets.",
)
@click.option(
    "--extension-script",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar=EXTENSION_SCRIPT_ENV,
    show_envvar=True,
    help="The Lua auth hook every instance runs (upstream's server bundles its hooks.lua).",
)
@manifest_output_option
def render_command(
    kura: KuraContext,
    target: AccountInRegion,
    image: str,
    manifest_revision: str,
    control_plane_url: str | None,
    control_plane_client_id: str | None,
    extension_script: Path | None,
    output: str,
) -> None:
    """Render the KuraGateway (dedicated gateways only) and the KuraInstance, in apply order.

    Default output is a YAML stream for `kubectl apply -f -`; -o json is a JSON list of the same
    objects (upstream wire field names); -o table summarises kind, namespace, name and ingress
    class. The gateway follows `kura assign` for the same options.

    As upstream's server, every KuraInstance carries the auth wiring: a fail-closed hook with a
    5 s budget, the control plane's URL (3 s to connect, 4 s per request), the client id when
    given, the auth hook (--extension-script; without one the instance has none, and a warning
    says so) and the manifest revision. The client secret is never rendered.
    """
    control_plane = control_plane_settings(
        control_plane_url or DEFAULT_CONTROL_PLANE_URLS.get(target.env), control_plane_client_id
    )
    script = read_text(extension_script, "extension script") if extension_script else None
    if script is None:
        click.echo(
            f"kura: warning: no --extension-script ({EXTENSION_SCRIPT_ENV}): the instance has "
            "no auth hook",
            err=True,
        )
    manifests = render_manifests(
        target.account,
        target.region,
        assignment=target.assignment,
        load_balancer_provider=kura.host.load_balancer_provider(
            target.region.load_balancer_provider
        ),
        instance=InstanceOptions(
            image=image, manifest_revision=manifest_revision, extension_script=script
        ),
        control_plane=control_plane,
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
