"""``kura dashboard`` on the command line: without a terminal it prints one overview frame."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner, Result

from kura_core.cli.app import build_cli
from kura_core.plugins import PluginHost
from kura_testing.ports import free_port


def kura(*args: str, env: dict[str, str] | None = None) -> Result:
    host = PluginHost(environ={})
    return CliRunner().invoke(build_cli(host), list(args), env=env, catch_exceptions=False)


def test_without_a_terminal_it_prints_one_simulated_frame_and_exits_0() -> None:
    result = kura("dashboard")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "SIMULATED (scenario seed-fleet, seed 7)" in out
    for region in ("eu-central", "us-east", "us-west"):
        assert region in out
    for header in (
        "SATURATION",
        "LB IN",
        "LB OUT",
        "CEILING",
        "REQ/S",
        "P95",
        "5XX",
        "CONN",
        "DED",
        "AGE",
    ):
        assert header in out
    assert "Scaling ladder" in out
    assert "simulation ok" in out
    # Levels are words as well as colours.
    assert " OK " in out or " OK\n" in out or "% OK" in out


def test_once_works_in_a_subprocess_with_no_color() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from kura_core.cli.app import main; main()",
         "dashboard", "--once", "--env", "staging"],
        capture_output=True,
        text=True,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
        check=False,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stdout
    assert "eu-central" in done.stdout
    assert "us-east" not in done.stdout


def test_a_refresh_below_the_floor_is_raised_with_one_warning() -> None:
    result = kura("dashboard", "--refresh", "0.5")
    assert result.exit_code == 0
    assert result.stderr.count("refresh interval 0.5s is below the 2s floor; using 2s") == 1


def test_a_dead_prometheus_prints_a_frame_that_says_so_and_exits_1() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = kura(
        "dashboard", "--prometheus", url, "--kubeconfig", "/nonexistent/kubeconfig", "--once"
    )
    # A frame for CI or a script: a dead source and stale regions are a failed check.
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("kura: prometheus unreachable: ")
    assert result.stderr.endswith("; stale data for eu-central, us-east, us-west\n")
    assert "SIMULATED" not in result.stdout
    words = " ".join(result.stdout.split())
    assert (
        f"prometheus unreachable: cannot connect to Prometheus at {url}: connection refused"
        in words
    )
    assert "kubernetes unreachable: cannot load the kubeconfig" in words


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--simulate", "--prometheus", "http://x"],
            "kura: error: --simulate and --prometheus exclude each other\n",
        ),
        (
            ["--threshold", "saturation=80,90%"],
            "kura: error: --threshold 'saturation=80,90%': 80 is above 1 for a 0-1 ratio: "
            "write 80% or 0-1\n",
        ),
        (
            ["--threshold", "cpu=1,2"],
            "kura: error: --threshold 'cpu=1,2': expected NAME=WARN,CRIT with NAME one of "
            "saturation, p95, 5xx, cert, like saturation=70%,90%\n",
        ),
        (
            ["--threshold", "cert=8d,14d"],
            "kura: error: --threshold 'cert=8d,14d': cert expiry: need 0 <= crit <= warn for a "
            "falling metric\n",
        ),
        (
            ["--prometheus", "not-a-url", "--once"],
            "kura: error: --prometheus 'not-a-url': expected an http(s) URL with a host, like "
            "http://prometheus:9090\n",
        ),
        (
            ["--env", "nowhere"],
            "kura: error: unknown env 'nowhere' (known: canary, production, staging)\n",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = kura("dashboard", *args)
    assert result.exit_code == 2
    assert result.stderr == message
    assert "Traceback" not in result.output


def test_thresholds_from_the_command_line_change_the_levels() -> None:
    result = kura("dashboard", "--threshold", "saturation=10%,20%")
    assert result.exit_code == 0
    # Every region is above 20% of its ceiling in the simulation, but only sustained levels
    # count: ten minutes of history is long enough for each to have reached CRIT.
    assert result.stdout.count("CRIT") >= 3


def test_a_certificate_threshold_from_the_command_line_shows_in_the_frame() -> None:
    # The simulated certificates are 60 days from expiry: under 70 days is CRIT here.
    result = kura("dashboard", "--threshold", "cert=90d,70d")
    assert result.exit_code == 0
    assert result.stdout.count("59d CRIT") == 3


def test_kura_simulate_and_dashboard_agree_on_the_fleet() -> None:
    simulated = json.loads(kura("simulate", "--duration", "5s", "-o", "json").stdout)
    names = [gateway["name"] for gateway in simulated["gateways"]]
    assert "kgw-30a76e4bd7e6-us-east" in names
    frame = kura("dashboard").stdout
    assert all(region in frame for region in {g["region"] for g in simulated["gateways"]})


def test_one_frame_marks_a_threshold_crossed_in_it() -> None:
    # eu-central's shard 2 is past its ceiling at the frame (the release train's backlog): its
    # p95 is the region's, and one frame never lasts the 10 s a level needs to be sustained.
    result = kura("dashboard", "--once")
    row = next(line for line in result.stdout.splitlines() if line.startswith(" eu-central"))
    assert re.search(r" \d+s CRIT ", row), row
    assert "WARN" in row


def test_the_load_balancer_cells_say_which_shard_they_front() -> None:
    result = kura("dashboard", "--once")
    row = next(line for line in result.stdout.splitlines() if line.startswith(" eu-central"))
    assert len(re.findall(r" s1 \d+\.\d\d ", row)) == 2, row
    assert "LB IN/OUT: the regional load balancer's own figures, Gbps, for the shard it " in (
        " ".join(result.stdout.split())
    )
