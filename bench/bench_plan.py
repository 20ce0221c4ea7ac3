"""How long ``kura plan`` takes on a large estate: 50 regions x 2,000 accounts each.

Run: ``uv run python bench/bench_plan.py [--regions N] [--accounts N] [--rounds N]
[--json FILE]``.
Prints the time to validate the scenario, the time per plan (best and median of the rounds) and
the peak memory that planning allocates (tracemalloc). Figures, not assertions.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._figures import add_json_option, write
from kura_core.plan import Plan, build_plan
from kura_core.regions import Region, RegionCatalog
from kura_core.scenario import Scenario


def scenario_data(regions: int, accounts: int) -> dict[str, Any]:
    """A scenario as a YAML file would hold it: every region busy, a few heavy accounts each."""
    return {
        "name": f"bench-{regions}x{accounts}",
        "regions": {
            f"r{r:03d}": {
                "observed_peak": f"{200 + 37 * r}MB/s",
                "shards": 1 + r % 3,
                "accounts": {
                    # Mostly small accounts; every 500th is heavy, every 997th needs isolation.
                    f"acct-{r:03d}-{a:05d}": {
                        "peak": f"{(a % 500) + 1}Mbps" if a % 500 else "2Gbps",
                        "isolation": a % 997 == 0,
                    }
                    for a in range(accounts)
                },
            }
            for r in range(regions)
        },
    }


def catalog(regions: int) -> RegionCatalog:
    return RegionCatalog(
        Region(id=f"r{r:03d}", display_name=f"Region {r}", location="fsn1", node_pool=f"pool-{r}")
        for r in range(regions)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--regions", type=int, default=50)
    parser.add_argument("--accounts", type=int, default=2000, help="accounts per region")
    parser.add_argument("--rounds", type=int, default=5)
    add_json_option(parser)
    args = parser.parse_args()

    data = scenario_data(args.regions, args.accounts)
    started = time.perf_counter()
    scenario = Scenario.model_validate(data)
    validated = time.perf_counter() - started
    regions = catalog(args.regions)

    timings = []
    plan: Plan | None = None
    for _ in range(args.rounds):
        started = time.perf_counter()
        plan = build_plan(scenario, regions, "bench")
        timings.append(time.perf_counter() - started)

    tracemalloc.start()
    build_plan(scenario, regions, "bench")
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert plan is not None
    dedicated = sum(
        1 for region in plan.regions for action in region.recommendation.actions if action.account
    )
    print(f"scenario: {args.regions} regions x {args.accounts} accounts")
    print(f"validate scenario: {validated * 1000:.1f} ms")
    best, median = min(timings) * 1000, statistics.median(timings) * 1000
    print(f"plan: best {best:.1f} ms, median {median:.1f} ms over {args.rounds} rounds")
    print(f"plan peak memory (tracemalloc): {peak_bytes / 2**20:.1f} MiB")
    print(f"dedicated gateways recommended: {dedicated}")
    figures = {
        "validate_ms": round(validated * 1000, 1),
        "plan_ms_best": round(best, 1),
        "plan_ms_median": round(median, 1),
        "plan_peak_mib": round(peak_bytes / 2**20, 1),
        "dedicated_recommended": dedicated,
    }
    write(args.json, "bench_plan", args, figures)


if __name__ == "__main__":
    main()
