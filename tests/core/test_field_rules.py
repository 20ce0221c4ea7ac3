"""The field rules in the models: the same cases the real API server refuses with the generated
CRDs (tests/operator/test_admission.py), refused here in one line naming the field."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kura_core.errors import InputError
from kura_core.field_rules import LabelKeys, Text, shown
from kura_core.resources import parse_resource, to_manifest
from tests.support.field_cases import Bad, bad_objects, good_objects


@pytest.mark.parametrize("obj", good_objects())
def test_what_the_control_plane_renders_is_valid_and_kept_whole(obj: dict[str, Any]) -> None:
    parsed = to_manifest(parse_resource(obj))
    assert parsed["spec"] == obj["spec"]


@pytest.mark.parametrize("case", bad_objects())
def test_a_broken_rule_is_one_line_naming_the_field(case: Bad) -> None:
    with pytest.raises(InputError) as caught:
        parse_resource(case.obj)
    message = str(caught.value)
    # "invalid <kind> <name>: <field>[<key or index>]: <problem>"
    assert re.search(rf": {re.escape(case.field)}[.\[]?[^:]*: ", message), message
    assert "\n" not in message
    # A 2 MiB value is not quoted back whole.
    assert len(message) < 1000


def test_long_values_are_cut_short_in_messages() -> None:
    assert shown("abc") == "'abc'"
    assert shown("x" * 81) == f"{'x' * 80!r}... (81 characters)"


def test_a_text_rule_says_what_the_value_must_be() -> None:
    rule = Text("a thing (t, h, i, n, g)", max_length=5, pattern=r"^[thing]+$")
    assert rule.check("thing") == "thing"
    with pytest.raises(ValueError, match=r"^'THING' is not a thing \(t, h, i, n, g\)$"):
        rule.check("THING")
    with pytest.raises(ValueError, match="is longer than 5 characters; it must be a thing"):
        rule.check("things")
    # fullmatch, as RE2 anchors: a trailing newline is not a match.
    with pytest.raises(ValueError, match="is not a thing"):
        rule.check("thin\n")


def test_label_keys_name_every_key_at_fault() -> None:
    rule = LabelKeys(max_properties=3)
    assert rule.check({"tuist.dev/a": "", "b": ""}) == {"tuist.dev/a": "", "b": ""}
    with pytest.raises(ValueError, match=r"in all\); 'bad key!' is not$"):
        rule.check({"ok": "", "bad key!": ""})
    with pytest.raises(ValueError, match=r"in all\); 'bad key!', '-x' are not$"):
        rule.check({"ok": "", "bad key!": "", "-x": ""})
    with pytest.raises(ValueError, match="must have at most 3 entries, not 4"):
        rule.check({f"k{i}": "" for i in range(4)})
