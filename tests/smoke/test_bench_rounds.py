"""``kura smoke bench --rounds``: the round order, combining rounds into medians, the relay
efficiency of each round, the table."""

from __future__ import annotations

import io
import statistics

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from kura_smoke.bench import (
    Bench,
    BenchReport,
    BenchSettings,
    BenchTarget,
    Direction,
    Figure,
    Path_,
    ceiling,
    combine_rounds,
    relay_efficiency,
    round_order,
    spread,
)
from kura_smoke.cli import _bench_table
from kura_smoke.kura_api import KuraEndpoint
from kura_smoke.secret import Secret

SIZE = 1_048_576


def _figure(
    mb_per_s: float,
    *,
    path: Path_ = "gateway",
    direction: Direction = "download",
    size: int = SIZE,
    transfers: int = 2,
    errors: int = 0,
    problems: tuple[str, ...] = (),
    cpu_s_per_gb: float | None = None,
) -> Figure:
    """A round's figure whose timings all derive from ``mb_per_s``, to tell rounds apart."""
    moved = (transfers - errors) * size
    return Figure(
        path=path,
        direction=direction,
        size=size,
        transfers=transfers,
        errors=errors,
        bytes=moved,
        seconds=moved / (mb_per_s * 1e6),
        mb_per_s=mb_per_s,
        gbps=mb_per_s * 8 / 1000,
        ttfb_p50=1 / mb_per_s if direction == "download" else None,
        ttfb_p95=2 / mb_per_s if direction == "download" else None,
        problems=problems,
        cpu_seconds=cpu_s_per_gb * moved / 1e9 if cpu_s_per_gb is not None else None,
        cpu_s_per_gb=cpu_s_per_gb,
    )


def test_a_single_round_figure_is_its_own_spread() -> None:
    figure = _figure(300.0)
    assert (figure.rounds, figure.mb_per_s_min, figure.mb_per_s_max) == (1, 300.0, 300.0)
    assert combine_rounds([[figure]]) == [figure]


def test_rounds_alternate_which_target_goes_first() -> None:
    targets = ["gateway", "disk"]
    assert [round_order(targets, r) for r in range(4)] == [
        ["gateway", "disk"],
        ["disk", "gateway"],
        ["gateway", "disk"],
        ["disk", "gateway"],
    ]
    assert round_order(["gateway"], 1) == ["gateway"]
    assert targets == ["gateway", "disk"]  # the caller's list is left as it was


def test_an_odd_count_takes_the_median_round_whole() -> None:
    rounds = [_figure(420.0), _figure(260.0), _figure(390.0)]
    (combined,) = combine_rounds([[r] for r in rounds])
    median = rounds[2]
    assert combined.mb_per_s == 390.0
    # Timings come from that one round, not from a mix of rounds.
    assert (combined.seconds, combined.gbps) == (median.seconds, median.gbps)
    assert (combined.ttfb_p50, combined.ttfb_p95) == (median.ttfb_p50, median.ttfb_p95)
    assert (combined.rounds, combined.mb_per_s_min, combined.mb_per_s_max) == (3, 260.0, 420.0)


def test_an_even_count_takes_the_lower_middle_round() -> None:
    rounds = [_figure(500.0), _figure(100.0), _figure(300.0), _figure(400.0)]
    (combined,) = combine_rounds([[r] for r in rounds])
    assert combined.mb_per_s == 300.0  # not 350.0, the mean of the middle two
    assert combined.seconds == rounds[2].seconds
    assert (combined.rounds, combined.mb_per_s_min, combined.mb_per_s_max) == (4, 100.0, 500.0)
    (two,) = combine_rounds([[_figure(200.0)], [_figure(100.0)]])
    assert two.mb_per_s == 100.0


def test_counts_are_summed_and_problems_united() -> None:
    rounds = [
        _figure(100.0, transfers=2, errors=1, problems=("upload answered 503",)),
        _figure(200.0, transfers=2),
        _figure(
            300.0,
            transfers=2,
            errors=2,
            problems=("upload answered 503", "downloaded bytes differ from the upload"),
        ),
    ]
    (combined,) = combine_rounds([[r] for r in rounds])
    assert (combined.transfers, combined.errors) == (6, 3)
    assert combined.bytes == sum(f.bytes for f in rounds) == 3 * SIZE
    assert combined.problems == (
        "downloaded bytes differ from the upload",
        "upload answered 503",
    )


def test_each_path_direction_and_size_is_combined_apart_in_first_seen_order() -> None:
    keys: list[tuple[Path_, Direction, int]] = [
        ("gateway", "upload", SIZE),
        ("gateway", "download", SIZE),
        ("gateway", "upload", 2 * SIZE),
        ("disk", "download", SIZE),
    ]
    rates = {key: [100.0 + 10 * i, 50.0 + 10 * i, 150.0 + 10 * i] for i, key in enumerate(keys)}
    per_round = [
        [
            _figure(rates[key][r], path=key[0], direction=key[1], size=key[2])
            for key in (keys if r % 2 == 0 else reversed(keys))
        ]
        for r in range(3)
    ]
    combined = combine_rounds(per_round)
    assert [(f.path, f.direction, f.size) for f in combined] == keys
    for figure, key in zip(combined, keys, strict=True):
        assert figure.mb_per_s == sorted(rates[key])[1]
        assert (figure.mb_per_s_min, figure.mb_per_s_max) == (min(rates[key]), max(rates[key]))


def test_cpu_time_is_summed_and_charged_to_every_byte_moved() -> None:
    rounds = [
        [_figure(100.0, cpu_s_per_gb=0.5)],
        [_figure(300.0, cpu_s_per_gb=1.5)],
        [_figure(200.0, cpu_s_per_gb=1.0)],
    ]
    (combined,) = combine_rounds(rounds)
    moved = 3 * 2 * SIZE
    assert combined.cpu_seconds == round((0.5 + 1.5 + 1.0) * 2 * SIZE / 1e9, 3)
    assert combined.cpu_s_per_gb == round(combined.cpu_seconds / (moved / 1e9), 3)
    # One round without a CPU reading leaves the sum unknown rather than short.
    (partial,) = combine_rounds([*rounds, [_figure(200.0)]])
    assert (partial.cpu_seconds, partial.cpu_s_per_gb) == (None, None)


def _round(gateway: float, disk: float, cpu: tuple[float, float] | None = None) -> list[Figure]:
    """One round's figures; ``cpu`` is (gateway, disk) CPU seconds per GB."""
    return [
        _figure(gateway, path="gateway", direction="upload"),
        _figure(gateway, path="gateway", cpu_s_per_gb=cpu[0] if cpu else None),
        _figure(disk, path="disk", cpu_s_per_gb=cpu[1] if cpu else None),
    ]


def test_relay_efficiency_is_the_median_of_the_per_round_ratios() -> None:
    rounds = [
        _round(400.0, 500.0, (1.25, 1.0)),  # 0.8, CPU 0.8
        _round(300.0, 300.0, (1.0, 0.9)),  # 1.0, CPU 0.9
        _round(450.0, 500.0, (1.2, 0.6)),  # 0.9, CPU 0.5
    ]
    (efficiency,) = relay_efficiency(rounds)
    assert efficiency.size == SIZE
    assert (efficiency.throughput.median, efficiency.throughput.low) == (0.9, 0.8)
    assert (efficiency.throughput.high, efficiency.throughput.rounds) == (1.0, 3)
    assert efficiency.cpu is not None
    assert (efficiency.cpu.median, efficiency.cpu.low, efficiency.cpu.high) == (0.8, 0.5, 0.9)
    # Not the ratio of the medians: 450/500 happens to agree here, the CPU one does not.
    combined = {(f.path, f.direction): f for f in combine_rounds(rounds)}
    gateway, disk = combined[("gateway", "download")], combined[("disk", "download")]
    assert gateway.cpu_s_per_gb is not None
    assert disk.cpu_s_per_gb is not None
    assert round(disk.cpu_s_per_gb / gateway.cpu_s_per_gb, 3) != efficiency.cpu.median


def test_a_round_with_errors_or_without_cpu_gives_no_ratio() -> None:
    failed = _round(100.0, 500.0, (1.0, 1.0))
    failed[1] = failed[1].model_copy(update={"errors": 1})
    rounds = [_round(400.0, 500.0), failed, _round(300.0, 500.0)]
    (efficiency,) = relay_efficiency(rounds)
    assert efficiency.throughput.rounds == 2
    assert (efficiency.throughput.low, efficiency.throughput.high) == (0.6, 0.8)
    assert efficiency.cpu is None
    # Without disk downloads there is nothing to compare.
    assert relay_efficiency([[_figure(400.0)]]) == []


def test_a_spread_takes_a_measured_middle_round() -> None:
    assert spread([0.9, 0.7]).median == 0.7
    assert spread([0.81234]).model_dump() == {
        "median": 0.812,
        "low": 0.812,
        "high": 0.812,
        "rounds": 1,
    }
    with pytest.raises(ValueError, match="at least one"):
        spread([])


def test_the_ceiling_is_the_disk_figure_and_a_whole_core() -> None:
    disk = _figure(600.0, path="disk", cpu_s_per_gb=0.8)
    found = ceiling(disk)
    assert found is not None
    assert found.mb_per_s == 600.0
    # 0.8 CPU seconds per GB at 0.6 GB/s: the worker was busy 48% of the time.
    assert found.worker_busy == 0.48
    assert found.at_full_cpu_mb_per_s == 1250.0
    assert ceiling(_figure(600.0, path="disk")) is None


@given(st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=9))
def test_the_median_is_statistics_median_low(tenths: list[int]) -> None:
    rates = [t / 10 for t in tenths]
    (combined,) = combine_rounds([[_figure(rate)] for rate in rates])
    assert combined.mb_per_s == statistics.median_low(rates)
    assert combined.mb_per_s_min <= combined.mb_per_s <= combined.mb_per_s_max
    assert combined.rounds == len(rates)


def _rendered(figures: list[Figure], rounds: int) -> str:
    report = BenchReport(
        host="kura.example",
        pinned_address=None,
        disk=None,
        gateway_pid=None,
        concurrency=1,
        rounds=rounds,
        figures=tuple(figures),
        efficiency=(),
        client_peak_rss_mib=50.0,
    )
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(_bench_table(report))
    return console.export_text()


def test_the_table_shows_the_spread_only_over_several_rounds() -> None:
    several = _rendered(combine_rounds([[_figure(461.3)], [_figure(412.0)], [_figure(430.5)]]), 3)
    assert "median of 3 rounds" in several
    assert "MB/S RANGE" in several
    assert "412.0-461.3" in several
    once = _rendered([_figure(430.5)], 1)
    assert "rounds" not in once
    assert "RANGE" not in once


# --- the rounds a bench runs ---------------------------------------------------------------------


class _Store:
    """A gateway and a disk over one store: what the gateway took, both serve back."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.requests: list[tuple[str, str, int]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        key = request.url.path.rsplit("/", 1)[-1]
        self.requests.append((request.method, key, request.url.port or 443))
        if request.method == "POST":
            self.objects[key] = request.read()
            return httpx.Response(204)
        return httpx.Response(200, stream=httpx.ByteStream(self.objects[key]))


def _target(store: _Store, path: Path_, port: int) -> BenchTarget:
    client = httpx.Client(transport=httpx.MockTransport(store.handle))
    return BenchTarget(client, KuraEndpoint("https", "kura.example", port, "acme"), path)


def test_each_round_uploads_through_the_gateway_and_alternates_the_downloads() -> None:
    store = _Store()
    settings = BenchSettings(run_id="r", seed=7, sizes=(1024, 2048), rounds=3)
    readings = iter(float(n) for n in range(100))
    bench = Bench(settings, token=Secret("t"), gateway_cpu=lambda: next(readings) ** 2)
    rounds = bench.run(_target(store, "gateway", 443), _target(store, "disk", 8443))
    assert [[(f.path, f.direction, f.size) for f in r] for r in rounds] == [
        [("gateway", "upload", 1024), ("gateway", "download", 1024), ("disk", "download", 1024),
         ("gateway", "upload", 2048), ("gateway", "download", 2048), ("disk", "download", 2048)],
        [("gateway", "upload", 1024), ("disk", "download", 1024), ("gateway", "download", 1024),
         ("gateway", "upload", 2048), ("disk", "download", 2048), ("gateway", "download", 2048)],
        [("gateway", "upload", 1024), ("gateway", "download", 1024), ("disk", "download", 1024),
         ("gateway", "upload", 2048), ("gateway", "download", 2048), ("disk", "download", 2048)],
    ]  # fmt: skip
    # Uploads go to the gateway only; the disk serves what the gateway stored, every byte checked.
    assert {port for method, _, port in store.requests if method == "POST"} == {443}
    downloads = [f for r in rounds for f in r if f.direction == "download"]
    assert all(f.errors == 0 and f.bytes == f.size for f in downloads)
    # Each phase is charged the CPU time read around it, and only that: n**2 read before and
    # (n+1)**2 after the phase that is the n/2-th, so 2n+1 seconds.
    phases = [f for r in rounds for f in r]
    assert [f.cpu_seconds for f in phases] == [2.0 * n + 1 for n in range(0, 2 * len(phases), 2)]
    assert phases[0].cpu_s_per_gb == round(1.0 / (1024 / 1e9), 3)


def test_without_a_disk_or_cpu_the_rounds_are_the_gateway_alone() -> None:
    store = _Store()
    bench = Bench(BenchSettings(run_id="r", seed=7, sizes=(1024,), rounds=2), token=Secret("t"))
    rounds = bench.run(_target(store, "gateway", 443))
    assert [[(f.path, f.direction) for f in r] for r in rounds] == 2 * [
        [("gateway", "upload"), ("gateway", "download")]
    ]
    assert all(f.cpu_seconds is None and f.cpu_s_per_gb is None for r in rounds for f in r)
    assert relay_efficiency(rounds) == []
