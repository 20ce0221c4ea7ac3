"""``kura smoke bench --rounds``: the round order, combining rounds into medians, the table."""

from __future__ import annotations

import io
import statistics

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from kura_smoke.bench import (
    BenchReport,
    Direction,
    Figure,
    Path_,
    combine_rounds,
    ratios,
    round_order,
)
from kura_smoke.cli import _bench_table

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
    )


def test_a_single_round_figure_is_its_own_spread() -> None:
    figure = _figure(300.0)
    assert (figure.rounds, figure.mb_per_s_min, figure.mb_per_s_max) == (1, 300.0, 300.0)
    assert combine_rounds([figure]) == [figure]


def test_rounds_alternate_which_target_goes_first() -> None:
    targets = ["gateway", "direct"]
    assert [round_order(targets, r) for r in range(4)] == [
        ["gateway", "direct"],
        ["direct", "gateway"],
        ["gateway", "direct"],
        ["direct", "gateway"],
    ]
    assert round_order(["gateway"], 1) == ["gateway"]
    assert targets == ["gateway", "direct"]  # the caller's list is left as it was


def test_an_odd_count_takes_the_median_round_whole() -> None:
    rounds = [_figure(420.0), _figure(260.0), _figure(390.0)]
    (combined,) = combine_rounds(rounds)
    median = rounds[2]
    assert combined.mb_per_s == 390.0
    # Timings come from that one round, not from a mix of rounds.
    assert (combined.seconds, combined.gbps) == (median.seconds, median.gbps)
    assert (combined.ttfb_p50, combined.ttfb_p95) == (median.ttfb_p50, median.ttfb_p95)
    assert (combined.rounds, combined.mb_per_s_min, combined.mb_per_s_max) == (3, 260.0, 420.0)


def test_an_even_count_takes_the_lower_middle_round() -> None:
    rounds = [_figure(500.0), _figure(100.0), _figure(300.0), _figure(400.0)]
    (combined,) = combine_rounds(rounds)
    assert combined.mb_per_s == 300.0  # not 350.0, the mean of the middle two
    assert combined.seconds == rounds[2].seconds
    assert (combined.rounds, combined.mb_per_s_min, combined.mb_per_s_max) == (4, 100.0, 500.0)
    (two,) = combine_rounds([_figure(200.0), _figure(100.0)])
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
    (combined,) = combine_rounds(rounds)
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
        ("direct", "upload", SIZE),
    ]
    rates = {key: [100.0 + 10 * i, 50.0 + 10 * i, 150.0 + 10 * i] for i, key in enumerate(keys)}
    per_round = [
        _figure(rates[key][r], path=key[0], direction=key[1], size=key[2])
        for r in range(3)
        for key in (keys if r % 2 == 0 else reversed(keys))
    ]
    combined = combine_rounds(per_round)
    assert [(f.path, f.direction, f.size) for f in combined] == keys
    for figure, key in zip(combined, keys, strict=True):
        assert figure.mb_per_s == sorted(rates[key])[1]
        assert (figure.mb_per_s_min, figure.mb_per_s_max) == (min(rates[key]), max(rates[key]))


def test_ratios_are_of_the_medians() -> None:
    rates: dict[Path_, tuple[float, ...]] = {
        "gateway": (420.0, 300.0, 200.0),
        "direct": (260.0, 400.0, 600.0),
    }
    per_round = [
        _figure(rate, path=path, direction="upload") for path in rates for rate in rates[path]
    ]
    (ratio,) = ratios(combine_rounds(per_round))
    assert ratio.direction == "upload"
    assert ratio.gateway_over_direct == round(300.0 / 400.0, 3)


@given(st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=9))
def test_the_median_is_statistics_median_low(tenths: list[int]) -> None:
    rates = [t / 10 for t in tenths]
    (combined,) = combine_rounds([_figure(rate) for rate in rates])
    assert combined.mb_per_s == statistics.median_low(rates)
    assert combined.mb_per_s_min <= combined.mb_per_s <= combined.mb_per_s_max
    assert combined.rounds == len(rates)


def _rendered(figures: list[Figure], rounds: int) -> str:
    report = BenchReport(
        host="kura.example",
        pinned_address=None,
        direct=None,
        concurrency=1,
        rounds=rounds,
        figures=tuple(figures),
        ratios=(),
        client_peak_rss_mib=50.0,
    )
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(_bench_table(report))
    return console.export_text()


def test_the_table_shows_the_spread_only_over_several_rounds() -> None:
    several = _rendered(combine_rounds([_figure(461.3), _figure(412.0), _figure(430.5)]), 3)
    assert "median of 3 rounds" in several
    assert "MB/S RANGE" in several
    assert "412.0-461.3" in several
    once = _rendered([_figure(430.5)], 1)
    assert "rounds" not in once
    assert "RANGE" not in once
