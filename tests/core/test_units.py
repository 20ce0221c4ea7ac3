"""Bandwidth, data sizes and durations: parsing, printing, arithmetic and pydantic fields."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from kura_core.units import Bandwidth, DataSize, Duration


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (Bandwidth, "600MB/s"),
        (Bandwidth, "4.8Gbps"),
        (Bandwidth, "500Mb/s"),
        (Bandwidth, "1.5GiB/s"),
        (DataSize, "2GB"),
        (DataSize, "500MB"),
        (DataSize, "1.5GiB"),
        (Duration, "2m"),
        (Duration, "5m"),
        (Duration, "90s"),
        (Duration, "1h"),
    ],
)
def test_what_is_typed_prints_back_unchanged(
    kind: type[Bandwidth] | type[DataSize] | type[Duration], text: str
) -> None:
    assert str(kind.parse(text)) == text


def test_decimal_si_as_the_seed_uses_it() -> None:
    peak = Bandwidth.parse("600MB/s")
    assert peak == Bandwidth.parse("4.8Gbps") == Bandwidth.parse("4800Mbps")
    assert peak.bits_per_second == 4_800_000_000
    assert peak.gbps == 4.8
    assert peak.megabytes_per_second == 600
    assert DataSize.parse("2GB").bytes == 2_000_000_000


def test_binary_sizes_and_bit_rates() -> None:
    assert DataSize.parse("1KiB").bytes == 1024
    assert DataSize.parse("1GiB").bytes == 2**30
    assert Bandwidth.parse("1GiB/s").bits_per_second == 8 * 2**30
    assert Bandwidth.parse("500Mb/s") == Bandwidth.parse("500Mbps") == Bandwidth.parse("62.5MB/s")
    assert Bandwidth.parse("10Gbit/s") == Bandwidth.parse("10Gbps")
    assert Bandwidth.parse("600 MB/s") == Bandwidth.parse("600MB/s")


def test_case_is_forgiven_only_where_it_cannot_change_the_meaning() -> None:
    assert Bandwidth.parse("5gbps") == Bandwidth.parse("5Gbps")
    with pytest.raises(ValueError, match=r"did you mean MB/s or Mb/s"):
        Bandwidth.parse("5mb/s")


def test_durations() -> None:
    assert Duration.parse("2m").seconds == 120
    assert Duration.parse("1h").seconds == 3600
    assert str(Duration(120.0)) == "2m"
    assert str(Duration(90.0)) == "90s"
    assert str(Duration(5400.0)) == "90m"
    assert str(Duration.parse("1.5h")) == "1.5h"


@pytest.mark.parametrize(
    "text", ["", "5", "Gbps", "-1Gbps", "5 parsecs", "five Gbps", "1e400Gbps", "5 Gb ps"]
)
def test_bad_bandwidths_name_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="bandwidth") as caught:
        Bandwidth.parse(text)
    if text != "1e400Gbps":
        assert "MB/s" in str(caught.value)
        assert "Gbps" in str(caught.value)


@pytest.mark.parametrize("text", ["2", "2 XB", "2Gbps", "-2GB"])
def test_bad_sizes_name_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a data size.*GiB"):
        DataSize.parse(text)


@pytest.mark.parametrize("text", ["2", "2 days", "2ms", "-1s"])
def test_bad_durations_name_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a duration.*units: s, m, h"):
        Duration.parse(text)


def test_arithmetic() -> None:
    demand = DataSize.parse("2GB") * 500 / Duration.parse("2m")
    assert isinstance(demand, Bandwidth)
    assert demand.bits_per_second == pytest.approx(500 * 2e9 * 8 / 120)
    assert Bandwidth.parse("10Gbps") / Bandwidth.parse("4Gbps") == 2.5
    assert Bandwidth.parse("1Gbps") - Bandwidth.parse("3Gbps") == Bandwidth(0.0)
    assert Bandwidth.parse("1Gbps") + Bandwidth.parse("1Gbps") == Bandwidth.parse("2Gbps")
    assert 3 * Bandwidth.parse("1Gbps") == Bandwidth.parse("3Gbps")
    with pytest.raises(ValueError, match="zero-length window"):
        DataSize.parse("1GB") / Duration(0.0)
    with pytest.raises(ValueError, match="zero bandwidth"):
        Bandwidth.parse("1Gbps") / Bandwidth(0.0)


def test_equality_ignores_the_display_unit_and_kinds_never_mix() -> None:
    assert Bandwidth.parse("8Gbps") == Bandwidth.parse("1GB/s")
    assert hash(Bandwidth.parse("8Gbps")) == hash(Bandwidth.parse("1GB/s"))
    different: object = DataSize(1.0)
    assert Bandwidth(1.0) != different
    assert Bandwidth.parse("1Gbps") < Bandwidth.parse("1GB/s")


def test_human_rounds_to_three_figures() -> None:
    assert Bandwidth.parse("600MB/s").human("Gbps") == "4.8 Gbps"
    assert Bandwidth.parse("600MB/s").human() == "600 MB/s"
    assert (DataSize.parse("2GB") * 500 / Duration.parse("2m")).human("Gbps") == "66.7 Gbps"
    assert Bandwidth.parse("1234GB/s").human() == "1,234 GB/s"


def test_invalid_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        Bandwidth(-1.0)
    with pytest.raises(ValueError, match="finite"):
        Bandwidth(float("nan"))
    with pytest.raises(ValueError, match="unknown bandwidth unit"):
        Bandwidth(1.0, "furlongs")


class _Model(BaseModel):
    rate: Bandwidth
    size: DataSize
    window: Duration


def test_pydantic_fields_read_and_write_text() -> None:
    model = _Model.model_validate({"rate": "600MB/s", "size": "2GB", "window": "2m"})
    assert model.rate == Bandwidth.parse("4.8Gbps")
    assert model.model_dump(mode="json") == {"rate": "600MB/s", "size": "2GB", "window": "2m"}
    assert _Model.model_validate_json(model.model_dump_json()) == model
    assert _Model.model_json_schema()["properties"]["rate"]["type"] == "string"


def test_pydantic_fields_reject_bare_numbers() -> None:
    with pytest.raises(ValidationError) as caught:
        _Model.model_validate({"rate": 600, "size": "2GB", "window": ["2m"]})
    messages = [error["msg"] for error in caught.value.errors()]
    assert any("600 has no unit" in message for message in messages)
    assert any("expected a duration" in message for message in messages)


_AMOUNTS = st.floats(min_value=0, max_value=1e300, allow_nan=False, allow_infinity=False)


@given(_AMOUNTS, st.sampled_from(["", *Bandwidth.UNITS]))
def test_bandwidth_round_trips(value: float, unit: str) -> None:
    amount = Bandwidth(value, unit)
    assert Bandwidth.parse(str(amount)) == amount


@given(_AMOUNTS, st.sampled_from(["", *DataSize.UNITS]))
def test_data_size_round_trips(value: float, unit: str) -> None:
    amount = DataSize(value, unit)
    assert DataSize.parse(str(amount)) == amount


@given(_AMOUNTS, st.sampled_from(["", *Duration.UNITS]))
def test_duration_round_trips(value: float, unit: str) -> None:
    amount = Duration(value, unit)
    assert Duration.parse(str(amount)) == amount


@given(
    st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False),
    st.sampled_from(list(Bandwidth.UNITS)),
)
def test_typed_text_keeps_its_unit(number: object, unit: str) -> None:
    amount = Bandwidth.parse(f"{number}{unit}")
    assert Bandwidth.parse(str(amount)) == amount
    assert str(amount).endswith(unit)
