"""How a gateway's nginx is sized: proxy buffers, the memory they cost, the throughput they buy.

With ``proxy-buffering: off`` nginx relays a response through one buffer of ``proxy_buffer_size``
per request, and writes TLS out through ``ssl_buffer_size``; ingress-nginx defaults both to 4k.
Measured through one nginx worker terminating TLS (:data:`RELAY_MEASUREMENTS`), 256k and 16k (a
full TLS record) relay about 1.9 times what the defaults do, so gateways run with them. Bigger
buffers cost memory on every active connection, so the tuning also states a memory budget and
:meth:`GatewayTuning.check_memory_budget` holds it against the controller pod's memory limit.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kura_core import Bandwidth, Component, DataSize, InputError

KIB = 1024
MIB = 1024 * KIB

NGINX_WORKERS_COMPONENT = "nginx-workers"


def _binary_size(size: DataSize, mebi: str, kibi: str) -> str:
    count = int(size.bytes)
    if count and count % MIB == 0:
        return f"{count // MIB}{mebi}"
    if count and count % KIB == 0:
        return f"{count // KIB}{kibi}"
    return str(count)


def nginx_size(size: DataSize) -> str:
    """``size`` as nginx writes sizes: ``4m``, ``256k``, or plain bytes."""
    return _binary_size(size, "m", "k")


def kubernetes_quantity(size: DataSize) -> str:
    """``size`` as a Kubernetes memory quantity: ``512Mi``, ``96Ki``, or plain bytes."""
    return _binary_size(size, "Mi", "Ki")


class RelayMeasurement(BaseModel):
    """Download throughput of one nginx worker terminating TLS, at one pair of buffer sizes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    proxy_buffer_size: DataSize
    ssl_buffer_size: DataSize
    throughput: Bandwidth = Field(description="The low end of the runs")
    measured: str = Field(description="The spread of the runs, as measured")


# One nginx worker terminating TLS 1.3 (AES-256-GCM) with proxy_buffering off: 1 GiB downloads by
# curl from a Kura node stand-in serving with sendfile, all on loopback on 2 cores, three runs
# each (bench/bench_smoke.py's curl rows, kura smoke testbed --nginx-key). The worker was at
# 97-99% CPU in every run: these are what one worker relays. Loopback also charges it for the
# receiver's side of each write, so a worker behind a real network should do no worse.
# Without TLS, the runs in docs/capacity.md measured 565-905 MiB/s (4k) and 1.7-2.1 GiB/s (256k).
def _measured(proxy: str, ssl: str, low: str, spread: str) -> RelayMeasurement:
    return RelayMeasurement(
        proxy_buffer_size=DataSize.parse(proxy),
        ssl_buffer_size=DataSize.parse(ssl),
        throughput=Bandwidth.parse(low),
        measured=spread,
    )


RELAY_MEASUREMENTS: tuple[RelayMeasurement, ...] = (
    _measured("4KiB", "4KiB", "390MB/s", "0.39-0.46 GB/s"),
    _measured("4KiB", "16KiB", "387MB/s", "0.39-0.44 GB/s"),
    _measured("256KiB", "4KiB", "490MB/s", "0.49-0.51 GB/s"),
    _measured("256KiB", "16KiB", "750MB/s", "0.75-0.80 GB/s"),
)
# A TLS record carries at most 16 KiB: ssl_buffer_size 64k and 256k measured as 16k (0.75 GB/s)
# with proxy_buffer_size 256k, so more than 16k only costs memory.
TLS_RECORD_PAYLOAD = DataSize.parse("16KiB")


def measurement_for(proxy_buffer_size: DataSize, ssl_buffer_size: DataSize) -> RelayMeasurement:
    """The measurement that vouches for these buffer sizes.

    That is the fastest one measured with neither size above the given ones: bigger buffers are
    assumed no faster than the measured ones below them. Sizes below every measurement get the
    slowest.
    """
    fitting = [
        m
        for m in RELAY_MEASUREMENTS
        if m.proxy_buffer_size <= proxy_buffer_size and m.ssl_buffer_size <= ssl_buffer_size
    ]
    if not fitting:
        return min(RELAY_MEASUREMENTS, key=lambda m: m.throughput.bits_per_second)
    return max(fitting, key=lambda m: m.throughput.bits_per_second)


class MemoryBudget(BaseModel):
    """What the buffers of one controller replica may take, against its memory limit."""

    model_config = ConfigDict(frozen=True)

    per_connection: DataSize
    connections: int
    buffers: DataSize
    reserved: DataSize
    limit: DataSize

    @property
    def available(self) -> DataSize:
        """What the limit leaves for buffers once the reserved baseline is taken."""
        return DataSize(max(0.0, self.limit.bytes - self.reserved.bytes))

    @property
    def fits(self) -> bool:
        return self.buffers <= self.available


class GatewayTuning(BaseModel):
    """The sizes a gateway's nginx runs with, and the load one controller replica is sized for.

    Memory model, per replica: every active connection may hold one response buffer
    (``proxy_buffer_size``: with proxy-buffering off nginx relays through that one buffer and
    never allocates ``proxy_buffers``), when it uploads, one request body buffer
    (``client_body_buffer_size``: with proxy-request-buffering off the body streams through it),
    and its TLS send buffer (``ssl_buffer_size``). Under HTTP/2 each stream holds its own
    buffers, so count streams as connections; at most ``http2_max_concurrent_streams`` of them
    share one connection. ``expected_connections`` times that, plus ``memory_request`` (the
    controller and idle nginx, the pod's memory request), must
    fit in ``memory_limit``.

    nginx only accepts proxy buffers where ``proxy_buffer_size`` <= ``proxy_busy_buffers_size``
    <= (``proxy_buffers_number`` - 1) * ``proxy_buffer_size`` (ingress-nginx sizes every proxy
    buffer at ``proxy_buffer_size``). Controllers older than the ``proxy-busy-buffers-size`` key
    (ingress-nginx PR #12433, after v1.11) ignore it and nginx uses twice ``proxy_buffer_size``,
    so that must be accepted too.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    proxy_buffer_size: DataSize = Field(
        default=DataSize.parse("256KiB"),
        description="Response buffer per proxied request; bounds streaming throughput",
    )
    proxy_buffers_number: int = Field(default=4, ge=2, le=1024)
    proxy_busy_buffers_size: DataSize = Field(default=DataSize.parse("512KiB"))
    client_body_buffer_size: DataSize = Field(
        default=DataSize.parse("4MiB"),
        description="Request body buffer; also the HTTP/2 upload window nginx opens per stream",
    )
    ssl_buffer_size: DataSize = Field(
        default=TLS_RECORD_PAYLOAD,
        description="TLS send buffer per connection; one full TLS record relays fastest",
    )
    http2_max_concurrent_streams: int = Field(default=32, ge=1)
    expected_connections: int = Field(
        default=64,
        ge=1,
        description="Concurrent connections (HTTP/2: streams) one replica is sized for",
    )
    memory_request: DataSize = Field(
        default=DataSize.parse("128MiB"),
        description="The controller and idle nginx; reserved, not available for buffers",
    )
    memory_limit: DataSize = Field(default=DataSize.parse("512MiB"))

    @field_validator(
        "proxy_buffer_size",
        "proxy_busy_buffers_size",
        "client_body_buffer_size",
        "ssl_buffer_size",
        "memory_request",
        "memory_limit",
    )
    @classmethod
    def _whole_kibibytes(cls, value: DataSize) -> DataSize:
        if value.bytes <= 0 or value.bytes % KIB:
            raise ValueError(f"{value} is not a positive whole number of KiB")
        return value

    @model_validator(mode="after")
    def _nginx_accepts_the_buffers(self) -> GatewayTuning:
        size = self.proxy_buffer_size.bytes
        all_but_one = (self.proxy_buffers_number - 1) * size
        if not size <= self.proxy_busy_buffers_size.bytes <= all_but_one:
            raise ValueError(
                f"proxy_busy_buffers_size {self.proxy_busy_buffers_size} must be at least "
                f"proxy_buffer_size {self.proxy_buffer_size} and at most "
                f"{self.proxy_buffers_number - 1} buffers of it, or nginx -t fails"
            )
        if 2 * size > all_but_one:
            raise ValueError(
                f"proxy_buffers_number {self.proxy_buffers_number} is too small: controllers "
                "that ignore proxy-busy-buffers-size use twice proxy_buffer_size, which must be "
                "at most all proxy buffers but one"
            )
        if self.ssl_buffer_size > TLS_RECORD_PAYLOAD:
            raise ValueError(
                f"ssl_buffer_size {self.ssl_buffer_size} is above {TLS_RECORD_PAYLOAD}, the most "
                "one TLS record carries: it relays no faster and costs memory per connection"
            )
        if self.memory_request > self.memory_limit:
            raise ValueError(
                f"memory_request {self.memory_request} is above memory_limit {self.memory_limit}"
            )
        return self

    @property
    def per_connection(self) -> DataSize:
        return DataSize(
            self.proxy_buffer_size.bytes
            + self.client_body_buffer_size.bytes
            + self.ssl_buffer_size.bytes
        )

    def memory_budget(self) -> MemoryBudget:
        return MemoryBudget(
            per_connection=self.per_connection,
            connections=self.expected_connections,
            buffers=self.per_connection * self.expected_connections,
            reserved=self.memory_request,
            limit=self.memory_limit,
        )

    def check_memory_budget(self) -> None:
        """Raise :class:`InputError` when the buffers cannot fit in the memory limit."""
        budget = self.memory_budget()
        if not budget.fits:
            raise InputError(
                f"gateway tuning: {budget.connections} connections x "
                f"{budget.per_connection.human('MiB')} of buffers = "
                f"{budget.buffers.human('MiB')}, more than the {budget.available.human('MiB')} "
                f"the {kubernetes_quantity(budget.limit)} memory limit leaves after "
                f"{kubernetes_quantity(budget.reserved)} reserved; lower expected_connections "
                "or the buffer sizes, or raise memory_limit"
            )

    def nginx_keys(self) -> dict[str, str]:
        """The ingress-nginx ConfigMap keys this tuning sets."""
        return {
            "proxy-buffer-size": nginx_size(self.proxy_buffer_size),
            "proxy-buffers-number": str(self.proxy_buffers_number),
            "proxy-busy-buffers-size": nginx_size(self.proxy_busy_buffers_size),
            "client-body-buffer-size": nginx_size(self.client_body_buffer_size),
            "ssl-buffer-size": nginx_size(self.ssl_buffer_size),
            "http2-max-concurrent-streams": str(self.http2_max_concurrent_streams),
        }

    def nginx_workers(self) -> Component:
        """The nginx-worker term of a shard's capacity ceiling, per controller replica.

        One worker per replica is counted: one transfer runs on one worker, and the other
        workers of a replica share its node's cores with the controller.
        """
        measurement = measurement_for(self.proxy_buffer_size, self.ssl_buffer_size)
        return Component(
            name=NGINX_WORKERS_COMPONENT,
            capacity=measurement.throughput,
            per_replica=True,
            assumption=True,
            source=(
                "measured: one nginx worker terminating TLS, proxy_buffering off, "
                f"proxy_buffer_size {nginx_size(measurement.proxy_buffer_size)}, ssl_buffer_size "
                f"{nginx_size(measurement.ssl_buffer_size)}, 1 GiB downloads on loopback on 2 "
                f"cores did {measurement.measured} with the worker at 97-99% CPU (low end taken; "
                "bench/bench_smoke.py)"
            ),
        )
