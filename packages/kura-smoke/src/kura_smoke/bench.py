"""``kura smoke bench``: upload and download throughput through a gateway, and what relaying costs.

For each artifact size, ``concurrency`` artifacts are uploaded at once through the gateway, then
downloaded at once, each download hashed while it streams and checked against its upload.
Throughput is the bytes of a phase over its wall time; time to first byte is per download.

With a disk endpoint (the same nginx serving the gateway host's stored artifacts from disk over
the same TLS: ``kura smoke testbed --from-disk``) the uploads are also downloaded from there, and
the gateway's download over the disk's is the relay efficiency: what relaying from Kura costs
against serving the same bytes, TLS on both sides. With the gateway's nginx master on this
machine (``gateway_cpu``), every phase also counts its workers' CPU time, and the disk's CPU per
GB over the gateway's is the same efficiency in CPU, which the client's own speed does not bound.

With several rounds the downloads alternate which path goes first, so that load drift and
after-effects (a disk still writing back the upload) hit both; each figure is then the median
round, with the spread beside it, and each ratio the median of the per-round ratios.
Memory stays flat whatever the size: payloads are generated while they stream
(:mod:`kura_smoke.payload`) and downloads are hashed and dropped.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Literal, NamedTuple, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field

from kura_smoke.diagnosis import error_got_and_cause
from kura_smoke.kura_api import KuraEndpoint, bearer, cas_path
from kura_smoke.payload import Payload
from kura_smoke.progress import Silent, View
from kura_smoke.secret import Secret
from kura_smoke.transfer import Transfer, download, upload

Path_ = Literal["gateway", "disk"]
Direction = Literal["upload", "download"]
MB = 1_000_000
_T = TypeVar("_T")


class BenchSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    seed: int
    sizes: tuple[int, ...] = Field(min_length=1)
    concurrency: int = Field(default=1, ge=1)
    rounds: int = Field(default=1, ge=1)


class Figure(BaseModel):
    """One phase: ``transfers`` artifacts of ``size`` bytes in one direction over one path.

    Combined over rounds (:func:`combine_rounds`), the timings are the median round's and the
    counts are totals.
    """

    model_config = ConfigDict(frozen=True)

    path: Path_
    direction: Direction
    size: int
    transfers: int = Field(description="Transfers attempted, over all rounds")
    errors: int = Field(description="Transfers that failed, over all rounds")
    bytes: int = Field(description="Bytes moved by the transfers that succeeded, over all rounds")
    seconds: float = Field(description="Wall time of the phase (the median round's)")
    mb_per_s: float = Field(description="Decimal megabytes per second, all transfers together")
    gbps: float
    ttfb_p50: float | None = Field(description="Seconds to the first body byte (downloads)")
    ttfb_p95: float | None
    problems: tuple[str, ...] = ()
    rounds: int = Field(default=1, ge=1, description="Rounds combined into this figure")
    mb_per_s_min: float = Field(
        default_factory=lambda data: data["mb_per_s"], description="The slowest round's mb_per_s"
    )
    mb_per_s_max: float = Field(
        default_factory=lambda data: data["mb_per_s"], description="The fastest round's mb_per_s"
    )
    cpu_seconds: float | None = Field(
        default=None,
        description="CPU time of the gateway's nginx workers during the phase, over all rounds",
    )
    cpu_s_per_gb: float | None = Field(
        default=None, description="cpu_seconds per decimal gigabyte moved, over all rounds"
    )


class Spread(BaseModel):
    """A per-round figure over the rounds: the median round's (the lower middle one for an
    even count) and the lowest and highest."""

    model_config = ConfigDict(frozen=True)

    median: float
    low: float
    high: float
    rounds: int = Field(ge=1)


def spread(values: Sequence[float]) -> Spread:
    ordered = sorted(values)
    if not ordered:
        raise ValueError("a spread needs at least one value")
    return Spread(
        median=round(ordered[(len(ordered) - 1) // 2], 3),
        low=round(ordered[0], 3),
        high=round(ordered[-1], 3),
        rounds=len(ordered),
    )


class Efficiency(BaseModel):
    """What relaying costs, for one size: the gateway's downloads against the disk's."""

    model_config = ConfigDict(frozen=True)

    size: int
    throughput: Spread = Field(description="Gateway MB/s over disk MB/s, per round")
    cpu: Spread | None = Field(
        description="Disk CPU per GB over gateway CPU per GB (nginx workers), per round"
    )


class BenchReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str
    pinned_address: str | None
    disk: str | None
    gateway_pid: int | None
    concurrency: int
    rounds: int
    figures: tuple[Figure, ...]
    efficiency: tuple[Efficiency, ...]
    client_peak_rss_mib: float = Field(description="Peak resident memory of this process")

    @property
    def errors(self) -> int:
        return sum(figure.errors for figure in self.figures)


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def peak_rss_mib() -> float:
    """This process's peak resident memory (``ru_maxrss``: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024


def _per_gb(cpu_seconds: float | None, moved: int) -> float | None:
    return round(cpu_seconds / (moved / 1e9), 3) if cpu_seconds is not None and moved else None


def phase_figure(
    path: Path_,
    direction: Direction,
    size: int,
    results: list[Transfer | str],
    seconds: float,
    cpu_seconds: float | None,
) -> Figure:
    """The figure of one phase: its transfers (or why each failed), wall time and the
    gateway workers' CPU time while it ran."""
    done = [r for r in results if isinstance(r, Transfer)]
    problems = tuple(sorted({r for r in results if isinstance(r, str)}))
    moved = sum(r.bytes for r in done)
    rate = moved / seconds if seconds > 0 else 0.0
    ttfb = [r.first_byte_seconds for r in done] if direction == "download" else []
    return Figure(
        path=path,
        direction=direction,
        size=size,
        transfers=len(results),
        errors=len(results) - len(done),
        bytes=moved,
        seconds=round(seconds, 4),
        mb_per_s=round(rate / MB, 1),
        gbps=round(rate * 8 / 1e9, 3),
        ttfb_p50=_percentile(ttfb, 0.5),
        ttfb_p95=_percentile(ttfb, 0.95),
        problems=problems,
        cpu_seconds=round(cpu_seconds, 3) if cpu_seconds is not None else None,
        cpu_s_per_gb=_per_gb(cpu_seconds, moved),
    )


def round_order(targets: Sequence[_T], round_: int) -> list[_T]:
    """The targets in the order round ``round_`` (from 0) runs them: as given in even rounds,
    reversed in odd ones, so that no target always goes first."""
    return list(targets) if round_ % 2 == 0 else list(reversed(targets))


def _attempt(endpoint: KuraEndpoint, what: str, call: Callable[[], Transfer]) -> Transfer | str:
    """The transfer ``call`` makes, or why it failed: the cause of a transport error, or the
    status of an answer other than success."""
    try:
        result = call()
    except httpx.HTTPError as exc:
        return error_got_and_cause(exc, target=endpoint.target)[0]
    if not result.ok:
        return f"{what} answered {result.status}"
    return result


class BenchTarget(NamedTuple):
    """An endpoint, the client kept open for it across rounds, and which path it measures."""

    client: httpx.Client
    endpoint: KuraEndpoint
    path: Path_


class Bench:
    """Runs the phases of its targets, round after round.

    ``gateway_cpu``, when given, returns the CPU time the gateway's nginx workers have used so
    far; each phase is then charged what they used while it ran.
    """

    def __init__(
        self,
        settings: BenchSettings,
        *,
        token: Secret,
        view: View | None = None,
        gateway_cpu: Callable[[], float] | None = None,
    ) -> None:
        self.settings = settings
        self.token = token
        self.view = view or Silent()
        self.gateway_cpu = gateway_cpu

    def _phase(
        self,
        label: str,
        total: int,
        work: Callable[[int, Callable[[int], None]], Transfer | str],
    ) -> tuple[list[Transfer | str], float, float | None]:
        """The results of ``concurrency`` transfers at once, their wall time and CPU time."""
        count = self.settings.concurrency
        with self.view.task(label, total=total) as task, ThreadPoolExecutor(count) as pool:
            cpu = self.gateway_cpu() if self.gateway_cpu is not None else None
            start = time.perf_counter()
            results = list(pool.map(lambda i: work(i, task.advance), range(count)))
            seconds = time.perf_counter() - start
            if cpu is not None and self.gateway_cpu is not None:
                cpu = self.gateway_cpu() - cpu
            return results, seconds, cpu

    def run(self, gateway: BenchTarget, disk: BenchTarget | None = None) -> list[list[Figure]]:
        """Every round, every size: an upload through the gateway, then its download from the
        gateway and from ``disk`` in :func:`round_order`. One list of figures per round."""
        downloads = [gateway] if disk is None else [gateway, disk]
        return [
            [
                figure
                for size in self.settings.sizes
                for figure in self._run_size(gateway, round_order(downloads, round_), size, round_)
            ]
            for round_ in range(self.settings.rounds)
        ]

    def _run_size(
        self, gateway: BenchTarget, downloads: Sequence[BenchTarget], size: int, round_: int
    ) -> list[Figure]:
        settings = self.settings
        # A key per round, and bytes per round: a store must not answer a repeat from what it has.
        key = f"bench-{settings.run_id}-{size}-r{round_}"
        first_seed = settings.seed + round_ * settings.concurrency
        payloads = [Payload(size, first_seed + i) for i in range(settings.concurrency)]
        sent: dict[int, str] = {}

        def put(i: int, advance: Callable[[int], None]) -> Transfer | str:
            client, endpoint, _ = gateway
            url = endpoint.url(cas_path(f"{key}-{i}"))
            result = _attempt(
                endpoint,
                "upload",
                lambda: upload(
                    client, "POST", url, payloads[i], headers=bearer(self.token), progress=advance
                ),
            )
            if isinstance(result, Transfer):
                sent[i] = result.sha256
            return result

        def getter(target: BenchTarget) -> Callable[[int, Callable[[int], None]], Transfer | str]:
            client, endpoint, _ = target

            def get(i: int, advance: Callable[[int], None]) -> Transfer | str:
                url = endpoint.url(cas_path(f"{key}-{i}"))
                result = _attempt(
                    endpoint,
                    "download",
                    lambda: download(client, url, headers=bearer(self.token), progress=advance),
                )
                if isinstance(result, Transfer) and result.sha256 != sent.get(i):
                    return "downloaded bytes differ from the upload"
                return result

            return get

        total = size * settings.concurrency
        of = f" {round_ + 1}/{settings.rounds}" if settings.rounds > 1 else ""
        uploads, seconds, cpu = self._phase(f"gateway upload{of}", total, put)
        figures = [phase_figure("gateway", "upload", size, uploads, seconds, cpu)]
        for target in downloads:
            results, seconds, cpu = self._phase(
                f"{target.path} download{of}", total, getter(target)
            )
            figures.append(phase_figure(target.path, "download", size, results, seconds, cpu))
        return figures


def combine_rounds(rounds: Sequence[Sequence[Figure]]) -> list[Figure]:
    """One figure per (path, direction, size) out of its rounds' figures, in first-seen order.

    The round with the median ``mb_per_s`` gives seconds, mb_per_s, gbps and the time to first
    byte; for an even count of rounds that is the lower of the two middle ones (a measured
    round, not an average of two). Transfers, errors, bytes and CPU time are summed, problems
    united; ``mb_per_s_min``/``mb_per_s_max`` keep the spread.
    """
    by_key: dict[tuple[Path_, Direction, int], list[Figure]] = {}
    for figure in (figure for round_ in rounds for figure in round_):
        by_key.setdefault((figure.path, figure.direction, figure.size), []).append(figure)
    combined = []
    for figures in by_key.values():
        ranked = sorted(figures, key=lambda f: f.mb_per_s)
        median = ranked[(len(ranked) - 1) // 2]
        moved = sum(f.bytes for f in figures)
        cpu = [f.cpu_seconds for f in figures if f.cpu_seconds is not None]
        cpu_seconds = round(sum(cpu), 3) if len(cpu) == len(figures) else None
        combined.append(
            median.model_copy(
                update={
                    "transfers": sum(f.transfers for f in figures),
                    "errors": sum(f.errors for f in figures),
                    "bytes": moved,
                    "problems": tuple(sorted({p for f in figures for p in f.problems})),
                    "rounds": sum(f.rounds for f in figures),
                    "mb_per_s_min": min(f.mb_per_s_min for f in figures),
                    "mb_per_s_max": max(f.mb_per_s_max for f in figures),
                    "cpu_seconds": cpu_seconds,
                    "cpu_s_per_gb": _per_gb(cpu_seconds, moved),
                }
            )
        )
    return combined


class Ceiling(BaseModel):
    """What one worker serving from disk did, and would do with a whole core."""

    model_config = ConfigDict(frozen=True)

    mb_per_s: float = Field(description="Measured (the median round)")
    worker_busy: float = Field(description="The worker's CPU time over the wall time")
    at_full_cpu_mb_per_s: float = Field(description="1 GB over the worker's CPU seconds per GB")


def ceiling(disk: Figure) -> Ceiling | None:
    """The physical ceiling from a disk download figure with CPU time (None without). Below
    a busy worker the measured figure is the client's limit, not the worker's."""
    if not disk.cpu_s_per_gb:
        return None
    return Ceiling(
        mb_per_s=disk.mb_per_s,
        worker_busy=round(disk.cpu_s_per_gb * disk.mb_per_s / 1000, 3),
        at_full_cpu_mb_per_s=round(1000 / disk.cpu_s_per_gb, 1),
    )


def relay_ratio(gateway: Figure, disk: Figure) -> tuple[float | None, float | None]:
    """One round's relay efficiency: gateway over disk throughput, and disk over gateway CPU
    per GB (None without CPU figures). Both None when either download failed: a round with
    errors measured something else."""
    if gateway.errors or disk.errors or not gateway.mb_per_s or not disk.mb_per_s:
        return None, None
    throughput = gateway.mb_per_s / disk.mb_per_s
    if gateway.cpu_s_per_gb and disk.cpu_s_per_gb is not None:
        return throughput, disk.cpu_s_per_gb / gateway.cpu_s_per_gb
    return throughput, None


def relay_efficiency(rounds: Sequence[Sequence[Figure]]) -> list[Efficiency]:
    """Per size, the per-round relay ratios (:func:`relay_ratio`) of the rounds where both
    paths downloaded, as spreads; sizes without such a round are left out."""
    by_size: dict[int, tuple[list[float], list[float]]] = {}
    for figures in rounds:
        downloads = {(f.path, f.size): f for f in figures if f.direction == "download"}
        for (path, size), gateway in downloads.items():
            disk = downloads.get(("disk", size))
            if path != "gateway" or disk is None:
                continue
            throughput, cpu = relay_ratio(gateway, disk)
            ratios, cpus = by_size.setdefault(size, ([], []))
            if throughput is not None:
                ratios.append(throughput)
            if cpu is not None:
                cpus.append(cpu)
    return [
        Efficiency(size=size, throughput=spread(ratios), cpu=spread(cpus) if cpus else None)
        for size, (ratios, cpus) in by_size.items()
        if ratios
    ]
