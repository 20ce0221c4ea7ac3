"""The dashboard at scale: 3 regions, 2 shards each, 500 dedicated gateways.

Run: ``uv run python bench/bench_dashboard.py [--dedicated N] [--rounds N] [--only PART]
[--json FILE]``.

Prints, as figures (no assertions):

* Prometheus queries per refresh, counted against the real ``prometheus`` (when installed) loaded
  with ingress-nginx series for every gateway: for the 6 shards alone, then for the whole fleet,
  with the raw queries, then with kura's recording rules loaded (``kura recording-rules``, what
  they recorded backfilled by ``promtool``), then with the same recorded series scraped into a
  fresh Prometheus's head, where a live Prometheus reads them; the time of one such refresh
  (fetch + state update), and where it goes: the fetch (queries, HTTP, JSON, reading the
  series) and the state update apart, the CPU time per refresh of this process and of
  Prometheus (its evaluation), which a busy machine inflates less than the wall time, the load
  average after it, and the speed reference beside it (``_figures.speed_reference``);
* the time to compute one simulated refresh (collect one tick + update the state);
* the time to render one frame at 160x48: the overview and a region's drill-down (redraw from the
  state, then the whole screen composed to SVG), and the ``--once`` frame;
* the memory an hour of simulated history takes (720 ticks at 5 s): the history rings, and what
  the dashboard state holds in total (tracemalloc).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from kura_core.metric_queries import MetricQueries
from kura_core.plugins import PluginHost
from kura_core.recording_rules import DEFAULT_INTERVAL, rule_groups
from kura_core.regions import Region, managed_catalogs
from kura_core.scenario import SEED_BURSTS, RegionSpec, Scenario
from kura_core.simulator import BurstPattern, SimulatedAccount, SimulationScenario, Simulator
from kura_core.units import Bandwidth, Duration
from kura_dashboard.app import KuraDashboard
from kura_dashboard.data.collector import Collector
from kura_dashboard.data.readings import GatewayObject
from kura_dashboard.data.sources.simulation import SimulatedInventory, SimulationSource
from kura_dashboard.data.state import DashboardState
from kura_dashboard.data.topology import Topology, cluster_topology, simulated_topology
from kura_dashboard.frame import render_frame

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._figures import add_json_option, speed_reference, write
from kura_smoke.proc import cpu_seconds
from kura_testing.prometheus import (
    T0,
    PodLoad,
    PrometheusServer,
    backfill,
    exposition_of,
    ingress_nginx_openmetrics,
    prometheus_scraping,
    prometheus_server,
    prometheus_with_rules,
)

NOW = 1_800_000_000.0
# Where the refreshes read the backfilled series: 8 minutes in, a whole rate window behind.
AT = T0 + 8 * 60


def regions() -> list[Region]:
    return list(managed_catalogs()["production"])


def fleet(dedicated: int) -> SimulationScenario:
    """Two shards per region and ``dedicated`` accounts on gateways of their own; one in ten of
    them runs the nightly burst of docs/capacity.md."""
    ids = [r.id for r in regions()]
    nightly = SEED_BURSTS[0]
    accounts = [
        SimulatedAccount(
            handle=f"acct-{number:04d}",
            id=10_000 + number,
            region=ids[number % len(ids)],
            dedicated=True,
            steady=Bandwidth.parse(f"{100 + (number % 50) * 10}Mbps"),
            bursts=[
                BurstPattern(
                    **nightly.model_dump(),
                    every=Duration.parse("15m"),
                    start=Duration(float(number % 13) * 60),
                )
            ]
            if number % 10 == 0
            else [],
        )
        for number in range(dedicated)
    ]
    return SimulationScenario(
        name=f"bench-{dedicated}",
        regions={rid: RegionSpec(shards=2) for rid in ids},
        accounts=accounts,
    )


def timed(call: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Best and median seconds of ``rounds`` calls."""
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return min(samples), statistics.median(samples)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def milli(seconds: float) -> float:
    return round(seconds * 1000, 1)


def simulated(scenario: SimulationScenario, history: int = 720) -> tuple[Collector, DashboardState]:
    simulator = Simulator(scenario, regions())
    clock = Clock(NOW)
    source = SimulationSource(simulator, start=NOW)
    collector = Collector(source, SimulatedInventory(simulator, regions()), clock)
    state = DashboardState(simulated_topology(simulator, regions()), history=history)
    return collector, state


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def measure(
    server: PrometheusServer,
    topology: Topology,
    queries: list[MetricQueries],
    rounds: int,
    at: float = AT,
) -> dict[str, Any]:
    """``rounds`` refreshes of every gateway against ``server`` at ``at``: queries, time,
    CPU."""
    from kura_dashboard.data.sources.prometheus import PrometheusSource

    state = DashboardState(topology)
    reader = PrometheusSource(server.url, queries, evaluation_time=at)
    collector = Collector(reader, None, Clock(at))
    # Connections and threads up; the first refresh also learns which rules are loaded.
    for _ in range(2):
        state.apply(collector.collect())
    # As `kura dashboard` does before it runs: the heap so far is never garbage.
    gc.freeze()
    sent = reader.queries_sent
    references = []
    fetches, applies = [], []
    served, used = cpu_seconds(server.process.pid), 0.0
    for _ in range(rounds):
        # How fast the machine is just now: it changes within minutes on a shared VM.
        references.append(speed_reference(rounds=1))
        used -= time.process_time()
        started = time.perf_counter()
        snapshot = collector.collect()
        fetched = time.perf_counter()
        state.apply(snapshot)
        fetches.append(fetched - started)
        applies.append(time.perf_counter() - fetched)
        used += time.process_time()
    served = cpu_seconds(server.process.pid) - served
    reader.close()
    refreshes = [f + a for f, a in zip(fetches, applies, strict=True)]
    (status,) = collector.statuses
    return {
        "gateways": len(topology.gateways),
        "gateways_with_series": sum(s.at is not None for s in state.gateways.values()),
        "read_with": status.note,
        "queries_per_refresh": (reader.queries_sent - sent) // rounds,
        "refresh_ms_best": milli(min(refreshes)),
        "refresh_ms_median": milli(statistics.median(refreshes)),
        "fetch_ms_median": milli(statistics.median(fetches)),
        "state_update_ms_median": milli(statistics.median(applies)),
        "client_cpu_ms_per_refresh": milli(used / rounds),
        "prometheus_cpu_ms_per_refresh": milli(served / rounds),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "speed_reference_ms": statistics.median(references),
    }


def show(entry: dict[str, Any], how: str) -> None:
    print(
        f"prometheus, {entry['gateways']} gateways ({entry['gateways_with_series']} with "
        f"series), {how} ({entry['read_with']}): {entry['queries_per_refresh']} queries per "
        f"refresh; refresh (fetch + state) best {entry['refresh_ms_best']} ms, median "
        f"{entry['refresh_ms_median']} ms (fetch {entry['fetch_ms_median']} ms, state "
        f"{entry['state_update_ms_median']} ms); CPU per refresh: dashboard "
        f"{entry['client_cpu_ms_per_refresh']} ms, prometheus "
        f"{entry['prometheus_cpu_ms_per_refresh']} ms; load "
        f"{', '.join(f'{x:.2f}' for x in entry['load_average'])}; speed reference "
        f"{entry['speed_reference_ms']} ms"
    )


def bench_prometheus(scenario: SimulationScenario, rounds: int) -> dict[str, Any]:
    """Raw queries for the 6 shards and for the whole fleet, then the whole fleet again with
    kura's recording rules loaded (``kura recording-rules``) and what they recorded."""
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    host = PluginHost(environ={})
    ingress = {r.id: host.ingress_provider(r.ingress_provider) for r in regions()}
    queries = [provider.metric_queries() for provider in ingress.values()]
    from kura_dashboard.data.sources.prometheus import PrometheusSource

    if prometheus is None or promtool is None:
        reader = PrometheusSource("http://127.0.0.1:9", queries)
        print(f"prometheus: not installed; queries per refresh: {reader.queries_per_refresh}")
        return {"queries_per_refresh": reader.queries_per_refresh}
    simulator = Simulator(scenario, regions())
    dedicated = [
        GatewayObject(
            name=g.name,
            namespace="kura",
            region=g.region,
            ingress_class=g.ingress_class,
            controller_class=None,
            replicas=g.ceiling.replicas,
        )
        for g in simulator.fleet
        if g.account is not None
    ]

    def controller(region: Region, ingress_class: str) -> str:
        return ingress[region.id].default_controller_class(ingress_class)

    shared = Scenario(regions={r.id: RegionSpec(shards=2) for r in regions()})
    rules = rule_groups(
        {r.ingress_provider: ingress[r.id].metric_queries() for r in regions()}, DEFAULT_INTERVAL
    )
    # What the dashboard reads when the rules are loaded: the record each query names, once
    # (regions of one provider share its queries).
    read = list(
        dict.fromkeys(q.reads_record for qs in queries for q in qs.by_gateway if q.reads_record)
    )
    figures: dict[str, Any] = {}
    for key, gateways in (("shards", []), ("fleet", dedicated)):
        topology = cluster_topology(regions(), shared, controller, gateways)
        classes = [g.label for g in topology.gateways]
        with tempfile.TemporaryDirectory() as scratch:
            workdir = Path(scratch)
            started = time.perf_counter()
            text = ingress_nginx_openmetrics({c: [PodLoad()] for c in classes}, minutes=10)
            data = backfill(promtool, text, workdir)
            print(f"backfilled {len(classes)} gateways in {time.perf_counter() - started:.1f}s")
            with prometheus_server(prometheus, data, workdir) as server:
                figures[key] = measure(server, topology, queries, rounds)
            show(figures[key], "raw queries")
            if key == "shards":
                continue
            path = workdir / "kura-rules.yml"
            path.write_text(json.dumps(rules), encoding="utf-8")  # JSON is YAML
            with prometheus_with_rules(
                prometheus, promtool, data, workdir, path, start=AT - 60, end=AT + 60
            ) as server:
                figures[f"{key}_recorded"] = measure(server, topology, queries, rounds)
                exposition = exposition_of(server.url, read, AT)
            show(figures[f"{key}_recorded"], "recording rules loaded, series in blocks")
            # The same recorded series in a fresh Prometheus's head, as a live one reads them.
            with prometheus_scraping(prometheus, exposition, workdir, rules=path) as server:
                head = measure(server, topology, queries, rounds, at=time.time())
            figures[f"{key}_recorded_head"] = head
            show(head, "recording rules loaded, series in the head")
    return figures


def bench_refresh(scenario: SimulationScenario, rounds: int) -> dict[str, Any]:
    collector, state = simulated(scenario)
    clock = collector.clock
    assert isinstance(clock, Clock)

    def refresh() -> None:
        clock.now += 5
        state.apply(collector.collect())

    best, median = timed(refresh, rounds)
    gateways = len(state.gateways)
    print(
        f"simulated refresh ({gateways} gateways, one tick): best {ms(best)}, median {ms(median)}"
    )
    return {"gateways": gateways, "ms_best": milli(best), "ms_median": milli(median)}


def bench_render(scenario: SimulationScenario, rounds: int) -> dict[str, Any]:
    collector, state = simulated(scenario)
    clock = collector.clock
    assert isinstance(clock, Clock)
    for _ in range(120):
        clock.now += 5
        state.apply(collector.collect())
    out = Console(file=io.StringIO(), width=160, force_terminal=True)
    best, median = timed(
        lambda: out.print(
            render_frame(state, clock.now, env="production", simulated=True, label="x", width=160)
        ),
        rounds,
    )
    print(f"--once frame (rich, 160 columns): best {ms(best)}, median {ms(median)}")
    figures: dict[str, Any] = {"once_frame_ms_median": milli(median)}
    app = KuraDashboard(
        collector, state, env="production", simulated=True, metric_window="5s", clock=clock,
        interval=300.0,
    )  # fmt: skip

    async def drive() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            for name, keys in (("overview", ()), ("region drill-down", ("enter",))):
                await pilot.press(*keys)
                await pilot.pause()
                screen = app.screen
                redraw = timed(screen.refresh_view, rounds)  # type: ignore[attr-defined]
                composed = timed(app.export_screenshot, rounds)
                rows = screen.table.row_count  # type: ignore[attr-defined]
                print(
                    f"frame at 160x48, {name} ({rows} rows): redraw from state median "
                    f"{ms(redraw[1])}, whole screen composed median {ms(composed[1])}"
                )
                figures[name] = {
                    "rows": rows,
                    "redraw_ms_median": milli(redraw[1]),
                    "composed_ms_median": milli(composed[1]),
                }

    asyncio.run(drive())
    return figures


def bench_memory(scenario: SimulationScenario) -> dict[str, Any]:
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    collector, state = simulated(scenario, history=720)
    clock = collector.clock
    assert isinstance(clock, Clock)
    created = tracemalloc.get_traced_memory()[0]
    clock.now += 720 * 5
    state.apply(collector.collect())
    after = tracemalloc.take_snapshot()
    total = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    tracemalloc.stop()
    print(
        f"an hour of history (720 ticks x {len(state.gateways)} gateways + "
        f"{len(state.regions)} regions): rings {state.history_bytes / 2**20:.1f} MiB; "
        f"simulator, sources and state {total / 2**20:.1f} MiB "
        f"({created / 2**20:.1f} MiB before the first tick); "
        f"{len(state.events)} events held"
    )
    return {
        "ticks": 720,
        "rings_mib": round(state.history_bytes / 2**20, 1),
        "total_mib": round(total / 2**20, 1),
    }


PARTS = ("prometheus", "simulated_refresh", "render", "memory_hour")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dedicated", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument(
        "--only", choices=PARTS, action="append", help="run only this part (repeatable)"
    )
    add_json_option(parser)
    args = parser.parse_args()
    scenario = fleet(args.dedicated)
    print(f"fleet: 3 regions x 2 shards + {args.dedicated} dedicated gateways")
    parts: dict[str, Callable[[], dict[str, Any]]] = {
        "prometheus": lambda: bench_prometheus(scenario, args.rounds),
        "simulated_refresh": lambda: bench_refresh(scenario, args.rounds),
        "render": lambda: bench_render(scenario, max(3, args.rounds // 4)),
        "memory_hour": lambda: bench_memory(scenario),
    }
    figures = {name: run() for name, run in parts.items() if not args.only or name in args.only}
    write(args.json, "bench_dashboard", args, figures)


if __name__ == "__main__":
    main()
