"""``kura smoke`` as a plugin command group, ``kura smoke bench`` and ``kura smoke testbed``."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from kura_smoke.report import Mode
from kura_smoke.testbed.bed import TestBed
from kura_smoke.testbed.kura_node import _Server
from kura_testing.binaries import require_binary
from tests.smoke.conftest import InvokeKura


def test_the_plugin_adds_the_smoke_group(kura: InvokeKura) -> None:
    result = kura("smoke", "--help")
    assert result.exit_code == 0
    for name in ("run", "bench", "testbed"):
        assert f"  {name} " in result.stdout


def test_bench_measures_gateway_and_direct_and_checks_every_byte(
    kura: InvokeKura, bed: TestBed
) -> None:
    smoke = bed.accounts[Mode.REGIONAL]
    host, address = smoke.host, bed.address(Mode.REGIONAL)
    result = kura(
        "smoke", "bench", "--host", host, "--account", smoke.account.handle,
        "--port", str(bed.port), "--resolve", f"{host}:{bed.port}:{address}",
        "--ca-file", str(bed.ca_file), "--token-file", str(bed.token_file),
        "--size", "1MiB", "--size", "2MiB", "--concurrency", "2",
        "--direct", bed.nodes[Mode.REGIONAL].url, "-o", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["pinned_address"] == address
    figures = {(f["path"], f["direction"], f["size"]): f for f in report["figures"]}
    assert len(figures) == 8
    for figure in figures.values():
        assert figure["errors"] == 0
        assert figure["transfers"] == 2
        assert figure["bytes"] == 2 * figure["size"]
        assert figure["mb_per_s"] > 0
        assert (figure["ttfb_p50"] is None) == (figure["direction"] == "upload")
    assert {(r["size"], r["direction"]) for r in report["ratios"]} == {
        (size, direction) for size in (1048576, 2097152) for direction in ("upload", "download")
    }
    assert report["client_peak_rss_mib"] > 0
    # 2 x (1 MiB + 2 MiB) reached the node twice: via the gateway and directly.
    assert bed.nodes[Mode.REGIONAL].stats.written["cas"] == 2 * 2 * (1048576 + 2097152)
    assert bed.token.reveal() not in result.output


def test_bench_rounds_alternate_the_paths_and_report_medians(
    kura: InvokeKura, bed: TestBed, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The node stores every upload, via the gateway or directly, in the order it gets them.
    stored: list[str] = []
    remember = _Server.remember

    def recording(server: _Server, target: Path, checksum: str) -> None:
        stored.append(target.name)
        remember(server, target, checksum)

    monkeypatch.setattr(_Server, "remember", recording)
    smoke = bed.accounts[Mode.REGIONAL]
    host, address = smoke.host, bed.address(Mode.REGIONAL)
    size = 1024 * 1024
    result = kura(
        "smoke", "bench", "--host", host, "--account", smoke.account.handle,
        "--port", str(bed.port), "--resolve", f"{host}:{bed.port}:{address}",
        "--ca-file", str(bed.ca_file), "--token-file", str(bed.token_file),
        "--size", "1MiB", "--rounds", "3",
        "--direct", bed.nodes[Mode.REGIONAL].url, "-o", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rounds"] == 3
    figures = {(f["path"], f["direction"], f["size"]): f for f in report["figures"]}
    assert len(report["figures"]) == len(figures) == 4
    for figure in figures.values():
        assert figure["rounds"] == 3
        assert (figure["transfers"], figure["errors"]) == (3, 0)
        assert figure["bytes"] == 3 * size
        assert 0 < figure["mb_per_s_min"] <= figure["mb_per_s"] <= figure["mb_per_s_max"]
    assert {(r["size"], r["direction"]) for r in report["ratios"]} == {
        (size, "upload"),
        (size, "download"),
    }
    uploads = [re.fullmatch(rf"bench-\w+-(gateway|direct)-{size}-r(\d)-0", name) for name in stored]
    assert [m.groups() if m else None for m in uploads] == [
        ("gateway", "0"), ("direct", "0"),
        ("direct", "1"), ("gateway", "1"),
        ("gateway", "2"), ("direct", "2"),
    ]  # fmt: skip
    assert bed.nodes[Mode.REGIONAL].stats.read["cas"] == 2 * 3 * size


def test_bench_refuses_zero_rounds(kura: InvokeKura) -> None:
    result = kura("smoke", "bench", "--host", "h.example", "--account", "a", "--rounds", "0")
    assert result.exit_code == 2
    assert "--rounds" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("size", ["0B", "512KiB", "3GiB"])
def test_bench_sizes_stay_within_what_the_help_promises(kura: InvokeKura, size: str) -> None:
    result = kura("smoke", "bench", "--host", "h.example", "--account", "a", "--size", size)
    assert result.exit_code == 2
    assert "Invalid value for '--size'" in result.stderr
    assert result.stderr.count("\n") == 1


def test_bench_counts_failed_transfers_and_exits_1(kura: InvokeKura, bed: TestBed) -> None:
    smoke = bed.accounts[Mode.DEDICATED]
    bed.nodes[Mode.DEDICATED].knobs.corrupt_downloads = True
    result = kura(
        "smoke", "bench", "--host", smoke.host, "--account", smoke.account.handle,
        "--port", str(bed.port), "--resolve",
        f"{smoke.host}:{bed.port}:{bed.address(Mode.DEDICATED)}",
        "--ca-file", str(bed.ca_file), "--token-file", str(bed.token_file),
        "--size", "1MiB", "-o", "json",
    )  # fmt: skip
    assert result.exit_code == 1
    (download,) = [f for f in json.loads(result.stdout)["figures"] if f["direction"] == "download"]
    assert download["errors"] == 1
    assert download["problems"] == ["downloaded bytes differ from the upload"]


def test_the_testbed_command_serves_and_cleans_up(kura: InvokeKura, tmp_path: Path) -> None:
    require_binary("nginx")
    info_file = tmp_path / "info.json"
    result = kura(
        "smoke", "testbed", "--for", "0", "-o", "json", "--info-file", str(info_file),
        env={"UV": None},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info == json.loads(info_file.read_text())
    assert set(info["hosts"]) == {"regional", "dedicated"}
    assert info["addresses"] == {"regional": "127.0.0.1", "dedicated": "127.0.0.2"}
    assert info["smoke_command"][:4] == ["kura", "smoke", "run", "--no-cluster"]
    assert "--token-file" in info["smoke_command"]
    assert info["plain_port"] is None
    # The scratch directory (certificates, token file, nginx) is gone once it stopped.
    assert not Path(info["token_file"]).exists()
    assert not Path(info["ca_file"]).parent.exists()


def test_the_testbed_prints_a_command_that_pastes_whole(kura: InvokeKura, tmp_path: Path) -> None:
    require_binary("nginx")
    info_file = tmp_path / "info.json"
    # Run through `uv run` (which sets UV), as a fresh clone must: kura is not on PATH there.
    result = kura(
        "smoke", "testbed", "--for", "0", "--info-file", str(info_file), env={"UV": "/bin/uv"}
    )
    assert result.exit_code == 0, result.output
    argv = json.loads(info_file.read_text())["smoke_command"]
    assert argv[:6] == ["uv", "run", "kura", "smoke", "run", "--no-cluster"]
    pasted = result.stdout.split("smoke it with:\n", 1)[1]
    # What a shell does with the printed lines: continuations join them into one command.
    assert shlex.split(pasted.replace("\\\n", "")) == argv
    assert all(line.endswith(" \\") for line in pasted.splitlines()[:-1])


def test_the_testbed_command_can_serve_plain_http_too(kura: InvokeKura) -> None:
    require_binary("nginx")
    result = kura("smoke", "testbed", "--for", "0", "--plain-http", "-o", "json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert isinstance(info["plain_port"], int)
    assert info["plain_port"] != info["port"]
    table = kura("smoke", "testbed", "--for", "0", "--plain-http")
    assert table.exit_code == 0, table.output
    assert ", http :" in table.stdout
