"""``kura smoke bench``: upload and download throughput through a gateway, and its overhead.

For each artifact size, ``concurrency`` artifacts are uploaded at once, then downloaded at once,
each download hashed while it streams and checked against its upload. Throughput is the bytes
of a phase over its wall time; time to first byte is per download. With a direct endpoint (the
Kura node itself) the same runs there, and the ratio gateway/direct is the gateway's overhead.
With several rounds every target runs once per round, the order alternating so that neither path
always goes first (and meets the disk still writing back the other's uploads); each figure is then
the median round, with the spread beside it.
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

Path_ = Literal["gateway", "direct"]
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


class Ratio(BaseModel):
    model_config = ConfigDict(frozen=True)

    size: int
    direction: Direction
    gateway_over_direct: float


class BenchReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str
    pinned_address: str | None
    direct: str | None
    concurrency: int
    rounds: int
    figures: tuple[Figure, ...]
    ratios: tuple[Ratio, ...]
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


def _figure(
    path: Path_,
    direction: Direction,
    size: int,
    results: list[Transfer | str],
    seconds: float,
) -> Figure:
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
    )


def round_order(targets: Sequence[_T], round_: int) -> list[_T]:
    """The targets in the order round ``round_`` (from 0) runs them: as given in even rounds,
    reversed in odd ones, so that no target always goes first."""
    return list(targets) if round_ % 2 == 0 else list(reversed(targets))


class BenchTarget(NamedTuple):
    """An endpoint, the client kept open for it across rounds, and which path it measures."""

    client: httpx.Client
    endpoint: KuraEndpoint
    path: Path_


class Bench:
    """Runs the phases of its targets, round after round."""

    def __init__(
        self,
        settings: BenchSettings,
        *,
        token: Secret,
        view: View | None = None,
    ) -> None:
        self.settings = settings
        self.token = token
        self.view = view or Silent()

    def _phase(
        self,
        label: str,
        total: int,
        work: Callable[[int, Callable[[int], None]], Transfer | str],
    ) -> tuple[list[Transfer | str], float]:
        count = self.settings.concurrency
        with self.view.task(label, total=total) as task, ThreadPoolExecutor(count) as pool:
            start = time.perf_counter()
            results = list(pool.map(lambda i: work(i, task.advance), range(count)))
            return results, time.perf_counter() - start

    def run(self, targets: Sequence[BenchTarget]) -> list[Figure]:
        """Every round over every target in :func:`round_order`: one figure per round and phase."""
        figures: list[Figure] = []
        for round_ in range(self.settings.rounds):
            for client, endpoint, path in round_order(targets, round_):
                for size in self.settings.sizes:
                    figures += self._run_size(client, endpoint, path, size, round_)
        return figures

    def _run_size(
        self, client: httpx.Client, endpoint: KuraEndpoint, path: Path_, size: int, round_: int
    ) -> list[Figure]:
        settings = self.settings
        # A key per round, and bytes per round: a store must not answer a repeat from what it has.
        key = f"bench-{settings.run_id}-{path}-{size}-r{round_}"
        first_seed = settings.seed + round_ * settings.concurrency
        payloads = [Payload(size, first_seed + i) for i in range(settings.concurrency)]
        sent: dict[int, str] = {}

        def put(i: int, advance: Callable[[int], None]) -> Transfer | str:
            try:
                result = upload(
                    client,
                    "POST",
                    endpoint.url(cas_path(f"{key}-{i}")),
                    payloads[i],
                    headers=bearer(self.token),
                    progress=advance,
                )
            except httpx.HTTPError as exc:
                return error_got_and_cause(exc, target=endpoint.target)[0]
            if not result.ok:
                return f"upload answered {result.status}"
            sent[i] = result.sha256
            return result

        def get(i: int, advance: Callable[[int], None]) -> Transfer | str:
            try:
                result = download(
                    client,
                    endpoint.url(cas_path(f"{key}-{i}")),
                    headers=bearer(self.token),
                    progress=advance,
                )
            except httpx.HTTPError as exc:
                return error_got_and_cause(exc, target=endpoint.target)[0]
            if not result.ok:
                return f"download answered {result.status}"
            if result.sha256 != sent.get(i):
                return "downloaded bytes differ from the upload"
            return result

        total = size * settings.concurrency
        of = f" {round_ + 1}/{settings.rounds}" if settings.rounds > 1 else ""
        uploads, up_seconds = self._phase(f"{path} upload{of}", total, put)
        downloads, down_seconds = self._phase(f"{path} download{of}", total, get)
        return [
            _figure(path, "upload", size, uploads, up_seconds),
            _figure(path, "download", size, downloads, down_seconds),
        ]


def combine_rounds(figures: Sequence[Figure]) -> list[Figure]:
    """One figure per (path, direction, size) out of its rounds' figures, in first-seen order.

    The round with the median ``mb_per_s`` gives seconds, mb_per_s, gbps and the time to first
    byte; for an even count of rounds that is the lower of the two middle ones (a measured
    round, not an average of two). Transfers, errors and bytes are summed, problems united;
    ``mb_per_s_min``/``mb_per_s_max`` keep the spread.
    """
    by_key: dict[tuple[Path_, Direction, int], list[Figure]] = {}
    for figure in figures:
        by_key.setdefault((figure.path, figure.direction, figure.size), []).append(figure)
    combined = []
    for rounds in by_key.values():
        ranked = sorted(rounds, key=lambda f: f.mb_per_s)
        median = ranked[(len(ranked) - 1) // 2]
        combined.append(
            median.model_copy(
                update={
                    "transfers": sum(f.transfers for f in rounds),
                    "errors": sum(f.errors for f in rounds),
                    "bytes": sum(f.bytes for f in rounds),
                    "problems": tuple(sorted({p for f in rounds for p in f.problems})),
                    "rounds": sum(f.rounds for f in rounds),
                    "mb_per_s_min": min(f.mb_per_s_min for f in rounds),
                    "mb_per_s_max": max(f.mb_per_s_max for f in rounds),
                }
            )
        )
    return combined


def ratios(figures: list[Figure]) -> list[Ratio]:
    """Gateway throughput over direct throughput, per size and direction, where both ran.

    ``figures`` has one figure per (path, direction, size): combine rounds first.
    """
    by_key = {(f.path, f.direction, f.size): f for f in figures}
    found = []
    for (path, direction, size), gateway in by_key.items():
        direct = by_key.get(("direct", direction, size))
        if path != "gateway" or direct is None or not direct.mb_per_s:
            continue
        found.append(
            Ratio(
                size=size,
                direction=direction,
                gateway_over_direct=round(gateway.mb_per_s / direct.mb_per_s, 3),
            )
        )
    return found
