"""The account and region options that ``kura assign`` and ``kura render`` share."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import click
from pydantic import ValidationError

from kura_core.accounts import MAX_ACCOUNT_ID, PLAN_ALIASES, Account, Plan, SubscriptionStatus
from kura_core.assignment import (
    HOSTED_ENVS,
    OVERRIDES_ENV,
    GatewayAssignment,
    assign_gateway,
    hosted_from_env,
    parse_overrides,
)
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


class PlanChoice(click.Choice[str]):
    """The plan ids, and the names people use for them (``free`` is ``air``)."""

    def __init__(self) -> None:
        super().__init__([plan.value for plan in Plan], case_sensitive=False)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        alias = PLAN_ALIASES.get(str(value).lower())
        return super().convert(alias.value if alias else value, param, ctx)

    def get_invalid_choice_message(self, value: Any, ctx: click.Context | None) -> str:
        return f"{value!r} is not a plan: use air (the free plan, also 'free'), pro or enterprise"


# Ids name dedicated gateways, so an id the control plane cannot hold is refused up front.
ACCOUNT_ID = click.IntRange(1, MAX_ACCOUNT_ID)

# Flags whose name differs from the Account field they fill.
_FLAGS = {"id": "--account-id"}

_ACCOUNT_OPTIONS = [
    click.option("--account-id", type=ACCOUNT_ID, required=True, help="The account's integer id."),
    click.option("--handle", required=True, help="The account handle (a DNS label)."),
    click.option(
        "--plan",
        type=PlanChoice(),
        default=Plan.AIR.value,
        show_default=True,
        help="The account's subscription plan: air (the free plan; 'free' is accepted too), "
        "pro, or enterprise (the one entitled to a dedicated gateway).",
    ),
    click.option(
        "--subscription-status",
        type=click.Choice([status.value for status in SubscriptionStatus] + ["none"]),
        default=SubscriptionStatus.ACTIVE.value,
        show_default=True,
        help="Only active and trialing subscriptions count; others fall back to the free plan "
        "(air).",
    ),
    click.option("--region", "region_id", required=True, help="Region id, e.g. us-east."),
    click.option("--env", default=default_env, show_default="production, or $KURA_ENV"),
    click.option(
        "--hosted/--self-hosted",
        default=None,
        show_default=f"hosted when {' or '.join(HOSTED_ENVS)} is 1/true/yes, else self-hosted",
        help="Tuist-hosted (an Enterprise plan dedicates a gateway) or self-hosted (only "
        f"{OVERRIDES_ENV} dedicates).",
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
        hosted: bool | None,
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
            flag = _FLAGS.get(field, f"--{field.replace('_', '-')}")
            message = str(first["msg"]).removeprefix("Value error, ")
            raise InputError(f"invalid {flag}: {message}") from None
        region = kura.region(env, region_id)
        if hosted is None:
            hosted = hosted_from_env(os.environ)
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
