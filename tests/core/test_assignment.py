"""Accounts, entitlements, gateway assignment and names."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kura_core.accounts import MAX_ACCOUNT_ID, Account, Plan, SubscriptionStatus
from kura_core.assignment import GatewayMode, assign_gateway, hosted_from_env, parse_overrides
from kura_core.dns import is_dns_label
from kura_core.entitlements import Entitlements, Feature
from kura_core.names import (
    account_hash,
    gateway_name,
    gateway_workload_name,
    instance_name,
    regional_gateway_values_key,
)
from kura_core.regions import Region, managed_catalogs
from tests.core.conftest import Invoke

US_EAST = managed_catalogs()["production"].get("us-east")
REGIONS = list(managed_catalogs()["production"])
handles = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?\Z")


def account(plan: Plan, status: SubscriptionStatus | None = SubscriptionStatus.ACTIVE) -> Account:
    return Account(id=42, handle="acme", plan=plan, subscription_status=status)


# --- accounts and entitlements -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "plan"),
    [
        (SubscriptionStatus.ACTIVE, Plan.ENTERPRISE),
        (SubscriptionStatus.TRIALING, Plan.ENTERPRISE),
        (SubscriptionStatus.PAST_DUE, Plan.AIR),
        (SubscriptionStatus.CANCELED, Plan.AIR),
        (None, Plan.AIR),
    ],
)
def test_effective_plan_needs_an_active_or_trialing_subscription(
    status: SubscriptionStatus | None, plan: Plan
) -> None:
    assert account(Plan.ENTERPRISE, status).effective_plan is plan


def test_handle_is_lowercased_and_must_be_a_dns_label() -> None:
    assert Account(id=1, handle="Acme").handle == "acme"
    with pytest.raises(ValueError, match="not a DNS label"):
        Account(id=1, handle="acme_corp")
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        Account(id=0, handle="acme")


def test_enterprise_allows_everything_others_fail_closed() -> None:
    hosted = Entitlements(hosted=True)
    assert hosted.allows(account(Plan.ENTERPRISE), Feature.DEDICATED_KURA_GATEWAY)
    assert hosted.allows(account(Plan.ENTERPRISE), "some_future_feature")
    assert not hosted.allows(account(Plan.PRO), Feature.DEDICATED_KURA_GATEWAY)
    assert not hosted.allows(account(Plan.PRO), "some_future_feature")
    assert not hosted.allows(account(Plan.ENTERPRISE, SubscriptionStatus.CANCELED), "x")
    assert not hosted.allows(None, Feature.DEDICATED_KURA_GATEWAY)


def test_self_hosted_allows_everything_even_without_an_account() -> None:
    self_hosted = Entitlements(hosted=False)
    assert self_hosted.allows(account(Plan.AIR), Feature.DEDICATED_KURA_GATEWAY)
    assert self_hosted.allows(None, "anything")


# --- assignment -----------------------------------------------------------------------------


def test_enterprise_account_gets_a_dedicated_gateway() -> None:
    got = assign_gateway(account(Plan.ENTERPRISE), US_EAST, hosted=True)
    expected_gateway = "kgw-" + hashlib.sha256(b"account:42").hexdigest()[:12] + "-us-east"
    assert got.mode is GatewayMode.DEDICATED
    assert got.gateway == expected_gateway
    assert got.ingress_class == f"kura-us-east-{expected_gateway}"
    assert got.load_balancer_name == f"tuist-{expected_gateway}-ingress"
    assert "enterprise" in got.reason


def test_pro_account_shares_the_regional_gateway() -> None:
    got = assign_gateway(account(Plan.PRO), US_EAST, hosted=True)
    assert got.mode is GatewayMode.SHARED
    assert got.gateway is None
    assert got.ingress_class == "kura-us-east"
    assert got.load_balancer_name == "tuist-kura-us-east-ingress"


def test_override_list_dedicates_regardless_of_plan_and_hosting() -> None:
    for hosted in (True, False):
        got = assign_gateway(
            account(Plan.AIR), US_EAST, hosted=hosted, overrides=parse_overrides(" ACME , other")
        )
        assert got.mode is GatewayMode.DEDICATED
        assert "TUIST_KURA_DEDICATED_GATEWAY_ACCOUNTS" in got.reason


def test_self_hosted_enterprise_without_override_is_shared() -> None:
    got = assign_gateway(account(Plan.ENTERPRISE), US_EAST, hosted=False)
    assert got.mode is GatewayMode.SHARED
    assert "self-hosted" in got.reason


def test_the_default_is_self_hosted_as_upstream() -> None:
    # Upstream's server is hosted only when told so: an Enterprise account alone stays shared.
    got = assign_gateway(account(Plan.ENTERPRISE), US_EAST, hosted=hosted_from_env({}))
    assert got.mode is GatewayMode.SHARED
    assert "TUIST_HOSTED" in got.reason


@pytest.mark.parametrize(
    ("environ", "hosted"),
    [
        ({}, False),
        ({"TUIST_HOSTED": "1"}, True),
        ({"TUIST_CLOUD_HOSTED": "true"}, True),
        ({"TUIST_HOSTED": "YES"}, True),
        ({"TUIST_HOSTED": "0", "TUIST_CLOUD_HOSTED": "yes"}, True),
        # Upstream's exact spellings only: these are off there, so off here.
        ({"TUIST_HOSTED": "True"}, False),
        ({"TUIST_HOSTED": "on"}, False),
        ({"TUIST_HOSTED": " 1"}, False),
        ({"TUIST_HOSTED": ""}, False),
        ({"TUIST_HOSTED": "false", "TUIST_CLOUD_HOSTED": "0"}, False),
    ],
)
def test_hosted_comes_from_tuist_hosted_or_tuist_cloud_hosted(
    environ: dict[str, str], hosted: bool
) -> None:
    assert hosted_from_env(environ) is hosted


def test_parse_overrides_trims_lowercases_and_drops_blanks() -> None:
    assert parse_overrides(" Acme, ,BETA ,,gamma") == frozenset({"acme", "beta", "gamma"})
    assert parse_overrides("") == frozenset()
    assert parse_overrides(None) == frozenset()


# --- names ----------------------------------------------------------------------------------


def test_names_match_upstream_examples() -> None:
    assert account_hash(42) == hashlib.sha256(b"account:42").hexdigest()[:12]
    assert gateway_workload_name("kgw-abc123-us-east") == "kgw-abc123-us-east-controller"
    assert instance_name("Acme", "us-east-1") == "kura-acme-us-east-1"
    assert regional_gateway_values_key("us-east") == "kura-us-east-ingress-nginx"


@given(
    account_id=st.integers(min_value=1, max_value=MAX_ACCOUNT_ID),
    handle_a=handles,
    handle_b=handles,
    region=st.sampled_from(REGIONS),
)
def test_dedicated_names_never_depend_on_the_handle(
    account_id: int, handle_a: str, handle_b: str, region: Region
) -> None:
    first = assign_gateway(
        Account(id=account_id, handle=handle_a, plan=Plan.ENTERPRISE), region, hosted=True
    ).model_dump()
    second = assign_gateway(
        Account(id=account_id, handle=handle_b, plan=Plan.ENTERPRISE), region, hosted=True
    ).model_dump()
    assert first == second
    for name in (first["gateway"], first["ingress_class"], first["load_balancer_name"]):
        assert is_dns_label(name), name
    assert is_dns_label(gateway_workload_name(first["gateway"]))


@given(
    account_id=st.integers(min_value=1, max_value=MAX_ACCOUNT_ID), region=st.sampled_from(REGIONS)
)
def test_gateway_names_are_opaque_hashes(account_id: int, region: Region) -> None:
    name = gateway_name(account_id, region.id)
    digest = hashlib.sha256(f"account:{account_id}".encode()).hexdigest()
    assert name == f"kgw-{digest[:12]}-{region.id}"
    assert is_dns_label(name)


# --- the assign command -----------------------------------------------------------------------


def test_assign_enterprise_json(invoke: Invoke) -> None:
    result = invoke(
        "assign", "--account-id", "42", "--handle", "Acme", "--plan", "enterprise",
        "--region", "us-east", "-o", "json", env={"TUIST_HOSTED": "1"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["mode"] == "dedicated"
    assert data["gateway"] == "kgw-" + hashlib.sha256(b"account:42").hexdigest()[:12] + "-us-east"
    assert set(data) >= {"mode", "gateway", "ingress_class", "load_balancer_name", "reason"}


@pytest.mark.parametrize(
    ("flags", "env", "mode"),
    [
        ([], {}, "shared"),
        ([], {"TUIST_CLOUD_HOSTED": "1"}, "dedicated"),
        (["--hosted"], {}, "dedicated"),
        (["--self-hosted"], {"TUIST_HOSTED": "true"}, "shared"),
    ],
)
def test_assign_reads_the_hosting_env_and_the_flags_win(
    invoke: Invoke, flags: list[str], env: dict[str, str], mode: str
) -> None:
    unset = {"TUIST_HOSTED": None, "TUIST_CLOUD_HOSTED": None}
    result = invoke(
        "assign", "--account-id", "42", "--handle", "acme", "--plan", "enterprise",
        "--region", "us-east", "-o", "json", *flags, env={**unset, **env},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["mode"] == mode


def test_assign_pro_is_shared_unless_overridden(invoke: Invoke) -> None:
    args = (
        "assign",
        "--account-id",
        "42",
        "--handle",
        "Acme",
        "--plan",
        "pro",
        "--region",
        "us-east",
        "-o",
        "json",
    )
    shared = json.loads(invoke(*args).stdout)
    assert shared["mode"] == "shared"
    assert shared["gateway"] is None
    assert shared["ingress_class"] == "kura-us-east"
    overridden = json.loads(
        invoke(*args, env={"TUIST_KURA_DEDICATED_GATEWAY_ACCOUNTS": "acme"}).stdout
    )
    assert overridden["mode"] == "dedicated"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "mars"], "kura: error: unknown region 'mars' in env 'production'"),
        (
            ["--region", "us-east", "--env", "staging"],
            "kura: error: region 'us-east' is not offered in env 'staging'",
        ),
        (["--region", "us-east", "--env", "moon"], "kura: error: unknown env 'moon'"),
        (
            ["--region", "us-east", "--handle", "Acme_Corp"],
            "kura: error: invalid --handle: account handle 'acme_corp' is not a DNS label",
        ),
    ],
)
def test_assign_bad_input_is_one_line_exit_2(invoke: Invoke, args: list[str], message: str) -> None:
    result = invoke("assign", "--account-id", "42", "--handle", "acme", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_assign_usage_error_is_exit_2(invoke: Invoke) -> None:
    result = invoke(
        "assign", "--account-id", "forty-two", "--handle", "acme", "--region", "us-east"
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output
