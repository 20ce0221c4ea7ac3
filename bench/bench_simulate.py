"""How long ``kura simulate`` takes, and how much memory it holds, on a long run.

Run: ``uv run python bench/bench_simulate.py [--duration 24h] [--tick 1s] [--rounds N]
[--json FILE]``. Each round runs the real command (``kura simulate``, the default fleet, summary
table only) as a child process and reads its wall time and peak resident set size from the
kernel (``wait4``). Prints the best and median of the rounds against the targets (24 h at 1 s
ticks: under 5 s and under 200 MiB); ``--json FILE`` writes the same figures
(``bench/_figures.py``). Figures, not
assertions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._figures import add_json_option, write

TARGET_SECONDS = 5.0
TARGET_MIB = 200.0


def one_round(duration: str, tick: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one ``kura simulate`` run."""
    # The console script beside this interpreter: the command a user runs.
    command = [str(Path(sys.executable).with_name("kura")), "simulate"]
    command += ["--duration", duration, "--tick", tick]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"kura simulate exited {child.returncode}")
    return elapsed, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", default="24h")
    parser.add_argument("--tick", default="1s")
    parser.add_argument("--rounds", type=int, default=3)
    add_json_option(parser)
    args = parser.parse_args()

    rounds = [one_round(args.duration, args.tick) for _ in range(args.rounds)]
    times = [seconds for seconds, _ in rounds]
    peaks = [mib for _, mib in rounds]
    figures = {
        "command": f"kura simulate --duration {args.duration} --tick {args.tick}",
        "rounds": args.rounds,
        "seconds_best": min(times),
        "seconds_median": statistics.median(times),
        "peak_rss_mib_max": max(peaks),
        "target_seconds": TARGET_SECONDS,
        "target_mib": TARGET_MIB,
    }
    print(f"{figures['command']} (default fleet, summary only), {args.rounds} rounds")
    print(
        f"time: best {figures['seconds_best']:.2f} s, median {figures['seconds_median']:.2f} s "
        f"(target < {TARGET_SECONDS:g} s)"
    )
    print(f"peak RSS: {figures['peak_rss_mib_max']:.1f} MiB (target < {TARGET_MIB:g} MiB)")
    write(args.json, "bench_simulate", args, figures)


if __name__ == "__main__":
    main()
