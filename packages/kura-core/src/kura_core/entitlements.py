"""Which features an account may use. Unknown features are denied (fail closed)."""

from __future__ import annotations

from enum import StrEnum

from kura_core.accounts import Account, Plan


class Feature(StrEnum):
    DEDICATED_KURA_GATEWAY = "dedicated_kura_gateway"


# Features each plan grants beyond what every plan has. Enterprise grants everything.
PLAN_FEATURES: dict[Plan, frozenset[str]] = {
    Plan.AIR: frozenset(),
    Plan.PRO: frozenset(),
}


class Entitlements:
    """Feature checks, hosted (billing decides) or self-hosted (everything allowed)."""

    def __init__(self, *, hosted: bool = True) -> None:
        self.hosted = hosted

    def allows(self, account: Account | None, feature: str) -> bool:
        if not self.hosted:
            return True
        if account is None:
            return False
        plan = account.effective_plan
        if plan is Plan.ENTERPRISE:
            return True
        return feature in PLAN_FEATURES.get(plan, frozenset())
