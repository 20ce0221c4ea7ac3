"""The start-up self-check: what the operator needs from the cluster, asked before any reconcile
and again every interval, so that nothing leaves it idle without saying why.

Checked: the KuraGateway and KuraInstance CRDs (and cert-manager's Certificate when an issuer is
set) are served, and the ServiceAccount may do everything in :func:`kura_operator.access.required`
(one SelfSubjectRulesReview), the leader election's Lease included. Each problem is one line
saying what is missing and the command that fixes it. A *blocking* problem (a missing CRD, whose
list would fail for ever; no access to the Lease) keeps the operator from starting at all; the
others make ``/readyz`` fail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from kura_core import CERTIFICATE, KURA_GATEWAY, KURA_INSTANCE
from kura_operator.access import COORDINATION, Access, allowed, required
from kura_operator.kube import KubeApi
from kura_operator.settings import OperatorSettings

DEPLOY = "kubectl apply -k packages/kura-operator/deploy"


@dataclass(frozen=True)
class Problem:
    """``check`` names it (a metric label); ``message`` says what is missing and how to fix it."""

    check: str
    message: str
    blocking: bool = False


@dataclass(frozen=True)
class SelfCheck:
    problems: tuple[Problem, ...]

    @property
    def blocking(self) -> bool:
        return any(problem.blocking for problem in self.problems)

    def summary(self) -> str:
        if not self.problems:
            return "self-check passed: CRDs served, every permission granted"
        lines = "; ".join(problem.message for problem in self.problems)
        return f"self-check found {len(self.problems)} problem(s): {lines}"


async def self_check(api: KubeApi, settings: OperatorSettings) -> SelfCheck:
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
    problems.extend(await _access(api, settings))
    return SelfCheck(tuple(problems))


class Leadership(Protocol):
    """The leader election, as readiness sees it."""

    def leading(self) -> bool: ...

    def standing_by(self) -> str: ...


class Readiness:
    """What ``/readyz`` answers: ready once the last self-check passed and, on the leader, every
    watched kind is listed; a standby is ready too (a rollout waits for it), and says who leads."""

    def __init__(self, watching: Callable[[], bool], leadership: Leadership | None) -> None:
        self.watching = watching
        self.leadership = leadership
        self.report: SelfCheck | None = None

    @property
    def state(self) -> str:
        """paused (a blocking problem keeps the operator from starting), standby (it does not
        hold the leader Lease), or active."""
        if self.report is None or self.report.blocking:
            return "paused"
        if self.leadership is not None and not self.leadership.leading():
            return "standby"
        return "active"

    def answer(self) -> tuple[int, str]:
        if self.report is None:
            return 503, "starting: the self-check has not run yet\n"
        if self.report.problems:
            return 503, "".join(f"not ready: {p.message}\n" for p in self.report.problems)
        if self.leadership is not None and not self.leadership.leading():
            return 200, f"standby: {self.leadership.standing_by()}\n"
        if not self.watching():
            return 503, "starting\n"
        return 200, "ready\n"


async def _access(api: KubeApi, settings: OperatorSettings) -> list[Problem]:
    rules = await api.rules_review(settings.namespace)
    # Without leader election the operator never touches a Lease.
    needed = [
        access
        for access in required(settings.leader_election_id, gateway_api=settings.gateway_api)
        if settings.leader_elect or access.group != COORDINATION
    ]
    missing: list[Access] = [access for access in needed if not allowed(rules, access)]
    return [
        Problem(
            f"access:{access.verb} {access.group or 'core'}/{access.resource}",
            f"the operator's ServiceAccount may not {access}: {DEPLOY}",
            # Without its Lease the operator cannot lead safely: it waits instead of starting
            # and losing the Lease at its first renewal.
            blocking=access.group == COORDINATION,
        )
        for access in missing
    ]
