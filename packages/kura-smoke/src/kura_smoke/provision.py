"""Step 2 and the clean-up: the smoke account's objects, rendered exactly as ``kura render`` does.

A regional smoke account is on the free plan, so policy routes it through the region's shared
gateway; a dedicated one is an Enterprise account, so it gets its own gateway. Both go through
``kura_core.assign_gateway`` and ``render_manifests``: if policy and the smoke disagree, the
smoke says so instead of testing the wrong gateway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from kura_core.accounts import Account, Plan
from kura_core.assignment import GatewayAssignment, assign_gateway
from kura_core.errors import InputError
from kura_core.manifests import render_manifests
from kura_core.names import instance_name
from kura_core.providers import LoadBalancerProvider
from kura_core.regions import Region
from kura_smoke.kube import KURA_GATEWAY, KURA_INSTANCE, KubeClient, KubeError
from kura_smoke.report import Mode, StepFailure

PLANS = {Mode.REGIONAL: Plan.AIR, Mode.DEDICATED: Plan.ENTERPRISE}


class SmokeAccount(BaseModel):
    """A smoke account in a region, the gateway policy gives it, and where it is served."""

    model_config = ConfigDict(frozen=True)

    mode: Mode
    account: Account
    assignment: GatewayAssignment
    instance: str
    host: str


def smoke_account(
    mode: Mode, *, handle: str, account_id: int, region: Region, overrides: Iterable[str]
) -> SmokeAccount:
    """The account of ``mode``; :class:`InputError` when policy would route it otherwise."""
    try:
        account = Account(id=account_id, handle=handle, plan=PLANS[mode])
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise InputError(f"{mode.value} smoke account: {message}") from None
    assignment = assign_gateway(account, region, hosted=True, overrides=overrides)
    if assignment.dedicated != (mode is Mode.DEDICATED):
        raise InputError(
            f"the {mode.value} smoke account {account.handle!r} would get a "
            f"{assignment.mode.value} gateway ({assignment.reason}); pick another account"
        )
    return SmokeAccount(
        mode=mode,
        account=account,
        assignment=assignment,
        instance=instance_name(account.handle, region.cluster_id),
        host=region.public_host(account.handle),
    )


def render_smoke_manifests(
    smoke: SmokeAccount,
    region: Region,
    *,
    load_balancer_provider: LoadBalancerProvider,
    image: str,
    namespace: str,
) -> list[dict[str, Any]]:
    """KuraGateway (dedicated only), then KuraInstance: ``kura render``'s objects."""
    return render_manifests(
        smoke.account,
        region,
        assignment=smoke.assignment,
        load_balancer_provider=load_balancer_provider,
        image=image,
        namespace=namespace,
    )


def _describe(obj: Mapping[str, Any]) -> str:
    return f"{obj['kind']} {obj['metadata'].get('namespace')}/{obj['metadata']['name']}"


def apply_manifests(kube: KubeClient, manifests: Iterable[Mapping[str, Any]]) -> str:
    """Server-side apply, in order; a refused write fails the provision step."""
    applied = []
    for obj in manifests:
        try:
            kube.apply(obj)
        except KubeError as exc:
            raise StepFailure(
                f"applying {_describe(obj)} failed",
                expected=f"{_describe(obj)} is applied (server-side apply, manager kura-smoke)",
                got=str(exc),
                cause="the CRDs are not installed, or the smoke's credentials may not write "
                "kura.tuist.dev objects",
            ) from exc
        applied.append(_describe(obj))
    return "applied " + ", ".join(applied)


def clean_up(kube: KubeClient, smoke: SmokeAccount, namespace: str) -> str:
    """Delete the KuraGateway (if any), then the KuraInstance."""
    targets = []
    if smoke.assignment.gateway is not None:
        targets.append((KURA_GATEWAY, smoke.assignment.gateway))
    targets.append((KURA_INSTANCE, smoke.instance))
    done = []
    for kind, name in targets:
        try:
            deleted = kube.delete(kind, namespace, name)
        except KubeError as exc:
            raise StepFailure(
                f"deleting {kind.kind} {namespace}/{name} failed",
                expected=f"{kind.kind} {namespace}/{name} is deleted",
                got=str(exc),
                cause="the smoke's credentials may not delete kura.tuist.dev objects",
            ) from exc
        done.append(f"{kind.kind} {name} {'deleted' if deleted else 'already gone'}")
    return ", ".join(done)
