"""Bad input on the command line: one line on stderr, the flag the user typed, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result

from tests.core.conftest import Invoke
from tests.core.test_drift import CLUSTER, VALUES

ACCOUNT = ("--account-id", "42", "--handle", "acme", "--region", "us-east")


def _one_line(result: Result, exit_code: int = 2) -> str:
    assert result.exit_code == exit_code, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("kura: error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        (("assign", *ACCOUNT, "--plan", "gold"), "'gold' is not a plan", "assign"),
        (
            ("burst", "--jobs", "0", "--size", "1GB", "--window", "1m"),
            "Invalid value for '--jobs': 0 is not in the range x>=1",
            "burst",
        ),
        (("gateway", "render", "/tmp"), "'/tmp' is a directory", "gateway render"),
        (("regions", "--bogus"), "No such option '--bogus'", "regions"),
        (("--bogus",), "No such option '--bogus'", ""),
    ],
)
def test_usage_errors_are_one_line_with_the_help_hint(
    invoke: Invoke, args: tuple[str, ...], message: str, hint: str
) -> None:
    line = _one_line(invoke(*args))
    assert message in line
    assert line.endswith(f"(try '{' '.join(['cli', hint]).strip()} --help')")


def test_a_bare_group_still_shows_its_help(invoke: Invoke) -> None:
    result = invoke("gateway")
    assert "Usage:" in result.output
    assert "render" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("capacity", "--observed-peak", "600MB/s", "--shard", "0Gbps"),
        ("capacity", "--observed-peak", "0MB/s", "--shard", "5Gbps"),
        ("capacity", "--observed-peak", "600MB/s", "--component", "lb=0Gbps"),
        ("burst", "--jobs", "5", "--size", "1GB", "--window", "1m", "--shard", "0Gbps"),
        ("burst", "--jobs", "5", "--size", "0GB", "--window", "1m"),
        ("burst", "--jobs", "5", "--size", "1GB", "--window", "0s"),
        ("simulate", "--tick", "0s"),
    ],
)
def test_one_rule_for_every_quantity_zero_is_refused(invoke: Invoke, args: tuple[str, ...]) -> None:
    assert "is not more than zero" in _one_line(invoke(*args))


def test_a_duration_shorter_than_a_tick_is_refused(invoke: Invoke) -> None:
    line = _one_line(invoke("simulate", "--duration", "1s", "--tick", "5s"))
    assert "--duration 1s is shorter than one --tick (5s)" in line


@pytest.mark.parametrize("plan", ["free", "FREE", "air"])
def test_the_free_plan_is_air(invoke: Invoke, plan: str) -> None:
    result = invoke("assign", *ACCOUNT, "--plan", plan, "-o", "json")
    assert result.exit_code == 0, result.output
    assert '"mode": "shared"' in result.stdout


def test_the_plans_are_named_in_help(invoke: Invoke) -> None:
    help_text = " ".join(invoke("assign", "--help").stdout.split())
    assert "air (the free plan; 'free' is accepted too), pro, or enterprise" in help_text


@pytest.mark.parametrize("command", ["gateway", "instance"])
def test_rendering_nothing_exits_1_unless_allowed(invoke: Invoke, command: str) -> None:
    line = _one_line(invoke(command, "render", "-"), exit_code=1)
    assert "nothing rendered (--allow-empty accepts that)" in line
    allowed = invoke(command, "render", "-", "--allow-empty")
    assert allowed.exit_code == 0
    assert allowed.stdout == ""
    assert "warning: no Kura" in allowed.stderr


DEEP = "DEEP"  # in args: the path of a file of 5000 unclosed `[`


@pytest.mark.parametrize(
    "args",
    [
        ("--catalog", DEEP, "regions"),
        ("gateway", "render", DEEP),
        ("instance", "render", DEEP),
        ("plan", "--scenario", DEEP),
        ("simulate", "--scenario", DEEP),
        ("drift", "--values", DEEP, "--cluster", str(CLUSTER)),
        ("drift", "--values", str(VALUES), "--cluster", DEEP),
        ("config", "check", "--file", DEEP),
        ("lb", "audit", "--gateways", DEEP),
        ("dashboard", "--once", "--scenario", DEEP),
    ],
    ids=lambda args: " ".join(a for a in args if not a.startswith("/")),
)
def test_deeply_nested_yaml_is_one_line_not_a_recursion_error(
    invoke: Invoke, tmp_path: Path, args: tuple[str, ...]
) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("[" * 5000)
    given = [str(deep) if arg == DEEP else arg for arg in args]
    line = _one_line(invoke(*given, env={"HCLOUD_TOKEN": "unused"}))
    assert line == f"kura: error: {deep}: not valid YAML (nested too deeply)"
