"""Accounts as the control plane sees them: id, handle, plan and subscription."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from kura_core.dns import require_dns_label


class Plan(StrEnum):
    """Tuist's subscription plans: ``air`` is the free plan, ``pro`` the paid one, and
    ``enterprise`` the one that grants every feature, dedicated gateways included."""

    AIR = "air"
    PRO = "pro"
    ENTERPRISE = "enterprise"


# What people call the plans, as opposed to their ids.
PLAN_ALIASES: dict[str, Plan] = {"free": Plan.AIR}

# Account ids are the control plane's primary keys, 64-bit signed integers (Postgres bigint).
MAX_ACCOUNT_ID = 2**63 - 1


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    TRIALING = "trialing"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    INCOMPLETE = "incomplete"
    UNPAID = "unpaid"


# A plan counts only while its subscription is in good standing (upstream: active or trialing).
PAYING_STATUSES = frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING})
FREE_PLAN = Plan.AIR


def _handle(value: str) -> str:
    # Handles end up in instance names and hosts, so they must already be DNS labels.
    return require_dns_label(value.lower(), "account handle")


Handle = Annotated[str, AfterValidator(_handle)]


class Account(BaseModel):
    """An account. ``handle`` is stored lowercased; ``id`` is the stable integer id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int = Field(ge=1, le=MAX_ACCOUNT_ID)
    handle: Handle
    plan: Plan = FREE_PLAN
    subscription_status: SubscriptionStatus | None = SubscriptionStatus.ACTIVE

    @property
    def effective_plan(self) -> Plan:
        """The plan on a Tuist-hosted deployment: the subscription's, or free when it lapsed."""
        if self.subscription_status in PAYING_STATUSES:
            return self.plan
        return FREE_PLAN
