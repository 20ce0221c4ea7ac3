"""The account and region options that ``kura assign`` and ``kura render`` share."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import click
from pydantic import ValidationError

from kura_core.accounts import Account, Plan, SubscriptionStatus
from kura_core.assignment import OVERRIDES_ENV, GatewayAssignment, assign_gateway, parse_overrides
from kura_core.cli.context import KuraContext, default_env
from kura_core.errors import InputError
from kura_core.regions import Region

_F = TypeVar("_F", bound=Callable[..., Any])


@dataclass(frozen=True)
class AccountInRegion:
    """An account, the region it asked for, and the gateway policy gives it there."""

    account: Account
    region: Region
    env: str
    hosted: bool
    assignment: GatewayAssignment


_ACCOUNT_OPTIONS = [
    click.option("--account-id", type=int, required=True, help="The account's integer id."),
    click.option("--handle", required=True, help="The account handle (a DNS label)."),
    click.option(
        "--plan",
        type=click.Choice([plan.value for plan in Plan]),
        default=Plan.AIR.value,
        show_default=True,
        help="The account's subscription plan.",
    ),
    click.option(
        "--subscription-status",
        type=click.Choice([status.value for status in SubscriptionStatus] + ["none"]),
        default=SubscriptionStatus.ACTIVE.value,
        show_default=True,
        help="Only active and trialing subscriptions count; others fall back to the free plan.",
    ),
    click.option("--region", "region_id", required=True, help="Region id, e.g. us-east."),
    click.option("--env", default=default_env, show_default="production, or $KURA_ENV"),
    click.option(
        "--self-hosted",
        is_flag=True,
        help="A self-hosted deployment: entitlements allow everything, only overrides dedicate.",
    ),
]


def account_options(func: _F) -> _F:
    """Adds the account options and passes one ``target: AccountInRegion`` argument instead."""

    def wrapper(
        kura: KuraContext,
        /,
        account_id: int,
        handle: str,
        plan: str,
        subscription_status: str,
        region_id: str,
        env: str,
        self_hosted: bool,
        **kwargs: Any,
    ) -> Any:
        try:
            account = Account(
                id=account_id,
                handle=handle,
                plan=Plan(plan),
                subscription_status=(
                    None
                    if subscription_status == "none"
                    else SubscriptionStatus(subscription_status)
                ),
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            message = str(first["msg"]).removeprefix("Value error, ")
            raise InputError(f"invalid --{field.replace('_', '-')}: {message}") from None
        region = kura.region(env, region_id)
        hosted = not self_hosted
        assignment = assign_gateway(
            account,
            region,
            hosted=hosted,
            overrides=parse_overrides(os.environ.get(OVERRIDES_ENV)),
        )
        target = AccountInRegion(
            account=account, region=region, env=env, hosted=hosted, assignment=assignment
        )
        return func(kura, target, **kwargs)

    # Keeps the command's docstring (its help) and the options declared on it.
    functools.update_wrapper(wrapper, func)
    command: Callable[..., Any] = click.pass_obj(wrapper)
    for option in reversed(_ACCOUNT_OPTIONS):
        command = option(command)
    return cast(_F, command)
