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

from kura_core import (
    KURA_GATEWAY,
    KURA_INSTANCE,
    Account,
    GatewayAssignment,
    InputError,
    InstanceOptions,
    Kind,
    LoadBalancerProvider,
    Plan,
    Region,
    assign_gateway,
    instance_name,
    kind_of,
    render_manifests,
)
from kura_kube import KubeError
from kura_kube.client import KubeClient
from kura_smoke.kube import FIELD_MANAGER
from kura_smoke.report import Mode, StepFailure

PLANS = {Mode.REGIONAL: Plan.AIR, Mode.DEDICATED: Plan.ENTERPRISE}
# On every object a smoke run creates: what makes it the smoke's, and which run made it.
SMOKE_LABEL = "tuist.dev/kura-smoke"
SMOKE_RUN_LABEL = "tuist.dev/kura-smoke-run"


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
        instance=InstanceOptions(image=image, namespace=namespace),
    )


def _describe(obj: Mapping[str, Any]) -> str:
    return f"{obj['kind']} {obj['metadata'].get('namespace')}/{obj['metadata']['name']}"


def smoke_run_of(obj: Mapping[str, Any]) -> str | None:
    """The id of the smoke run that created ``obj``; None when no smoke run did.

    A smoke object without a run id gets "" (a smoke's, but no run's: never deleted).
    """
    labels = obj.get("metadata", {}).get("labels") or {}
    if labels.get(SMOKE_LABEL) != "true":
        return None
    return str(labels.get(SMOKE_RUN_LABEL) or "")


def _labelled(obj: Mapping[str, Any], run_id: str) -> dict[str, Any]:
    metadata = obj["metadata"]
    labels = {**(metadata.get("labels") or {}), SMOKE_LABEL: "true", SMOKE_RUN_LABEL: run_id}
    return {**obj, "metadata": {**metadata, "labels": labels}}


def _targets(smoke: SmokeAccount) -> list[tuple[Kind, str]]:
    """What provisioning writes, in apply order: the KuraGateway (dedicated only), the instance."""
    gateway = smoke.assignment.gateway
    first = [] if gateway is None else [(KURA_GATEWAY, gateway)]
    return [*first, (KURA_INSTANCE, smoke.instance)]


def _foreign(kind: Kind, namespace: str, name: str) -> str:
    return (
        f"{kind.kind} {namespace}/{name} exists and is not a smoke object "
        f"(no label {SMOKE_LABEL}=true)"
    )


def refuse_foreign_objects(
    kube: KubeClient, accounts: Iterable[SmokeAccount], namespace: str
) -> None:
    """:class:`InputError` when provisioning would overwrite an object no smoke run created.

    Checked for every mode before anything is written, so a refused run writes nothing.
    """
    found = []
    for smoke in accounts:
        for kind, name in _targets(smoke):
            current = kube.get(kind, namespace, name)
            if current is not None and smoke_run_of(current) is None:
                found.append(f"{_foreign(kind, namespace, name)} ({smoke.mode.value} account)")
    if found:
        raise InputError(
            "refusing to provision over objects the smoke did not create: "
            + "; ".join(found)
            + "; pick another smoke account, or pass --no-provision to test it as it is"
        )


def provision(kube: KubeClient, manifests: Iterable[Mapping[str, Any]], run_id: str) -> str:
    """Create each object labelled with ``run_id``, in order; re-apply a smoke run's leftover.

    A leftover keeps the run id of the run that created it, so this run's clean-up leaves it
    (a concurrent run may still be testing it); anything else is refused, never overwritten.
    """
    done = []
    for obj in manifests:
        kind = kind_of(obj)
        namespace, name = str(obj["metadata"]["namespace"]), str(obj["metadata"]["name"])
        try:
            current = kube.get(kind, namespace, name)
            owner = None if current is None else smoke_run_of(current)
            if current is not None and owner is None:
                # It appeared after the run's start-up check: still never overwritten.
                raise StepFailure(
                    f"refusing to overwrite {_describe(obj)}",
                    expected=f"{_describe(obj)} is absent or a smoke object",
                    got=_foreign(kind, namespace, name),
                    cause="pick another smoke account, or pass --no-provision",
                )
            if owner is None:
                kube.create(_labelled(obj, run_id), field_manager=FIELD_MANAGER)
                done.append(f"created {_describe(obj)}")
            else:
                kube.apply(_labelled(obj, owner), field_manager=FIELD_MANAGER)
                done.append(f"re-applied {_describe(obj)} (left by smoke run {owner or '?'})")
        except KubeError as exc:
            raise StepFailure(
                f"provisioning {_describe(obj)} failed",
                expected=f"{_describe(obj)} is created (manager {FIELD_MANAGER})",
                got=str(exc),
                cause="the CRDs are not installed, the smoke's credentials may not write "
                "kura.tuist.dev objects, or someone created it meanwhile (409)",
            ) from exc
    return ", ".join(done)


def clean_up(kube: KubeClient, smoke: SmokeAccount, namespace: str, run_id: str) -> str:
    """Delete what this run created (read first, deleted by uid); say what was left and why."""
    done = []
    for kind, name in _targets(smoke):
        what = f"{kind.kind} {name}"
        try:
            current = kube.get(kind, namespace, name)
            owner = None if current is None else smoke_run_of(current)
            if current is None:
                done.append(f"{what} already gone")
            elif owner != run_id:
                made_by = "not a smoke object" if owner is None else f"smoke run {owner or '?'}'s"
                done.append(f"{what} left ({made_by})")
            else:
                uid = str(current["metadata"]["uid"])
                deleted = kube.delete(kind, namespace, name, uid=uid)
                done.append(f"{what} {'deleted' if deleted else 'already gone'}")
        except KubeError as exc:
            if exc.status == 409:
                done.append(f"{what} left (replaced since it was read)")
                continue
            raise StepFailure(
                f"deleting {kind.kind} {namespace}/{name} failed",
                expected=f"{kind.kind} {namespace}/{name} is deleted",
                got=str(exc),
                cause="the smoke's credentials may not read or delete kura.tuist.dev objects",
            ) from exc
    return ", ".join(done)
