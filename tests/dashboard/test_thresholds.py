"""Threshold levels: units, hysteresis, sustain, and no flapping."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kura_dashboard.data.thresholds import (
    CERT_EXPIRY,
    DEFAULT_THRESHOLDS,
    RELOAD_FAILED,
    SATURATION,
    Level,
    Threshold,
    ThresholdMachine,
    Unit,
    parse_value,
)


@pytest.mark.parametrize(
    ("text", "unit", "value"),
    [
        ("70%", Unit.RATIO, 0.7),
        ("0.7", Unit.RATIO, 0.7),
        (0.7, Unit.RATIO, 0.7),
        ("100%", Unit.RATIO, 1.0),
        ("1.5s", Unit.SECONDS, 1.5),
        ("500ms", Unit.SECONDS, 0.5),
        ("2m", Unit.SECONDS, 120.0),
        ("1h", Unit.SECONDS, 3600.0),
        ("8d", Unit.SECONDS, 691_200.0),
        ("3", Unit.SECONDS, 3.0),
        (12, Unit.SECONDS, 12.0),
    ],
)
def test_values_are_read_in_the_metrics_unit(text: str | float, unit: Unit, value: float) -> None:
    assert parse_value(text, unit) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "unit", "message"),
    [
        ("80", Unit.RATIO, "80 is above 1 for a 0-1 ratio: write 80% or 0-1"),
        (90, Unit.RATIO, "90 is above 1 for a 0-1 ratio: write 90% or 0-1"),
        ("5%", Unit.SECONDS, "'5%': a percentage is only for ratios, not seconds"),
        ("fast", Unit.SECONDS, "'fast' is not a threshold in seconds"),
        ("8w", Unit.SECONDS, "'8w' is not a threshold in seconds"),
        ("2d", Unit.RATIO, "'2d' is not a threshold in ratio"),
    ],
)
def test_ambiguous_units_are_refused(text: str | float, unit: Unit, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(") + "$"):
        parse_value(text, unit)


def test_warn_above_crit_is_refused() -> None:
    with pytest.raises(ValueError, match="need 0 <= warn <= crit"):
        Threshold.parse("saturation", Unit.RATIO, warn="90%", crit="70%", margin="5%")
    with pytest.raises(ValueError, match="need 0 <= crit <= warn for a falling metric"):
        Threshold.parse("cert", Unit.SECONDS, warn="8d", crit="14d", margin="1d", falling=True)


def test_every_default_threshold_has_a_text_label_per_level() -> None:
    assert [level.label for level in Level] == ["OK", "WARN", "CRIT"]
    assert {t.metric for t in DEFAULT_THRESHOLDS} == {
        "saturation", "p95 latency", "5xx", "cert expiry", "reload failed",
    }  # fmt: skip


DAY = 86_400.0


def test_a_certificate_is_critical_under_8_days_and_clears_a_day_above() -> None:
    machine = ThresholdMachine(CERT_EXPIRY)  # warn below 14d, crit below 8d, margin 1d
    assert CERT_EXPIRY.instant(60 * DAY) is Level.OK
    assert CERT_EXPIRY.instant(10 * DAY) is Level.WARN
    assert CERT_EXPIRY.instant(7.9 * DAY) is Level.CRIT
    assert CERT_EXPIRY.instant(-DAY) is Level.CRIT
    levels = feed(machine, [(0, 20 * DAY), (5, 13 * DAY), (10, 7.5 * DAY), (15, 8.5 * DAY)])
    # 8.5 days is above 8 but within the margin: still CRIT; renewed, it clears at once.
    assert levels == [Level.OK, Level.WARN, Level.CRIT, Level.CRIT]
    assert feed(machine, [(20, 9.5 * DAY), (25, 89 * DAY)]) == [Level.WARN, Level.OK]


def test_a_failed_reload_is_critical_at_once_and_clears_with_the_next_success() -> None:
    machine = ThresholdMachine(RELOAD_FAILED)
    assert feed(machine, [(0, 0.0), (5, 1.0), (10, 1.0), (15, 0.0)]) == [
        Level.OK, Level.CRIT, Level.CRIT, Level.OK,
    ]  # fmt: skip
    change = ThresholdMachine(RELOAD_FAILED).update(1.0, 0.0)
    assert change is not None
    assert (change.before, change.after) == (Level.OK, Level.CRIT)


@given(st.lists(st.floats(min_value=-30 * DAY, max_value=90 * DAY), min_size=1, max_size=60))
def test_a_falling_level_never_exceeds_what_the_value_supports(values: list[float]) -> None:
    machine = ThresholdMachine(CERT_EXPIRY)
    for step, value in enumerate(values):
        machine.update(value, step * 5.0)
        assert machine.level <= CERT_EXPIRY.hold(Level.CRIT, value)
        assert machine.level >= CERT_EXPIRY.instant(value)


def feed(machine: ThresholdMachine, samples: Sequence[tuple[float, float | None]]) -> list[Level]:
    levels = []
    for at, value in samples:
        machine.update(value, at)
        levels.append(machine.level)
    return levels


def test_a_level_is_entered_only_once_sustained() -> None:
    machine = ThresholdMachine(SATURATION)  # warn 70%, crit 90%, sustain 10s
    levels = feed(machine, [(0, 0.75), (5, 0.76), (10, 0.77), (15, 0.95), (20, 0.95), (25, 0.95)])
    assert levels == [Level.OK, Level.OK, Level.WARN, Level.WARN, Level.WARN, Level.CRIT]


def test_a_level_is_left_only_below_the_margin() -> None:
    machine = ThresholdMachine(SATURATION)
    feed(machine, [(0, 0.95), (10, 0.95)])
    assert machine.level is Level.CRIT
    # 86% is below crit (90%) but within its 5% margin: still CRIT.
    assert feed(machine, [(15, 0.86)]) == [Level.CRIT]
    # 84% is out of the crit margin but above warn: WARN.
    assert feed(machine, [(20, 0.84)]) == [Level.WARN]
    # 66% is within warn's margin; 64% clears.
    assert feed(machine, [(25, 0.66), (30, 0.64)]) == [Level.WARN, Level.OK]


def test_a_flickering_value_never_flaps() -> None:
    machine = ThresholdMachine(SATURATION)
    # Crossing 90% for a moment at a time never holds for the 10s sustain.
    samples = [(t * 5.0, 0.95 if t % 2 else 0.80) for t in range(40)]
    assert set(feed(machine, samples)) == {Level.OK, Level.WARN}
    assert machine.level is Level.WARN


def test_transitions_carry_the_value_and_time() -> None:
    machine = ThresholdMachine(SATURATION)
    assert machine.update(0.95, 0.0) is None
    change = machine.update(0.96, 10.0)
    assert change is not None
    assert (change.before, change.after, change.value, change.at) == (
        Level.OK,
        Level.CRIT,
        0.96,
        10.0,
    )


def test_a_missing_sample_changes_nothing() -> None:
    machine = ThresholdMachine(SATURATION)
    feed(machine, [(0, 0.95), (10, 0.95)])
    assert feed(machine, [(15, None), (20, None)]) == [Level.CRIT, Level.CRIT]


@given(st.lists(st.floats(min_value=0.0, max_value=1.5), min_size=1, max_size=60))
def test_a_level_is_only_reached_after_10s_above_its_threshold(values: list[float]) -> None:
    machine = ThresholdMachine(SATURATION)
    for step, value in enumerate(values):
        before = machine.level
        machine.update(value, step * 5.0)
        if machine.level > before:
            # Samples every 5s: this one and the two before it (10s) were all above.
            held = values[max(0, step - 2) : step + 1]
            assert step >= 2
            assert all(v > SATURATION.bound(machine.level) for v in held)


@given(st.lists(st.floats(min_value=0.0, max_value=1.5), min_size=1, max_size=60))
def test_the_level_never_exceeds_what_the_value_supports(values: list[float]) -> None:
    machine = ThresholdMachine(SATURATION)
    for step, value in enumerate(values):
        machine.update(value, step * 5.0)
        assert machine.level <= SATURATION.hold(Level.CRIT, value)
