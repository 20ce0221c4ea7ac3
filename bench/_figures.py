"""Benchmark figures as JSON (``--json FILE``), with the facts of the machine they came from.

Every benchmark under ``bench/`` takes ``--json FILE`` and writes one object: ``benchmark`` (its
name), ``arguments`` (what it was run with), ``machine`` (CPU count and model, load average,
Python, platform, the date in UTC and the git commit of the checkout, ``dirty`` when it has
uncommitted changes) and ``figures``. Timings depend on the machine and on what else runs on
it, so the load average at the end of the run is part of the record.

The load average does not tell everything: on a shared virtual machine the same code at load
below 1 ran up to twice as slowly at one time as half an hour earlier. :func:`speed_reference`
times a fixed piece of Python work, a hint of how fast the machine was when figures were taken,
not only how busy: it follows the Python side of a benchmark better than a server it talks to.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the figures, with the machine's facts, to FILE",
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def machine() -> dict[str, Any]:
    """What the figures depend on besides the code."""
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": _git("rev-parse", "HEAD"),
        "dirty": bool(status) if status is not None else None,
    }


# The reference work: a Prometheus-like answer of 5,000 series, encoded and decoded.
_REFERENCE = {
    "status": "success",
    "data": {
        "resultType": "vector",
        "result": [
            {"metric": {"gateway": f"k8s.io/kura-gateway-{n:04d}"}, "value": [1.7e9, f"{n}.5"]}
            for n in range(5000)
        ],
    },
}


def speed_reference(rounds: int = 5) -> float:
    """Milliseconds of CPU a fixed piece of work takes in this process now, the best of
    ``rounds``: lower on a faster (or calmer) machine, in proportion."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        json.loads(json.dumps(_REFERENCE))
        best = min(best, time.process_time() - started)
    return round(best * 1000, 2)


def write(
    path: Path | None, benchmark: str, args: argparse.Namespace, figures: Mapping[str, Any]
) -> None:
    """Write the figures to ``path`` (``--json``); nothing without one."""
    if path is None:
        return
    arguments = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    arguments.pop("json", None)
    record = {"benchmark": benchmark, "arguments": arguments, "machine": machine(),
              "figures": dict(figures)}  # fmt: skip
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"figures written to {path}")
