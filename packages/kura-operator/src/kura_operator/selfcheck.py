"""The start-up self-check: what the operator needs from the cluster, asked before any reconcile
and again every interval, so that nothing leaves it idle without saying why.

Checked: the KuraGateway and KuraInstance CRDs (and cert-manager's Certificate when an issuer is
set) are served; with peering on, the KopfPeering CRD is served and the operator's peering object
exists (the operator creates it when it may); the ServiceAccount may do everything in
:func:`kura_operator.access.required` (one SelfSubjectRulesReview). Each problem is one line
saying what is missing and the command that fixes it. A *blocking* problem keeps kopf from
starting at all (it would wait for ever, silently); the others make ``/readyz`` fail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kura_operator.access import Access, allowed, required
from kura_operator.kinds import CERTIFICATE, KOPF_PEERING, KURA_GATEWAY, KURA_INSTANCE
from kura_operator.kube import ApiError, KubeApi
from kura_operator.settings import OperatorSettings

DEPLOY = "kubectl apply -k packages/kura-operator/deploy"
CREATE_PEERING = Access("create", KOPF_PEERING.group, KOPF_PEERING.plural)
CRDS = "`kura crds | kubectl apply -f -`"


@dataclass(frozen=True)
class Problem:
    """``check`` names it (a metric label); ``message`` says what is missing and how to fix it."""

    check: str
    message: str
    blocking: bool = False


@dataclass(frozen=True)
class SelfCheck:
    problems: tuple[Problem, ...]
    # The live peer the operator yields to (kopf pauses while one with a higher or the same
    # priority is alive), described for the log and /readyz.
    standby: str | None = None

    @property
    def blocking(self) -> bool:
        return any(problem.blocking for problem in self.problems)

    def summary(self) -> str:
        if not self.problems:
            return "self-check passed: CRDs served, peering ready, every permission granted"
        lines = "; ".join(problem.message for problem in self.problems)
        return f"self-check found {len(self.problems)} problem(s): {lines}"


async def self_check(api: KubeApi, settings: OperatorSettings, *, identity: str) -> SelfCheck:
    problems: list[Problem] = []
    for kind in (KURA_GATEWAY, KURA_INSTANCE):
        if not await api.serves(kind):
            problems.append(
                Problem(
                    f"crd:{kind.plural}",
                    f"the cluster does not serve {kind.kind} ({kind.api_version}): {DEPLOY}",
                    blocking=True,
                )
            )
    if settings.cluster_issuer and not await api.serves(CERTIFICATE):
        problems.append(
            Problem(
                "crd:certificates",
                f"the cluster does not serve cert-manager's {CERTIFICATE.kind} "
                f"({CERTIFICATE.api_version}), so no instance gets its public TLS: install "
                "cert-manager, or run with --cluster-issuer '' and provide the TLS Secrets",
            )
        )
    standby, peering_exists = None, False
    if not settings.standalone and not settings.all_namespaces:
        peering_problem, standby = await _peering(api, settings, identity)
        problems.extend(peering_problem)
        peering_exists = not peering_problem
    problems.extend(await _access(api, settings, peering_exists=peering_exists))
    return SelfCheck(tuple(problems), standby)


async def _peering(
    api: KubeApi, settings: OperatorSettings, identity: str
) -> tuple[list[Problem], str | None]:
    name, namespace = settings.peering_name, settings.namespace
    if not await api.serves(KOPF_PEERING):
        message = (
            f"peering is on (--peering {name}) but the cluster does not serve "
            f"{KOPF_PEERING.kind} ({KOPF_PEERING.api_version}): {DEPLOY}, or {CRDS}, or run one "
            "replica with --standalone"
        )
        return [Problem("crd:kopfpeerings", message, blocking=True)], None
    # Listed, not read: kopf itself only lists and watches peering objects, so that is the grant.
    found = await api.list(KOPF_PEERING, namespace, field_selector=f"metadata.name={name}")
    peering = found[0] if found else None
    if peering is None:
        try:
            await api.create(
                {
                    "apiVersion": KOPF_PEERING.api_version,
                    "kind": KOPF_PEERING.kind,
                    "metadata": {"name": name, "namespace": namespace},
                }
            )
        except ApiError as exc:
            if exc.status != 403:
                raise
            message = (
                f"the peering object {KOPF_PEERING.kind} {namespace}/{name} does not exist and "
                f"the operator may not create it: {DEPLOY}"
            )
            return [Problem("peering-object", message, blocking=True)], None
        return [], None
    return [], holder(peering, identity=identity, priority=settings.priority, now=_now())


class Readiness:
    """What ``/readyz`` answers: ready only once kopf watches and the last self-check passed."""

    def __init__(self, watching: Callable[[], bool], peering_name: str) -> None:
        self.watching = watching
        self.peering_name = peering_name
        self.report: SelfCheck | None = None

    @property
    def state(self) -> str:
        """paused (kopf not started: a blocking problem), standby (a peer holds the peering),
        or active."""
        if self.report is None or self.report.blocking:
            return "paused"
        return "standby" if self.report.standby else "active"

    def answer(self) -> tuple[int, str]:
        if self.report is None:
            return 503, "starting: the self-check has not run yet\n"
        if self.report.problems:
            return 503, "".join(f"not ready: {p.message}\n" for p in self.report.problems)
        if not self.watching():
            return 503, "starting\n"
        if self.report.standby:
            return 200, f"standby: {self.report.standby} holds the peering {self.peering_name}\n"
        return 200, "ready\n"


def _now() -> datetime:
    return datetime.now(UTC)


def holder(
    peering: Mapping[str, Any], *, identity: str, priority: int, now: datetime
) -> str | None:
    """The live peer, other than ``identity``, that kopf pauses this operator for: one with a
    higher priority, or the same (then every one of them pauses)."""
    others = []
    for peer, entry in (peering.get("status") or {}).items():
        if peer == identity or not isinstance(entry, Mapping):
            continue
        try:
            seen = datetime.fromisoformat(str(entry["lastseen"]))
            lifetime = timedelta(seconds=int(entry.get("lifetime", 60)))
            theirs = int(entry.get("priority", 0))
        except (KeyError, TypeError, ValueError):
            continue
        if seen.tzinfo is None:
            seen = seen.replace(tzinfo=UTC)
        if seen + lifetime > now and theirs >= priority:
            others.append(f"{peer} (priority {theirs})")
    return ", ".join(sorted(others)) or None


async def _access(
    api: KubeApi, settings: OperatorSettings, *, peering_exists: bool
) -> list[Problem]:
    rules = await api.rules_review(settings.namespace)
    # A standalone operator never touches a peering object; one that exists need not be created.
    needed = [
        access
        for access in required(settings.peering_name)
        if not (settings.standalone and access.group == "kopf.dev")
        and not (peering_exists and access == CREATE_PEERING)
    ]
    missing: list[Access] = [access for access in needed if not allowed(rules, access)]
    return [
        Problem(
            f"access:{access.verb} {access.group or 'core'}/{access.resource}",
            f"the operator's ServiceAccount may not {access}: {DEPLOY}",
        )
        for access in missing
    ]
