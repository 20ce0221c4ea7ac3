"""``kura smoke`` as a plugin command group, ``kura smoke bench`` and ``kura smoke testbed``."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Callable
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


def _bench_args(bed: TestBed, mode: Mode = Mode.REGIONAL) -> list[str]:
    """``kura smoke bench`` at one of the bed's gateways, its disk port pinned too."""
    smoke = bed.accounts[mode]
    host, address = smoke.host, bed.address(mode)
    args = [
        "smoke", "bench", "--host", host, "--account", smoke.account.handle,
        "--port", str(bed.port), "--resolve", f"{host}:{bed.port}:{address}",
        "--ca-file", str(bed.ca_file), "--token-file", str(bed.token_file),
    ]  # fmt: skip
    if bed.disk_port is not None:
        args += ["--resolve", f"{host}:{bed.disk_port}:{address}",
                 "--disk", f"https://{host}:{bed.disk_port}"]  # fmt: skip
    return args


def test_bench_measures_gateway_and_disk_and_checks_every_byte(
    kura: InvokeKura, make_bed: Callable[..., TestBed]
) -> None:
    bed = make_bed(from_disk=True)
    assert bed.nginx is not None
    assert bed.nginx.pid is not None
    result = kura(
        *_bench_args(bed), "--size", "1MiB", "--size", "2MiB", "--concurrency", "2",
        "--gateway-pid", str(bed.nginx.pid), "-o", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["pinned_address"] == bed.address(Mode.REGIONAL)
    assert report["gateway_pid"] == bed.nginx.pid
    figures = {(f["path"], f["direction"], f["size"]): f for f in report["figures"]}
    sizes = (1048576, 2097152)
    assert set(figures) == {
        (path, direction, size)
        for size in sizes
        for path, direction in (
            ("gateway", "upload"),
            ("gateway", "download"),
            ("disk", "download"),
        )
    }
    for figure in figures.values():
        assert figure["errors"] == 0
        assert figure["transfers"] == 2
        assert figure["bytes"] == 2 * figure["size"]
        assert figure["mb_per_s"] > 0
        assert (figure["ttfb_p50"] is None) == (figure["direction"] == "upload")
        # The nginx worker did the work of every phase.
        assert figure["cpu_seconds"] > 0
        assert figure["cpu_s_per_gb"] > 0
    assert [e["size"] for e in report["efficiency"]] == list(sizes)
    for efficiency in report["efficiency"]:
        assert efficiency["throughput"]["median"] > 0
        assert efficiency["cpu"]["median"] > 0
    assert report["client_peak_rss_mib"] > 0
    # The uploads reached the node through the gateway; the node served only the gateway's
    # downloads: the disk's bytes came from nginx alone.
    node = bed.nodes[Mode.REGIONAL]
    assert node.stats.written["cas"] == 2 * sum(sizes)
    assert node.stats.read["cas"] == 2 * sum(sizes)
    assert bed.token.reveal() not in result.output
    table = kura(*_bench_args(bed), "--size", "1MiB", "--gateway-pid", str(bed.nginx.pid))
    assert table.exit_code == 0, table.output
    assert "Relay efficiency" in table.stdout
    assert "CPU S/GB" in table.stdout


def test_bench_rounds_report_medians_and_per_round_efficiency(
    kura: InvokeKura, make_bed: Callable[..., TestBed], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The node stores every upload in the order it gets them.
    stored: list[str] = []
    remember = _Server.remember

    def recording(server: _Server, target: Path, checksum: str) -> None:
        stored.append(target.name)
        remember(server, target, checksum)

    monkeypatch.setattr(_Server, "remember", recording)
    bed = make_bed(from_disk=True)
    size = 1024 * 1024
    result = kura(*_bench_args(bed), "--size", "1MiB", "--rounds", "3", "-o", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rounds"] == 3
    figures = {(f["path"], f["direction"], f["size"]): f for f in report["figures"]}
    assert len(report["figures"]) == len(figures) == 3
    for figure in figures.values():
        assert figure["rounds"] == 3
        assert (figure["transfers"], figure["errors"]) == (3, 0)
        assert figure["bytes"] == 3 * size
        assert 0 < figure["mb_per_s_min"] <= figure["mb_per_s"] <= figure["mb_per_s_max"]
        assert figure["cpu_seconds"] is None
    (efficiency,) = report["efficiency"]
    assert efficiency["throughput"]["rounds"] == 3
    assert efficiency["cpu"] is None
    uploads = [re.fullmatch(rf"bench-\w+-{size}-r(\d)-0", name) for name in stored]
    assert [m.group(1) if m else None for m in uploads] == ["0", "1", "2"]
    assert bed.nodes[Mode.REGIONAL].stats.read["cas"] == 3 * size


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--disk", "ftp://h.example", "--disk 'ftp://h.example': expected https://HOST[:PORT]"),
        ("--disk", "https://h.example/x", "expected https://HOST[:PORT]"),
        ("--disk", "http://h.example:8080", "expected https://HOST[:PORT]"),
        ("--gateway-pid", "999999999", "no process 999999999 on this machine"),
    ],
)
def test_bench_refuses_a_bad_disk_or_gateway_pid_in_one_line(
    kura: InvokeKura, tmp_path: Path, option: str, value: str, message: str
) -> None:
    token = tmp_path / "token"
    token.write_text("t\n")
    result = kura(
        "smoke", "bench", "--host", "h.example", "--account", "a", "--token-file", str(token),
        option, value,
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_bench_refuses_a_process_that_is_no_nginx_master(kura: InvokeKura, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("t\n")
    # This test's own process has no children of its own: it is not a master.
    with subprocess.Popen(["sleep", "30"]) as childless:
        try:
            result = kura(
                "smoke", "bench", "--host", "h.example", "--account", "a",
                "--token-file", str(token), "--gateway-pid", str(childless.pid),
            )  # fmt: skip
        finally:
            childless.kill()
    assert result.exit_code == 2, result.output
    assert f"process {childless.pid} has no child processes" in result.stderr


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
    bed.nodes[Mode.DEDICATED].knobs.corrupt_downloads = True
    result = kura(*_bench_args(bed, Mode.DEDICATED), "--size", "1MiB", "-o", "json")
    assert result.exit_code == 1
    (download,) = [f for f in json.loads(result.stdout)["figures"] if f["direction"] == "download"]
    assert download["errors"] == 1
    assert download["problems"] == ["downloaded bytes differ from the upload"]


@pytest.mark.e2e  # a real nginx
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
    assert info["disk_port"] is None
    # The scratch directory (certificates, token file, nginx) is gone once it stopped.
    assert not Path(info["token_file"]).exists()
    assert not Path(info["ca_file"]).parent.exists()


@pytest.mark.e2e  # a real nginx
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


@pytest.mark.e2e  # a real nginx
@pytest.mark.parametrize(
    ("flag", "port", "shown", "other"),
    [
        ("--plain-http", "plain_port", ", http :", "disk_port"),
        ("--from-disk", "disk_port", ", disk :", "plain_port"),
    ],
)
def test_the_testbed_command_can_serve_another_port(
    kura: InvokeKura, flag: str, port: str, shown: str, other: str
) -> None:
    require_binary("nginx")
    result = kura("smoke", "testbed", "--for", "0", flag, "-o", "json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert isinstance(info[port], int)
    assert info[port] != info["port"]
    assert info[other] is None
    table = kura("smoke", "testbed", "--for", "0", flag)
    assert table.exit_code == 0, table.output
    assert shown in table.stdout
