"""Tables never cut a name short: at any terminal width, and piped at the width they need."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from kura_core.cli.output import simple_table
from tests.core.conftest import Invoke

GATEWAY = "kgw-38dbcc9b3c91-us-east"
CLASS = "kura-us-east-kgw-38dbcc9b3c91-us-east"
LB = "tuist-kgw-38dbcc9b3c91-us-east-ingress"
REASON = "hosted account on the enterprise plan is entitled to dedicated_kura_gateway"
ASSIGN = ("assign", "--account-id", "42", "--handle", "tuist", "--plan", "enterprise", "--hosted")


def _render(width: int) -> str:
    table = simple_table(
        "Gateway",
        ["MODE", "GATEWAY", "INGRESS CLASS", "LOAD BALANCER", "REASON"],
        [["dedicated", GATEWAY, CLASS, LB, REASON]],
    )
    console = Console(width=width, file=io.StringIO())
    console.print(table)
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


def _column(text: str, index: int) -> str:
    """The cell text of column ``index`` of the body rows, folded lines joined again."""
    rows = [line.split("│") for line in text.splitlines() if line.startswith("│")]
    return "".join(row[index + 1].strip() for row in rows)


def test_piped_output_takes_the_width_it_needs(invoke: Invoke) -> None:
    result = invoke(*ASSIGN, "--region", "us-east")
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout
    for name in (GATEWAY, CLASS, LB, REASON):
        assert name in result.stdout


def test_a_wide_terminal_shows_everything_on_one_line() -> None:
    text = _render(200)
    assert all(name in text for name in (GATEWAY, CLASS, LB, REASON))


def test_prose_is_left_out_before_a_name_is_folded() -> None:
    text = _render(130)
    assert max(len(line) for line in text.splitlines()) <= 130
    assert all(name in text for name in (GATEWAY, CLASS, LB))
    assert "REASON left out to fit; -o yaml shows every field." in text


@pytest.mark.parametrize("width", [120, 80, 60])
def test_names_fold_whole_and_are_never_ellipsised(width: int) -> None:
    text = _render(width)
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    assert [_column(text, index) for index in (1, 2, 3)] == [GATEWAY, CLASS, LB]


def test_regions_table_keeps_ingress_classes_whole_at_120_columns() -> None:
    table = simple_table(
        "Regions",
        ["ID", "NAME", "CLUSTER", "LOCATION", "INGRESS CLASS", "NODE POOL", "PROVIDERS"],
        [
            [
                "eu-central",
                "EU Central",
                "eu-central-1",
                "fsn1",
                "kura-eu-central",
                "node.cluster.x-k8s.io/pool=kura",
                "hetzner, ingress-nginx",
            ]
        ],
    )
    console = Console(width=120, file=io.StringIO())
    console.print(table)
    assert isinstance(console.file, io.StringIO)
    assert "kura-eu-central " in console.file.getvalue()
    assert "…" not in console.file.getvalue()
