"""Gateway throughput and memory through the test bed's real nginx, on loopback.

Run: ``uv run python bench/bench_smoke.py [--size 1GiB] [--rss-size 2GiB] [--json FILE]``.

For each gateway tuning (the ingress provider's values, then ingress-nginx's 4k
``proxy-buffer-size`` and ``ssl-buffer-size`` defaults) a ``kura smoke testbed`` process is
started, and ``kura smoke bench`` (another process, so client, nodes and nginx do not share
an interpreter) uploads and downloads one artifact of ``--size`` through the gateway and
directly to the Kura node. Meanwhile this process watches nginx's temp directories; afterwards
it reads nginx's peak memory (VmHWM, master + workers) and greps its error log for spooling.
curl does the same transfers as a reference client that neither generates nor hashes bytes,
also through the provider-tuned gateway's plain-HTTP listener (the same relay without TLS).
Last, one ``kura smoke bench`` round trip of ``--rss-size`` reports the client's peak RSS.

Prints figures, not assertions. The machine is shared: expect noise from other work.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._figures import add_json_option, write
from kura_core.units import DataSize

TUNINGS: dict[str, list[str]] = {
    # The plain-HTTP listener gives curl the same relay without TLS: what TLS itself costs.
    "provider": ["--plain-http"],
    "4k (ingress-nginx default)": [
        "--nginx-key", "proxy-buffer-size=4k", "--nginx-key", "proxy-busy-buffers-size=8k",
        "--nginx-key", "ssl-buffer-size=4k",
    ],
}  # fmt: skip


def kura_command() -> list[str]:
    found = shutil.which("kura")
    if found is None:
        sys.exit("the kura command is not installed (uv sync)")
    return [found]


class TestBed:
    """A ``kura smoke testbed`` process in a scratch directory this script owns."""

    def __init__(self, extra: list[str]) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="bench-smoke-"))
        info_file = self.directory / "info.json"
        self.process = subprocess.Popen(
            [*kura_command(), "smoke", "testbed", "--directory", str(self.directory / "bed"),
             "--info-file", str(info_file), "--for", "3600", "-o", "json", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not info_file.exists() or not info_file.read_text().strip().endswith("}"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                sys.exit(f"the test bed did not start: {error}")
            time.sleep(0.1)
        self.info: dict[str, Any] = json.loads(info_file.read_text())
        self.nginx_root = self.directory / "bed" / "nginx"

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        shutil.rmtree(self.directory, ignore_errors=True)

    def nginx_peak_kib(self) -> int:
        pid = self.info["nginx_pid"]
        pids = [pid] + [
            int(p.name) for p in Path("/proc").iterdir()
            if p.name.isdigit() and _ppid(p) == pid
        ]  # fmt: skip
        return sum(_status_kib(p, "VmHWM") for p in pids)

    def temp_bytes(self) -> int:
        total = 0
        for root, _, files in os.walk(self.nginx_root / "temp"):
            for name in files:
                try:
                    total += (Path(root) / name).stat().st_size
                except FileNotFoundError:
                    continue
        return total

    def spooling_lines(self) -> int:
        log = self.nginx_root / "logs" / "error.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        return sum("buffered to a temporary file" in line for line in text.splitlines())


def _ppid(proc: Path) -> int:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[-1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def _status_kib(pid: int, field: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def bench(bed: TestBed, size: str, *, direct: bool, rounds: int = 1) -> dict[str, Any]:
    info = bed.info
    host, port = info["hosts"]["regional"], info["port"]
    account = info["accounts"]["regional"]
    args = [
        *kura_command(), "smoke", "bench", "--host", host, "--account", account,
        "--port", str(port), "--resolve", f"{host}:{port}:{info['addresses']['regional']}",
        "--ca-file", info["ca_file"], "--token-file", info["token_file"], "--size", size,
        "--rounds", str(rounds), "-o", "json",
    ]  # fmt: skip
    if direct:
        args += ["--direct", info["nodes"]["regional"]]
    result = subprocess.run(args, capture_output=True, text=True, timeout=1800, check=False)
    if result.returncode not in (0, 1):
        sys.exit(f"kura smoke bench failed: {result.stderr}")
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def curl(bed: TestBed, size: int, sparse: Path) -> dict[str, float]:
    """MB/s of curl uploading (a sparse file: no disk read) and downloading on each path: the
    gateway (TLS), the gateway's plain-HTTP listener when the bed has one, and direct."""
    info = bed.info
    host, port, plain = info["hosts"]["regional"], info["port"], info.get("plain_port")
    token = Path(info["token_file"]).read_text().strip()
    common = ["--cacert", info["ca_file"], "-s", "--http1.1",
              "-H", f"Authorization: Bearer {token}", "-o", "/dev/null"]  # fmt: skip
    paths = [("gateway", f"https://{host}:{port}", port)]
    if plain is not None:
        paths.append(("no-tls", f"http://{host}:{plain}", plain))
    paths.append(("direct", info["nodes"]["regional"], None))
    figures = {}
    for path, base, pinned in paths:
        url = f"{base}/api/cache/cas/curl-{size}?tenant_id={info['accounts']['regional']}"
        resolve = ["--resolve", f"{host}:{pinned}:127.0.0.1"] if pinned is not None else []
        for direction, extra, speed in (
            ("upload", ["-X", "POST", "-T", str(sparse)], "%{speed_upload}"),
            ("download", [], "%{speed_download}"),
        ):
            out = subprocess.run(
                ["curl", *common, *resolve, *extra, "-w", speed, url],
                capture_output=True, text=True, timeout=900, check=True,
            ).stdout  # fmt: skip
            figures[f"{path} {direction}"] = float(out) / 1e6
    return figures


def watch_temp(bed: TestBed, stop: threading.Event, peak: list[int]) -> None:
    while not stop.wait(0.05):
        peak[0] = max(peak[0], bed.temp_bytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1GiB")
    parser.add_argument("--rss-size", default="2GiB")
    parser.add_argument("--rounds", type=int, default=3, help="kura smoke bench rounds (median)")
    add_json_option(parser)
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    size = int(DataSize.parse(args.size).bytes)
    print(
        f"artifact {args.size} ({size} bytes), HTTP/1.1, one transfer at a time, loopback; "
        f"kura smoke bench: median of {args.rounds} interleaved rounds (range), curl: one run"
    )
    print(f"{'tuning':28} {'path':8} {'direction':9} {'MB/s':>8} {'Gbps':>7} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as scratch:
        sparse = Path(scratch) / "zeros"
        with sparse.open("wb") as handle:
            handle.truncate(size)
        for tuning, extra in TUNINGS.items():
            bed = TestBed(extra)
            stop, peak = threading.Event(), [0]
            watcher = threading.Thread(target=watch_temp, args=(bed, stop, peak), daemon=True)
            watcher.start()
            try:
                report = bench(bed, args.size, direct=True, rounds=args.rounds)
                reference = curl(bed, size, sparse)
                nginx_kib = bed.nginx_peak_kib()
            finally:
                stop.set()
                watcher.join()
                spooled = bed.spooling_lines()
                bed.stop()
            figures[tuning] = {"kura_smoke_bench": report, "curl_mb_per_s": reference,
                               "nginx_peak_kib": nginx_kib, "temp_peak_bytes": peak[0],
                               "spooling_lines": spooled}  # fmt: skip
            ratio = {r["direction"]: r["gateway_over_direct"] for r in report["ratios"]}
            for figure in report["figures"]:
                shown = f"{ratio[figure['direction']]:.3f}" if figure["path"] == "gateway" else ""
                print(
                    f"{tuning:28} {figure['path']:8} {figure['direction']:9} "
                    f"{figure['mb_per_s']:8.1f} {figure['gbps']:7.3f} {shown:>6}  "
                    f"({figure['mb_per_s_min']:.1f}-{figure['mb_per_s_max']:.1f})"
                    + (f"  errors {figure['errors']}" if figure["errors"] else "")
                )
            for path, label in (("gateway", "curl"), ("no-tls", "curl, relay without TLS")):
                for direction in ("upload", "download"):
                    via = reference.get(f"{path} {direction}")
                    if via is None:
                        continue
                    direct = reference[f"direct {direction}"]
                    print(
                        f"{tuning:28} {'curl':8} {direction:9} {via:8.1f} {via * 8 / 1000:7.3f} "
                        f"{via / direct:6.3f}  ({label}; direct {direct:.1f} MB/s)"
                    )
            print(
                f"{tuning:28} nginx peak RSS {nginx_kib / 1024:.1f} MiB (master + workers), "
                f"temp files peak {peak[0]} bytes, 'buffered to a temporary file' lines {spooled}"
            )
    bed = TestBed([])
    try:
        report = bench(bed, args.rss_size, direct=False)
    finally:
        bed.stop()
    errors = sum(f["errors"] for f in report["figures"])
    print(
        f"client peak RSS for a {args.rss_size} round trip (upload + download, hashed while "
        f"streaming): {report['client_peak_rss_mib']:.1f} MiB; errors {errors}"
    )
    figures["client_rss"] = report
    write(args.json, "bench_smoke", args, figures)


if __name__ == "__main__":
    main()
