"""``kura assign``: which gateway an account gets in a region, and why."""

from __future__ import annotations

import click

from kura_core.cli.account_args import AccountInRegion, account_options
from kura_core.cli.context import KuraContext
from kura_core.cli.output import emit, output_option, simple_table


@click.command("assign")
@account_options
@output_option
def assign_command(kura: KuraContext, target: AccountInRegion, output: str) -> None:
    """Show the gateway policy assigns to an account in a region.

    As upstream, the deployment is Tuist-hosted only when TUIST_HOSTED or TUIST_CLOUD_HOSTED
    is 1, true or yes (--hosted/--self-hosted decide instead); then an Enterprise plan gets a
    dedicated gateway. Accounts listed in
    TUIST_KURA_DEDICATED_GATEWAY_ACCOUNTS (comma-separated handles) always get a dedicated
    gateway. JSON keys: mode (shared|dedicated), region, gateway (null when shared),
    ingress_class, load_balancer_name, reason.
    """
    assignment = target.assignment
    emit(
        assignment,
        output,
        lambda: simple_table(
            f"Gateway for {target.account.handle} in {target.region.id} ({target.env})",
            ["MODE", "GATEWAY", "INGRESS CLASS", "LOAD BALANCER", "REASON"],
            [
                [
                    assignment.mode.value,
                    assignment.gateway or "-",
                    assignment.ingress_class,
                    assignment.load_balancer_name,
                    assignment.reason,
                ]
            ],
        ),
    )
