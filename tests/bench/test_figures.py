"""Every benchmark writes its figures as JSON with ``--json FILE``, with the machine's facts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = sorted(path.stem for path in (ROOT / "bench").glob("bench_*.py"))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def test_every_benchmark_is_listed_in_the_readme() -> None:
    readme = (ROOT / "bench" / "README.md").read_text(encoding="utf-8")
    assert len(BENCHMARKS) == 5
    for name in BENCHMARKS:
        assert f"## {name}" in readme
        assert f"bench/{name}.py" in readme


@pytest.mark.parametrize("name", BENCHMARKS)
def test_every_benchmark_takes_json(name: str) -> None:
    done = _run(f"bench/{name}.py", "--help")
    assert done.returncode == 0, done.stderr
    assert "--json FILE" in done.stdout


def test_the_figures_name_the_benchmark_its_arguments_and_the_machine(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    done = _run("bench/bench_plan.py", "--regions", "2", "--accounts", "600", "--rounds", "1",
                "--json", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    record = json.loads(out.read_text(encoding="utf-8"))
    assert record["benchmark"] == "bench_plan"
    assert record["arguments"] == {"regions": 2, "accounts": 600, "rounds": 1}
    machine = record["machine"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    assert machine["git_commit"] == (head.stdout.strip() or None)
    assert machine["cpu_count"] == os.cpu_count()
    assert machine["python"] == ".".join(map(str, sys.version_info[:3]))
    assert machine["cpu_model"]
    assert len(machine["load_average"]) == 3
    assert machine["date"].endswith("+00:00")
    # Every 500th account is heavy: 2 of the 600 in each of the 2 regions.
    assert record["figures"]["dedicated_recommended"] == 4
    assert record["figures"]["plan_ms_median"] > 0


def test_the_speed_reference_is_cpu_milliseconds_of_a_fixed_work() -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from bench._figures import speed_reference
    finally:
        sys.path.remove(str(ROOT))
    reference = speed_reference(rounds=2)
    assert isinstance(reference, float)
    # Encoding and decoding 5,000 series is work: it is never free.
    assert reference > 0
