"""Gateway throughput through the test bed's real nginx, against the same nginx serving from disk.

Run: ``uv run python bench/bench_smoke.py [--size 512MiB] [--rounds 5] [--no-pin] [--json FILE]``.

For each gateway tuning (the ingress provider's values, then ingress-nginx's 4k
``proxy-buffer-size`` and ``ssl-buffer-size`` defaults) a ``kura smoke testbed --from-disk``
process is started: its one nginx worker relays the Kura host to the Kura node double (the
gateway) and also serves the node's stored files on ``disk_port``, over the same TLS (the
disk). Two clients then download through both, rounds alternating which path goes first:
``kura smoke bench --disk`` (another process, so client and test bed do not share an
interpreter; it uploads through the gateway and hashes every download) and curl (a client
that neither generates nor hashes bytes). Around every transfer the nginx worker's CPU time is
read from /proc.

Figures:

- **relay efficiency**: gateway ÷ disk, per round, the median round and the range; as
  throughput and as the disk's worker CPU per GB over the gateway's. The CPU figure is what
  relaying costs the worker; the throughput one is bounded by the client when the worker is
  not busy.
- **tuning gain**: the provider's tuning ÷ ingress-nginx's defaults, gateway downloads.
- **physical ceiling**: what one worker serving from disk over TLS did on this machine, and
  what it would do with a whole core (1 GB over its CPU seconds per GB).

The client runs on one CPU and nginx on another where the machine has two (the test bed's
Kura node double and control plane share the client's); the output says when it cannot.
Afterwards nginx's peak memory and any spooling to disk, and the client's peak RSS for one
``--rss-size`` round trip. Prints figures, not assertions; on a shared machine, expect noise.
"""

from __future__ import annotations

import argparse
import json
import os
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
from kura_smoke.bench import (
    Direction,
    Efficiency,
    Figure,
    Path_,
    ceiling,
    combine_rounds,
    phase_figure,
    relay_efficiency,
    round_order,
)
from kura_smoke.proc import PROC, WorkerCpu, children, cpu_seconds
from kura_smoke.transfer import Transfer

PROVIDER = "provider"
DEFAULTS = "4k (ingress-nginx default)"
TUNINGS: dict[str, list[str]] = {
    PROVIDER: [],
    DEFAULTS: [
        "--nginx-key", "proxy-buffer-size=4k", "--nginx-key", "proxy-busy-buffers-size=8k",
        "--nginx-key", "ssl-buffer-size=4k",
    ],
}  # fmt: skip
CLIENTS = ("kura", "curl")
TARGET = 0.85


def kura_command() -> list[str]:
    found = shutil.which("kura")
    if found is None:
        sys.exit("the kura command is not installed (uv sync)")
    return [found]


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# --- pinning -------------------------------------------------------------------------------------


def split_cpus(allowed: set[int]) -> tuple[int, int] | None:
    """The client's CPU and nginx's: the first two this process may use; None with one."""
    ordered = sorted(allowed)
    return (ordered[0], ordered[1]) if len(ordered) >= 2 else None


def pin_tasks(pid: int, cpu: int) -> None:
    """Every thread of ``pid`` onto ``cpu`` (affinity is per thread; threads made later
    inherit their creator's)."""
    for task in (PROC / str(pid) / "task").iterdir():
        os.sched_setaffinity(int(task.name), {cpu})


class Pinning:
    """This process (so every client and test bed it starts) on one CPU, each nginx on
    another, where the machine allows."""

    def __init__(self, *, wanted: bool) -> None:
        cpus = split_cpus(os.sched_getaffinity(0))
        self.client: int | None = None
        self.nginx: int | None = None
        if not wanted:
            self.note = "not pinned (--no-pin): the scheduler places every process"
            return
        if cpus is None:
            self.note = "not pinned: this process may use one CPU only"
            return
        try:
            os.sched_setaffinity(0, {cpus[0]})
        except OSError as error:
            self.note = f"not pinned: {error}"
            return
        self.client, self.nginx = cpus
        self.note = (
            f"clients and the test bed (Kura node double, control plane) on CPU {self.client}, "
            f"nginx (master and its one worker) on CPU {self.nginx}"
        )

    def nginx_to_its_cpu(self, master: int) -> None:
        if self.nginx is None:
            return
        for pid in (master, *children(master)):
            pin_tasks(pid, self.nginx)


# --- the test bed --------------------------------------------------------------------------------


class TestBed:
    """A ``kura smoke testbed --from-disk`` process in a scratch directory this script owns."""

    def __init__(self, extra: list[str]) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="bench-smoke-"))
        info_file = self.directory / "info.json"
        self.process = subprocess.Popen(
            [*kura_command(), "smoke", "testbed", "--directory", str(self.directory / "bed"),
             "--info-file", str(info_file), "--for", "3600", "--from-disk", "-o", "json",
             *extra],
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
        self.host: str = self.info["hosts"]["regional"]
        self.address: str = self.info["addresses"]["regional"]
        self.account: str = self.info["accounts"]["regional"]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        shutil.rmtree(self.directory, ignore_errors=True)

    def url(self, port: int) -> str:
        return f"https://{self.host}:{port}"

    def resolves(self) -> list[str]:
        return [f"{self.host}:{port}:{self.address}" for port in self.ports()]

    def ports(self) -> tuple[int, int]:
        return self.info["port"], self.info["disk_port"]

    def nginx_peak_kib(self) -> int:
        pid = self.info["nginx_pid"]
        return sum(_status_kib(p, "VmHWM") for p in (pid, *children(pid)))

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


def _status_kib(pid: int, field: str) -> int:
    try:
        text = (PROC / str(pid) / "status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


# --- the clients ---------------------------------------------------------------------------------


def kura_bench(bed: TestBed, size: str, rounds: int, *, disk: bool) -> dict[str, Any]:
    gateway, disk_port = bed.ports()
    args = [
        *kura_command(), "smoke", "bench", "--host", bed.host, "--account", bed.account,
        "--port", str(gateway), "--ca-file", bed.info["ca_file"],
        "--token-file", bed.info["token_file"], "--size", size, "--rounds", str(rounds),
        "-o", "json",
    ]  # fmt: skip
    for pin in bed.resolves():
        args += ["--resolve", pin]
    if disk:
        args += ["--disk", bed.url(disk_port), "--gateway-pid", str(bed.info["nginx_pid"])]
    result = subprocess.run(args, capture_output=True, text=True, timeout=1800, check=False)
    if result.returncode not in (0, 1):
        sys.exit(f"kura smoke bench failed: {result.stderr}")
    report: dict[str, Any] = json.loads(result.stdout)
    return report


class Curl:
    """curl through the gateway and from disk, each transfer charged its worker CPU time."""

    def __init__(self, bed: TestBed, size: int) -> None:
        self.bed = bed
        self.size = size
        token = Path(bed.info["token_file"]).read_text().strip()
        self.common = ["curl", "--cacert", bed.info["ca_file"], "-s", "--http1.1",
                       "-H", f"Authorization: Bearer {token}", "-o", "/dev/null"]  # fmt: skip
        for pin in bed.resolves():
            self.common += ["--resolve", pin]
        self.workers = WorkerCpu(bed.info["nginx_pid"])
        self.node_cpu = 0.0

    def transfer(self, path: Path_, direction: Direction, extra: list[str]) -> Figure:
        gateway, disk = self.bed.ports()
        url = (
            f"{self.bed.url(gateway if path == 'gateway' else disk)}/api/cache/cas/"
            f"curl-{self.size}?tenant_id={self.bed.account}"
        )
        # The test bed's own process is the Kura node double (and the control plane).
        node_before = cpu_seconds(self.bed.process.pid)
        before = self.workers.seconds()
        written = "%{http_code} %{size_download} %{size_upload} %{time_total} %{time_starttransfer}"
        out = subprocess.run(
            [*self.common, *extra, "-w", written, url],
            capture_output=True, text=True, timeout=900, check=True,
        ).stdout.split()  # fmt: skip
        cpu = self.workers.seconds() - before
        if path == "gateway" and direction == "download":
            self.node_cpu += cpu_seconds(self.bed.process.pid) - node_before
        status, seconds, first = int(out[0]), float(out[3]), float(out[4])
        moved = int(out[2] if direction == "upload" else out[1])
        result: Transfer | str = (
            Transfer(status, moved, seconds, first, "", "", None)
            if 200 <= status < 300 and moved == self.size
            else f"curl {direction} answered {status} after {moved} bytes"
        )
        return phase_figure(path, direction, self.size, [result], seconds, cpu)

    def upload(self, sparse: Path) -> Figure:
        """An upload through the gateway (a sparse file: no disk read)."""
        return self.transfer("gateway", "upload", ["-X", "POST", "-T", str(sparse)])

    def downloads(self, rounds: int) -> list[list[Figure]]:
        """``rounds`` rounds of the upload's download, alternating which path goes first."""
        paths: list[Path_] = ["gateway", "disk"]
        return [
            [self.transfer(path, "download", []) for path in round_order(paths, round_)]
            for round_ in range(rounds)
        ]

    def node_cpu_per_gb(self, rounds: int) -> float:
        """The node double's CPU seconds per GB of gateway downloads (not the worker's)."""
        return round(self.node_cpu / (rounds * self.size / 1e9), 3)


def watch_temp(bed: TestBed, stop: threading.Event, peak: list[int]) -> None:
    while not stop.wait(0.05):
        peak[0] = max(peak[0], bed.temp_bytes())


# --- one tuning ----------------------------------------------------------------------------------


def measure(
    tuning: str, extra: list[str], args: argparse.Namespace, sparse: Path, pinning: Pinning
) -> dict[str, Any]:
    """Both clients on one test bed: their per-round figures, combined, and the efficiency."""
    bed = TestBed(extra)
    stop, peak = threading.Event(), [0]
    watcher = threading.Thread(target=watch_temp, args=(bed, stop, peak), daemon=True)
    watcher.start()
    started = load()
    try:
        pinning.nginx_to_its_cpu(bed.info["nginx_pid"])
        kura = kura_bench(bed, args.size, args.rounds, disk=True)
        curl = Curl(bed, int(DataSize.parse(args.size).bytes))
        curl_upload = curl.upload(sparse)
        curl_rounds = curl.downloads(args.rounds)
        nginx_kib = bed.nginx_peak_kib()
    finally:
        stop.set()
        watcher.join()
        spooled = bed.spooling_lines()
        bed.stop()
    curl_figures = combine_rounds([[curl_upload], *curl_rounds])
    return {
        "load_average": {"start": started, "end": load()},
        "kura": {
            "figures": kura["figures"],
            "efficiency": kura["efficiency"],
        },
        "curl": {
            "figures": [f.model_dump() for f in curl_figures],
            "efficiency": [e.model_dump() for e in relay_efficiency(curl_rounds)],
            "node_double_cpu_s_per_gb": curl.node_cpu_per_gb(args.rounds),
        },
        "nginx_peak_kib": nginx_kib,
        "temp_peak_bytes": peak[0],
        "spooling_lines": spooled,
    }


# --- printing ------------------------------------------------------------------------------------


def figures_of(result: dict[str, Any], client: str) -> list[Figure]:
    return [Figure.model_validate(f) for f in result[client]["figures"]]


def efficiency_of(result: dict[str, Any], client: str) -> Efficiency | None:
    found = [Efficiency.model_validate(e) for e in result[client]["efficiency"]]
    return found[0] if found else None


def download(figures: list[Figure], path: str) -> Figure | None:
    return next((f for f in figures if f.path == path and f.direction == "download"), None)


def show_tuning(tuning: str, result: dict[str, Any]) -> None:
    loads = result["load_average"]
    print(f"\n{tuning} (load average {loads['start']} at the start, {loads['end']} at the end)")
    print(f"  {'client':6} {'path':8} {'direction':9} {'MB/s':>7} {'range':>13} "
          f"{'CPU-s/GB':>8} {'worker':>6}")  # fmt: skip
    for client in CLIENTS:
        for f in figures_of(result, client):
            per_gb = f"{f.cpu_s_per_gb:.3f}" if f.cpu_s_per_gb is not None else "-"
            busy = f"{f.cpu_s_per_gb * f.mb_per_s / 10:.0f}%" if f.cpu_s_per_gb else "-"
            errors = f"  errors {f.errors}: {'; '.join(f.problems)}" if f.errors else ""
            print(
                f"  {client:6} {f.path:8} {f.direction:9} {f.mb_per_s:7.1f} "
                f"{f.mb_per_s_min:6.1f}-{f.mb_per_s_max:<6.1f} {per_gb:>8} {busy:>6}{errors}"
            )
    print(
        f"  Kura node double (not counted above): {result['curl']['node_double_cpu_s_per_gb']} "
        f"CPU-s/GB on curl's gateway downloads; nginx peak RSS "
        f"{result['nginx_peak_kib'] / 1024:.1f} MiB (master + worker), temp files peak "
        f"{result['temp_peak_bytes']} bytes, 'buffered to a temporary file' lines "
        f"{result['spooling_lines']}"
    )


def _ratio(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else "-"


def relay_summary(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    print(f"\nrelay efficiency: gateway / disk, the same worker and TLS; median round (range); "
          f"target >= {TARGET}")  # fmt: skip
    print(f"  {'tuning':28} {'client':6} {'throughput':>20} {'worker CPU per GB':>20}")
    found: dict[str, dict[str, Any]] = {}
    for tuning, result in results.items():
        for client in CLIENTS:
            efficiency = efficiency_of(result, client)
            if efficiency is None:
                continue
            found.setdefault(tuning, {})[client] = efficiency.model_dump()
            t, c = efficiency.throughput, efficiency.cpu
            cpu = f"{c.median:.3f} ({c.low:.2f}-{c.high:.2f})" if c is not None else "-"
            print(f"  {tuning:28} {client:6} {t.median:>7.3f} ({t.low:.2f}-{t.high:.2f}) "
                  f"{cpu:>20}")  # fmt: skip
    print("  (worker CPU: the disk's CPU seconds per GB over the gateway's)")
    return found


def gain_summary(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    found: dict[str, dict[str, float | None]] = {}
    for client in CLIENTS:
        ours = download(figures_of(results[PROVIDER], client), "gateway")
        theirs = download(figures_of(results[DEFAULTS], client), "gateway")
        if ours is None or theirs is None or not theirs.mb_per_s:
            continue
        cpu = (
            round(theirs.cpu_s_per_gb / ours.cpu_s_per_gb, 3)
            if ours.cpu_s_per_gb and theirs.cpu_s_per_gb
            else None
        )
        found[client] = {"throughput": round(ours.mb_per_s / theirs.mb_per_s, 3), "cpu": cpu}
    print(
        "tuning gain, the provider's buffers over ingress-nginx's 4k defaults (gateway "
        "downloads, medians): "
        + "; ".join(
            f"{client} {_ratio(gain['throughput'])} the throughput (the defaults cost the worker "
            f"{_ratio(gain['cpu'])} the CPU per GB)"
            for client, gain in found.items()
        )
    )
    return found


def ceiling_summary(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for client in CLIENTS:
        disk = download(figures_of(results[PROVIDER], client), "disk")
        limit = ceiling(disk) if disk is not None else None
        if limit is None:
            continue
        found[client] = limit.model_dump()
        print(
            f"physical ceiling, one nginx worker serving from disk over TLS on this machine "
            f"({client}): {limit.mb_per_s:.0f} MB/s measured with the worker "
            f"{limit.worker_busy:.0%} busy; {limit.at_full_cpu_mb_per_s:.0f} MB/s at a whole core"
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="512MiB")
    parser.add_argument("--rss-size", default="2GiB")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per client (median)")
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="leave clients and nginx where the scheduler puts them",
    )
    add_json_option(parser)
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    size = int(DataSize.parse(args.size).bytes)
    pinning = Pinning(wanted=not args.no_pin)
    print(
        f"artifact {args.size} ({size} bytes), HTTP/1.1, one transfer at a time, loopback; "
        f"{args.rounds} rounds per client, gateway and disk downloads alternating which goes "
        f"first; {os.cpu_count()} CPUs, load average {load()}\npinning: {pinning.note}"
    )
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        sparse = Path(scratch) / "zeros"
        with sparse.open("wb") as handle:
            handle.truncate(size)
        for tuning, extra in TUNINGS.items():
            results[tuning] = measure(tuning, extra, args, sparse, pinning)
            show_tuning(tuning, results[tuning])
    figures: dict[str, Any] = {"pinning": pinning.note, "tunings": results}
    figures["relay_efficiency"] = relay_summary(results)
    figures["tuning_gain"] = gain_summary(results)
    figures["physical_ceiling"] = ceiling_summary(results)
    bed = TestBed([])
    try:
        report = kura_bench(bed, args.rss_size, 1, disk=False)
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
