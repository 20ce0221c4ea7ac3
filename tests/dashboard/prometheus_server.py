"""The real Debian ``prometheus`` on loopback, loaded with ingress-nginx series by ``promtool``.

``ingress_nginx_openmetrics`` writes counters that grow linearly (so every ``rate()`` is an exact,
known figure) and a request-duration histogram whose p95 is known; ``promtool tsdb
create-blocks-from openmetrics`` turns them into blocks and ``PrometheusServer`` serves them. PID 1
is not systemd here, so the binary is started by hand: scratch directories, a free loopback port,
a long retention (the samples are old), and queries at a ``time`` inside the data
(research/hetzner-nginx-prom.md §5.2).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PREFIX = "nginx_ingress_controller_"
# Seconds since the epoch: 2023-11-14, far from now, so only a pinned query time finds it.
T0 = 1_700_000_000
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0)


@dataclass(frozen=True)
class PodLoad:
    """What one controller pod does each second; the histogram shares are cumulative."""

    requests_ok: float = 3.0
    requests_5xx: float = 0.0
    bytes_in: float = 1e6
    bytes_out: float = 4e6
    active_connections: float = 40.0
    # Share of requests at or below each DURATION_BUCKETS bound (cumulative, then +Inf = 1).
    duration_shares: tuple[float, ...] = (0.5, 0.8, 0.9, 1.0)


def _line(name: str, labels: Mapping[str, str], value: float, at: int) -> str:
    text = ",".join(f'{key}="{val}"' for key, val in labels.items())
    return f"{PREFIX}{name}{{{text}}} {value!r} {at}"


def ingress_nginx_openmetrics(
    gateways: Mapping[str, Sequence[PodLoad]],
    *,
    start: int = T0,
    minutes: int = 30,
    step: int = 15,
) -> str:
    """OpenMetrics text of ingress-nginx controller series: ``gateways`` maps a controller
    class to its pods' loads. Counters start high so ``rate()`` never meets a reset."""
    times = range(start, start + minutes * 60 + 1, step)
    families: dict[str, list[str]] = {
        "requests counter": [],
        "request_size histogram": [],
        "response_size histogram": [],
        "request_duration_seconds histogram": [],
        "nginx_process_connections gauge": [],
    }
    for controller_class, pods in gateways.items():
        for number, pod in enumerate(pods):
            base = {
                "controller_namespace": "kura",
                "controller_class": controller_class,
                "controller_pod": f"{controller_class.split('/')[-1]}-{number}",
            }
            total = pod.requests_ok + pod.requests_5xx
            for at in times:
                _samples(families, base, pod, total, at, at - start)
    lines = []
    for family, samples in families.items():
        name, kind = family.split(" ")
        lines.append(f"# TYPE {PREFIX}{name} {kind}")
        lines.extend(_sorted_by_series(samples))
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _samples(
    families: dict[str, list[str]],
    base: dict[str, str],
    pod: PodLoad,
    total: float,
    at: int,
    elapsed: int,
) -> None:
    """One pod's samples at ``at``: each counter is its start plus its rate x ``elapsed``."""
    count = 1e6 + total * elapsed
    requests = families["requests counter"]
    requests.append(
        _line("requests", base | {"status": "200"}, 1e6 + pod.requests_ok * elapsed, at)
    )
    if pod.requests_5xx:
        errors = 1e6 + pod.requests_5xx * elapsed
        requests.append(_line("requests", base | {"status": "503"}, errors, at))
    for family, per_second in (("request_size", pod.bytes_in), ("response_size", pod.bytes_out)):
        out = families[f"{family} histogram"]
        out.append(_line(f"{family}_bucket", base | {"le": "+Inf"}, count, at))
        out.append(_line(f"{family}_sum", base, 1e12 + per_second * elapsed, at))
        out.append(_line(f"{family}_count", base, count, at))
    durations = families["request_duration_seconds histogram"]
    name = "request_duration_seconds"
    for bound, share in zip(DURATION_BUCKETS, pod.duration_shares, strict=True):
        value = 1e6 * share + total * share * elapsed
        durations.append(_line(f"{name}_bucket", base | {"le": str(bound)}, value, at))
    durations.append(_line(f"{name}_bucket", base | {"le": "+Inf"}, count, at))
    durations.append(_line(f"{name}_sum", base, 1e5 + 0.3 * total * elapsed, at))
    durations.append(_line(f"{name}_count", base, count, at))
    active = base | {"state": "active"}
    families["nginx_process_connections gauge"].append(
        _line("nginx_process_connections", active, pod.active_connections, at)
    )


def _sorted_by_series(samples: list[str]) -> list[str]:
    # Samples of one series together and in time order, as promtool wants them.
    def key(line: str) -> tuple[str, int]:
        series, _, rest = line.rpartition("} ")
        return series, int(rest.rsplit(" ", 1)[1])

    return sorted(samples, key=key)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def backfill(promtool: str, openmetrics: str, workdir: Path) -> Path:
    """Blocks from ``openmetrics`` in ``workdir/data``, with the empty ``wal/`` it wants."""
    source = workdir / "history.om"
    source.write_text(openmetrics, encoding="utf-8")
    data = workdir / "data"
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
        check=True,
        capture_output=True,
    )
    (data / "wal").mkdir(exist_ok=True)
    return data


@dataclass
class PrometheusServer:
    url: str
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts connections, but nothing answers."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"prometheus did not get ready: {log.read_text()[-2000:]}")


@contextmanager
def prometheus_server(prometheus: str, data: Path, workdir: Path) -> Iterator[PrometheusServer]:
    """``prometheus`` serving ``data`` on a free loopback port until the block ends."""
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\n", encoding="utf-8")
    port = free_port()
    log = workdir / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={data}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=3650d",
                "--log.level=warn",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    server = PrometheusServer(url, process)
    try:
        _wait_ready(url, process, log)
        yield server
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
