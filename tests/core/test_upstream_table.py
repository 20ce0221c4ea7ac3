"""docs/upstream.md's table of upstream names against kura's, checked row by row against the code.

Each row names where kura holds its value: a constant, a command's flag or default, a key of the
gateway ConfigMap, the hosted default, or the test that shows a behaviour. A row whose cell no
longer matches the code fails here, and so does a ``same`` row whose values differ or a
``differs`` row whose values agree or that gives no reason.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest

from kura_core.assignment import hosted_from_env
from kura_core.cli.app import build_cli
from kura_core.plugins import PluginHost
from kura_operator.cli import run_command
from kura_provider_hetzner.gateway_config import gateway_nginx_config
from kura_provider_hetzner.gateway_tuning import GatewayTuning

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "upstream.md"
HEADER = "| what | upstream | kura | in kura | verdict |"
_CODE = re.compile(r"`([^`]*)`")


@dataclass(frozen=True)
class Row:
    what: str
    upstream: str
    kura: str
    source: str
    verdict: str


def _code(cell: str) -> str:
    found = _CODE.search(cell)
    assert found is not None, f"no `value` in {cell!r}"
    return found.group(1)


def table_rows(text: str) -> list[Row]:
    lines = text.splitlines()
    start = lines.index(HEADER) + 2  # the header and its rule
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        assert len(cells) == 5, f"a row has five cells: {line}"
        what, upstream, kura, source, verdict = cells
        rows.append(Row(what, _code(upstream), _code(kura), source, verdict))
    return rows


def _command(path: str) -> click.Command:
    if path == "kura-operator":
        return run_command
    words = path.split()
    assert words[0] == "kura", path
    command: click.Command = build_cli(PluginHost(environ={}))
    for word in words[1:]:
        assert isinstance(command, click.Group), path
        command = command.commands[word]
    return command


def _option(target: str) -> click.Option:
    path, flag = target.rsplit(" ", 1)
    for param in _command(path).params:
        if isinstance(param, click.Option) and flag in (*param.opts, *param.secondary_opts):
            return param
    raise AssertionError(f"{path} has no option {flag}")


def _test_exists(target: str) -> bool:
    file, name = target.split("::")
    assert (ROOT / file).is_file(), file
    module = importlib.import_module(file.removesuffix(".py").replace("/", "."))
    return callable(getattr(module, name, None))


def _equal(text: str, value: Any) -> bool:
    if isinstance(value, bool):
        return text == str(value).lower()
    if isinstance(value, int | float):
        try:
            return float(text) == float(value)
        except ValueError:
            return False
    if isinstance(value, Mapping):
        return text in value
    if isinstance(value, Collection) and not isinstance(value, str):
        items = [item.strip() for item in text.split(",")]
        return set(items) == set(value) if len(items) > 1 else text in value
    return text == str(value)


def kura_value_matches(row: Row) -> bool:
    """Whether the code holds the row's kura value where the row says it does."""
    kind, _, rest = row.source.partition(" ")
    if kind == "hosted-default":
        return row.kura == ("on" if hosted_from_env({}) else "off")
    target = _code(rest)
    if kind == "const":
        module, name = target.rsplit(".", 1)
        return _equal(row.kura, getattr(importlib.import_module(module), name))
    if kind == "flag":
        option = _option(target)
        return row.kura in (*option.opts, *option.secondary_opts)
    if kind == "default":
        return _equal(row.kura, _option(target).default)
    if kind == "nginx-key":
        return row.kura == gateway_nginx_config(GatewayTuning())[target]
    if kind == "test":
        return _test_exists(target)
    raise AssertionError(f"unknown source kind {kind!r} in {row.source!r}")


def verdict_problem(row: Row) -> str | None:
    same = row.upstream == row.kura
    if row.verdict == "same":
        return None if same else "marked same, but the values differ"
    reason = row.verdict.removeprefix("differs:").strip()
    if not row.verdict.startswith("differs:") or len(reason.split()) < 4:
        return "the verdict is `same` or `differs:` with the reason"
    # Behaviour rows describe; a `differs` row whose values agree is a stale one.
    return "marked differs, but the values agree" if same else None


ROWS = table_rows(DOC.read_text(encoding="utf-8"))


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.what} ({r.upstream})" for r in ROWS])
def test_each_row_holds_against_the_code(row: Row) -> None:
    assert kura_value_matches(row), f"{row.what}: the code no longer holds {row.kura!r}"
    problem = verdict_problem(row)
    assert problem is None, f"{row.what}: {problem}"


def test_the_table_covers_what_upstream_names() -> None:
    upstream = {row.upstream for row in ROWS}
    expected = {
        "TUIST_HOSTED",
        "TUIST_CLOUD_HOSTED",
        "TUIST_KURA_AVAILABLE_REGIONS",
        "TUIST_KURA_TUIST_BASE_URL",
        "TUIST_KURA_DEDICATED_GATEWAY_ACCOUNTS",
        "--gateway-service-account-name",
        "--grpc-cluster-issuer",
        "http2_body_preread_size 4m;",
    }
    assert expected <= upstream, sorted(expected - upstream)


GATEWAYS = "const `kura_core.resources.DEFAULT_GATEWAY_REPLICAS`"


@pytest.mark.parametrize(
    ("row", "why"),
    [
        # The code moved on and the table did not.
        (Row("w", "30", "31", "default `kura-operator --resync`", "differs: a b c d"), "kura"),
        (Row("w", "x", "kura", "const `kura_core.regions.NODE_POOL_LABEL`", "same"), "kura"),
        (Row("w", "a", "--nope", "flag `kura-operator --nope`", "same"), "raises"),
        # The verdict lies or gives no reason.
        (Row("w", "2", "2", GATEWAYS, "differs: because"), "verdict"),
        (Row("w", "1", "2", GATEWAYS, "same"), "verdict"),
    ],
)
def test_a_stale_row_fails(row: Row, why: str) -> None:
    if why == "raises":
        with pytest.raises(AssertionError):
            kura_value_matches(row)
    elif why == "kura":
        assert not kura_value_matches(row)
    else:
        assert kura_value_matches(row)
        assert verdict_problem(row) is not None
