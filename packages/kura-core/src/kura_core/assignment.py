"""Which gateway an account gets in a region, and why.

dedicated = the handle is on the override list
            OR (the deployment is Tuist-hosted AND the account is entitled to a dedicated gateway)

As upstream, a deployment is Tuist-hosted only when ``TUIST_HOSTED`` or ``TUIST_CLOUD_HOSTED``
holds one of upstream's truthy spellings; both unset means self-hosted, where only the override
list dedicates a gateway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from kura_core.accounts import Account
from kura_core.entitlements import Entitlements, Feature
from kura_core.names import (
    dedicated_ingress_class,
    dedicated_load_balancer_name,
    gateway_name,
    regional_load_balancer_name,
)
from kura_core.regions import Region

OVERRIDES_ENV = "TUIST_KURA_DEDICATED_GATEWAY_ACCOUNTS"
HOSTED_ENVS: tuple[str, ...] = ("TUIST_HOSTED", "TUIST_CLOUD_HOSTED")
# Upstream's spellings of "on", exactly: anything else (including "True" or "on") is off.
TRUTHY_VALUES = frozenset({"1", "true", "TRUE", "yes", "YES"})


class GatewayMode(StrEnum):
    SHARED = "shared"
    DEDICATED = "dedicated"


class GatewayAssignment(BaseModel):
    """The gateway an account's instance in a region is routed through."""

    model_config = ConfigDict(frozen=True)

    mode: GatewayMode
    region: str
    gateway: str | None
    ingress_class: str
    load_balancer_name: str
    reason: str

    @property
    def dedicated(self) -> bool:
        return self.mode is GatewayMode.DEDICATED


def parse_overrides(value: str | None) -> frozenset[str]:
    """The override list: comma-separated handles, trimmed and lowercased, blanks dropped."""
    if not value:
        return frozenset()
    return frozenset(part.strip().lower() for part in value.split(",") if part.strip())


def hosted_from_env(environ: Mapping[str, str]) -> bool:
    """Tuist-hosted when any of :data:`HOSTED_ENVS` is truthy; self-hosted otherwise."""
    return any(environ.get(name, "") in TRUTHY_VALUES for name in HOSTED_ENVS)


def assign_gateway(
    account: Account,
    region: Region,
    *,
    hosted: bool,
    overrides: Iterable[str] = (),
) -> GatewayAssignment:
    """Shared regional gateway or a dedicated one, with the reason in words.

    ``hosted`` has no default: upstream's is off (:func:`hosted_from_env`), and a caller that
    forgot it would silently give every Enterprise account its own load balancer, or none.
    """
    overridden = account.handle.lower() in {handle.lower() for handle in overrides}
    entitled = hosted and Entitlements(hosted=True).allows(account, Feature.DEDICATED_KURA_GATEWAY)
    if overridden or entitled:
        gateway = gateway_name(account.id, region.id)
        if overridden:
            reason = f"account {account.handle!r} is listed in {OVERRIDES_ENV}"
        else:
            reason = (
                f"hosted account on the {account.effective_plan.value} plan is entitled to "
                f"{Feature.DEDICATED_KURA_GATEWAY.value}"
            )
        return GatewayAssignment(
            mode=GatewayMode.DEDICATED,
            region=region.id,
            gateway=gateway,
            ingress_class=dedicated_ingress_class(region.id, gateway),
            load_balancer_name=dedicated_load_balancer_name(gateway),
            reason=reason,
        )
    if not hosted:
        reason = (
            f"self-hosted deployment (neither {' nor '.join(HOSTED_ENVS)} is set) and the "
            f"account is not listed in {OVERRIDES_ENV}"
        )
    else:
        reason = (
            f"the {account.effective_plan.value} plan does not include "
            f"{Feature.DEDICATED_KURA_GATEWAY.value} and the account is not listed in "
            f"{OVERRIDES_ENV}"
        )
    return GatewayAssignment(
        mode=GatewayMode.SHARED,
        region=region.id,
        gateway=None,
        ingress_class=region.ingress_class_name,
        load_balancer_name=regional_load_balancer_name(region.id),
        reason=reason,
    )
