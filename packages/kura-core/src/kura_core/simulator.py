"""The capacity simulator: a fleet of regional shards and dedicated gateways under CI bursts.

Pure and deterministic: no clock, no I/O, and every random draw comes from a ``random.Random``
seeded with the scenario's seed plus the name of what it perturbs, so the same scenario gives the
same series, and adding a gateway does not change the others' noise.

What it takes (a :class:`SimulationScenario`, which *is* a capacity :class:`Scenario` plus traffic):

* regions, each with its shared shards (``shards`` x ``replicas`` from the scenario) and the
  dedicated gateways of its dedicated accounts;
* each gateway's ceiling from the capacity model (:func:`kura_core.capacity.ceiling` over the
  scenario's components, with the providers' components as the base, as ``kura plan`` does);
* accounts with a steady rate and CI burst patterns (jobs x size within a window, repeating
  ``every``, from ``start``, delayed by a seeded ``jitter``), plus each region's background
  traffic, shaped by the time of day and spread over its shards. A region's observed peak is
  what its shared gateways carried at the daily peak (a regional load balancer's measurement):
  the background at its peak is that less the shared accounts' steady traffic, so without bursts
  the shards peak at the observed figure; bursts come on top.

What it gives per tick (``tick`` long, stamped at the tick's end, like a Prometheus rate):

* offered load and served bytes in and out of every gateway, requests per second;
* saturation = load / ceiling, the load being the offered load, or the ceiling while a backlog
  drains (the gateway is busy all the time then); above 1 when overloaded;
* p50/p90/p95/p99 request latency from a queueing model, the 5xx ratio, the success ratio and
  active connections;
* the state of the gateway's ingress controllers: successful config reloads within the tick,
  whether the last reload failed, and the time left on its soonest-expiring TLS certificate.
  These are healthy unless the scenario's ``controllers`` says otherwise: no reloads, and
  certificates ``cert_days`` from expiry at the start.

The queueing model, per gateway: an M/M/1 queue at utilisation ``rho = min(saturation, 0.98)``,
whose sojourn time is exponential with mean ``S / (1 - rho)`` (``S`` is the idle service time), so
its q-quantile is ``S * ln(1 / (1 - q)) / (1 - rho)``: p50 is ``0.69 S / (1 - rho)``, p90
``2.3 S / (1 - rho)``, p95 ``3.0 S / (1 - rho)`` and p99 ``4.6 S / (1 - rho)``, and all climb
steeply as saturation nears 1. Above the ceiling a fluid backlog builds up (offered - ceiling, per
second); it adds ``backlog / ceiling`` seconds of wait to every request, and what would wait
longer than ``max_wait`` (nginx's proxy timeouts) fails: that share of the offered bytes becomes
the 5xx ratio, on top of a small base error ratio. Of the requests that do not fail, a fixed
share is answered 4xx (cache misses are 404s), so the success ratio (neither 4xx nor 5xx) is
``(1 - 5xx ratio) x (1 - 4xx share)``. Active connections follow Little's law: requests per
second x mean time in the system, rounded up to a whole number (a count of connections, never
3.6 of them).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from kura_core.accounts import Handle
from kura_core.capacity import DEFAULT_COMPONENTS, Ceiling, Component, Shard
from kura_core.errors import InputError
from kura_core.names import dedicated_ingress_class, gateway_name
from kura_core.regions import Region, RegionId
from kura_core.scenario import SEED_BURSTS, Burst, RegionSpec, Scenario, load_scenario
from kura_core.units import Bandwidth, DataSize, Duration

DAY_SECONDS = 86_400.0
# M/M/1 is defined below rho = 1; past this the backlog term carries the overload.
RHO_MAX = 0.98
# ln(1 / (1 - q)): the q-quantile of an exponential sojourn time, in units of its mean.
P50_FACTOR = math.log(2.0)
P90_FACTOR = math.log(10.0)
P95_FACTOR = math.log(20.0)
P99_FACTOR = math.log(100.0)

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def _positive(value: Duration, what: str) -> Duration:
    if value.seconds <= 0:
        raise ValueError(f"{what} must be longer than zero")
    return value


class BurstPattern(Burst):
    """A CI burst that repeats: ``jobs x size / window`` (docs/capacity.md), and when it recurs."""

    every: Duration = Field(description="Time between two starts")
    start: Duration = Field(default=Duration(0.0), description="First start, after the sim starts")
    jitter: Duration = Field(
        default=Duration(0.0), description="Each start is delayed by a seeded draw in [0, jitter)"
    )

    @field_validator("every")
    @classmethod
    def _positive_every(cls, value: Duration) -> Duration:
        return _positive(value, "every")

    @model_validator(mode="after")
    def _fits_its_period(self) -> BurstPattern:
        if self.window.seconds + self.jitter.seconds > self.every.seconds:
            raise ValueError("window + jitter must fit within every, so bursts never overlap")
        return self


class SimulatedAccount(BaseModel):
    """One account in one region: where its traffic goes, and what it sends."""

    model_config = _FROZEN

    handle: Handle
    id: int = Field(ge=1, description="The account id; a dedicated gateway is named after it")
    region: RegionId
    dedicated: bool = False
    shard: int | None = Field(
        default=None, ge=1, description="Shared shard (1-based); default: by a hash of the handle"
    )
    replicas: int | None = Field(
        default=None, ge=1, description="Dedicated gateway replicas; default the region's"
    )
    steady: Bandwidth = Field(default=Bandwidth(0.0), description="Always-on traffic")
    bursts: list[BurstPattern] = Field(default_factory=list)
    upload_share: float = Field(
        default=0.3, ge=0, le=1, description="Share of its bytes clients send (the rest is out)"
    )

    @model_validator(mode="after")
    def _placement(self) -> SimulatedAccount:
        if self.dedicated and self.shard is not None:
            raise ValueError(f"{self.handle}: a dedicated account sits on no shared shard")
        if not self.dedicated and self.replicas is not None:
            raise ValueError(f"{self.handle}: replicas are for dedicated gateways only")
        return self


class Traffic(BaseModel):
    """Background traffic and the queueing model's figures."""

    model_config = _FROZEN

    daily_trough: float = Field(
        default=0.4, ge=0, le=1, description="Background traffic at its daily low / observed peak"
    )
    peak_at: Duration = Field(default=Duration(14 * 3600.0), description="Time of day of the peak")
    start_at: Duration = Field(
        default=Duration(13 * 3600.0), description="Time of day the simulation starts"
    )
    noise: float = Field(
        default=0.05, ge=0, lt=1, description="Background traffic varies by up to this fraction"
    )
    upload_share: float = Field(default=0.3, ge=0, le=1)
    object_size: DataSize = Field(
        default=DataSize(8e6), description="Mean bytes per request, for requests per second"
    )
    service_seconds: float = Field(
        default=0.04, gt=0, description="Mean time of one request on an idle gateway"
    )
    base_error_ratio: float = Field(default=0.001, ge=0, lt=1)
    client_error_ratio: float = Field(
        default=0.02,
        ge=0,
        lt=1,
        description="Share of the requests that do not fail answered 4xx (cache misses, refused "
        "tokens); an assumption",
    )
    max_wait: Duration = Field(
        default=Duration(60.0), description="Requests that would queue longer fail (5xx)"
    )

    @field_validator("max_wait")
    @classmethod
    def _positive_wait(cls, value: Duration) -> Duration:
        return _positive(value, "max_wait")


class OnGateway(BaseModel):
    """One gateway of a region: shared shard ``shard``, or the dedicated gateway of ``account``."""

    model_config = _FROZEN

    region: RegionId
    shard: int | None = Field(default=None, ge=1)
    account: Handle | None = Field(default=None, description="A dedicated account's handle")

    @model_validator(mode="after")
    def _one_gateway(self) -> OnGateway:
        if (self.shard is None) == (self.account is None):
            raise ValueError(f"{self.region}: name either a shard or a dedicated account")
        return self

    @property
    def where(self) -> str:
        which = f"shard {self.shard}" if self.shard is not None else f"account {self.account}"
        return f"{which} in {self.region}"


class ConfigReload(OnGateway):
    """A config reload of a gateway's ingress controllers, ``at`` after the start."""

    at: Duration
    failed: bool = False


class Certificate(OnGateway):
    """The soonest-expiring TLS certificate of a gateway: ``days`` after the start (negative:
    already expired)."""

    days: float


class Controllers(BaseModel):
    """The gateways' ingress controllers; healthy unless ``reloads`` or ``certificates`` say
    otherwise."""

    model_config = _FROZEN

    cert_days: float = Field(
        default=60.0,
        gt=0,
        description="Days from the start to the soonest certificate expiry of every gateway that "
        "`certificates` does not name (cert-manager renews 90-day certificates 30 days early)",
    )
    certificates: list[Certificate] = Field(default_factory=list)
    reloads: list[ConfigReload] = Field(default_factory=list)

    def in_regions(self, region_ids: Collection[str]) -> Controllers:
        return self.model_copy(
            update={
                "certificates": [c for c in self.certificates if c.region in region_ids],
                "reloads": [r for r in self.reloads if r.region in region_ids],
            }
        )


class SimulationScenario(Scenario):
    """A capacity scenario plus the traffic to play on it.

    Every ``kura plan`` scenario is a simulation scenario (background traffic only); the added
    keys are ``seed``, ``tick``, ``duration``, ``traffic``, ``accounts`` and ``controllers``.
    """

    seed: int = 0
    tick: Duration = Field(default=Duration(5.0), description="Time between two samples")
    duration: Duration = Field(default=Duration(3600.0), description="What `kura simulate` runs")
    traffic: Traffic = Field(default_factory=Traffic)
    accounts: list[SimulatedAccount] = Field(default_factory=list)
    controllers: Controllers = Field(default_factory=Controllers)

    @field_validator("tick", "duration")
    @classmethod
    def _positive_times(cls, value: Duration) -> Duration:
        return _positive(value, "tick and duration")

    @model_validator(mode="after")
    def _unique_accounts(self) -> SimulationScenario:
        seen: set[tuple[str, str]] = set()
        for account in self.accounts:
            key = (account.handle, account.region)
            if key in seen:
                raise ValueError(f"account {account.handle} is listed twice in {account.region}")
            seen.add(key)
        return self

    @property
    def ticks(self) -> int:
        """Ticks in ``duration``, at least one."""
        return max(1, round(self.duration.seconds / self.tick.seconds))

    def restricted_to(self, region_ids: Collection[str]) -> SimulationScenario:
        """The scenario without the accounts and region settings of other regions."""
        return self.model_copy(
            update={
                "accounts": [a for a in self.accounts if a.region in region_ids],
                "regions": {k: v for k, v in self.regions.items() if k in region_ids},
                "controllers": self.controllers.in_regions(region_ids),
            }
        )


class GatewayKind(StrEnum):
    SHARD = "shard"
    DEDICATED = "dedicated"


@dataclass(frozen=True)
class SimulatedGateway:
    """One gateway of the fleet: a shared shard of a region or an account's dedicated gateway."""

    name: str
    region: str
    kind: GatewayKind
    ingress_class: str
    ceiling: Ceiling
    shard: int | None = None
    account: str | None = None


class GatewaySample(NamedTuple):
    """One gateway over one tick. Bytes per second, seconds, ratios 0-1 (saturation may pass 1).

    A named tuple, not a frozen dataclass: a day at one-second ticks makes millions of them.
    """

    gateway: str
    offered_bps: float
    load_bps: float
    """What the gateway carries or is asked to: the offered load, or its ceiling while a
    backlog drains, when it is busy all the time."""
    bytes_in: float
    bytes_out: float
    saturation: float
    requests: float
    p95_latency: float
    p99_latency: float
    error_ratio: float
    active_connections: int
    """Requests in flight (Little's law), a whole number: a gateway serving any has one."""
    p50_latency: float
    p90_latency: float
    success_ratio: float
    config_reloads: int
    """Successful config reloads within the tick."""
    config_reload_failed: bool
    """The last config reload (up to the tick's end) failed."""
    cert_expiry: float
    """Seconds from the tick's end to the soonest certificate expiry."""


class AccountSample(NamedTuple):
    """What one account offered its gateway over one tick, in bits per second."""

    handle: str
    region: str
    gateway: str
    demand_bps: float


@dataclass(frozen=True)
class Tick:
    """Every gateway and account over ``[at - tick, at)``; ``at`` counts seconds from the start."""

    index: int
    at: float
    gateways: tuple[GatewaySample, ...]
    accounts: tuple[AccountSample, ...]


def shard_ingress_class(region: Region, shard: int) -> str:
    """Shard 1 is the region's ingress class; shard n is ``<class>-<n>``, another class."""
    return region.ingress_class_name if shard == 1 else f"{region.ingress_class_name}-{shard}"


def default_shard(handle: str, shards: int) -> int:
    """A stable shard for an account that names none: a hash of its handle."""
    return int(hashlib.sha256(handle.encode()).hexdigest(), 16) % shards + 1


def build_fleet(
    scenario: SimulationScenario,
    regions: Sequence[Region],
    base_components: Mapping[str, Sequence[Component]] | None = None,
) -> tuple[SimulatedGateway, ...]:
    """Every shard and dedicated gateway, region by region; accounts must fit the regions."""
    by_id = {region.id: region for region in regions}
    problems = [
        f"account {a.handle} is in region {a.region!r}, which is not simulated "
        f"(regions: {', '.join(by_id) or 'none'})"
        for a in scenario.accounts
        if a.region not in by_id
    ]
    problems += [
        f"scenario region {rid!r} is not simulated (regions: {', '.join(by_id) or 'none'})"
        for rid in scenario.regions
        if rid not in by_id
    ]
    fleet: list[SimulatedGateway] = []
    for region in regions:
        base = (*DEFAULT_COMPONENTS, *(base_components or {}).get(region.id, ()))
        settings = scenario.settings(region.id, base)
        shard_ceiling = settings.shard.ceiling()
        fleet += [
            SimulatedGateway(
                name=shard_ingress_class(region, index),
                region=region.id,
                kind=GatewayKind.SHARD,
                ingress_class=shard_ingress_class(region, index),
                ceiling=shard_ceiling,
                shard=index,
            )
            for index in range(1, settings.shards + 1)
        ]
        for account in scenario.accounts:
            if account.region != region.id:
                continue
            if account.shard is not None and account.shard > settings.shards:
                problems.append(
                    f"account {account.handle} is on shard {account.shard} but {region.id} "
                    f"has {settings.shards}"
                )
            if not account.dedicated:
                continue
            name = gateway_name(account.id, region.id)
            replicas = account.replicas or settings.shard.replicas
            fleet.append(
                SimulatedGateway(
                    name=name,
                    region=region.id,
                    kind=GatewayKind.DEDICATED,
                    ingress_class=dedicated_ingress_class(region.id, name),
                    ceiling=Shard(settings.shard.components, replicas).ceiling(),
                    account=account.handle,
                )
            )
    problems += [
        f"controllers: {entry.where} is not a simulated gateway"
        for entry in (*scenario.controllers.reloads, *scenario.controllers.certificates)
        if gateway_of(entry, fleet) is None
    ]
    if problems:
        raise InputError("; ".join(problems))
    return tuple(fleet)


def gateway_of(entry: OnGateway, fleet: Sequence[SimulatedGateway]) -> SimulatedGateway | None:
    """The gateway of the fleet an entry names; ``None`` when there is no such gateway."""
    return next(
        (
            g
            for g in fleet
            if (g.region, g.shard, g.account) == (entry.region, entry.shard, entry.account)
        ),
        None,
    )


def daily_shape(scenario: SimulationScenario, at: float) -> float:
    """Background traffic / observed peak at ``at`` seconds after the start: 1 at the peak."""
    traffic = scenario.traffic
    time_of_day = traffic.start_at.seconds + at
    phase = 2 * math.pi * (time_of_day - traffic.peak_at.seconds) / DAY_SECONDS
    return traffic.daily_trough + (1 - traffic.daily_trough) * (1 + math.cos(phase)) / 2


class _Schedule:
    """When one burst pattern of one account starts: each start is drawn once, and kept only
    while it can still overlap a tick, so a long run holds a handful of starts, not all of them."""

    __slots__ = ("_bps", "_every", "_first", "_jitter", "_key", "_reach", "_starts", "_window")

    def __init__(self, pattern: BurstPattern, key: str) -> None:
        self._key = key
        self._every, self._first = pattern.every.seconds, pattern.start.seconds
        self._window, self._jitter = pattern.window.seconds, pattern.jitter.seconds
        self._reach = math.ceil((self._window + self._jitter) / self._every)
        self._bps = pattern.demand.bits_per_second
        self._starts: dict[int, float] = {}

    def demand_at(self, begin: float, end: float) -> float:
        """Mean bits per second over ``[begin, end)``."""
        newest = math.floor((end - self._first) / self._every)
        oldest = max(0, newest - self._reach - 1)
        starts = self._starts
        if oldest not in starts or newest not in starts:
            for k in [k for k in starts if k < oldest]:
                del starts[k]
            for k in range(oldest, newest + 1):
                if k not in starts:
                    jitter = random.Random(f"{self._key}:{k}").uniform(0.0, self._jitter)
                    starts[k] = self._first + k * self._every + jitter
        overlap = 0.0
        for start in starts.values():
            if start < end and start + self._window > begin:
                overlap += min(end, start + self._window) - max(begin, start)
        return self._bps * overlap / (end - begin)


@dataclass(frozen=True)
class _Load:
    account: SimulatedAccount
    gateway: str
    schedules: tuple[_Schedule, ...]
    steady_bps: float


class Simulator:
    """Steps a fleet through time, one tick per :meth:`step`; deterministic for a scenario."""

    def __init__(
        self,
        scenario: SimulationScenario,
        regions: Sequence[Region],
        base_components: Mapping[str, Sequence[Component]] | None = None,
    ) -> None:
        self.scenario = scenario
        self.fleet = build_fleet(scenario, regions, base_components)
        self._index = 0
        self._backlog = {gateway.name: 0.0 for gateway in self.fleet}
        self._capacity = {g.name: g.ceiling.capacity.bits_per_second for g in self.fleet}
        self._max_wait = scenario.traffic.max_wait.seconds
        self._traffic = scenario.traffic
        self._noise = {
            gateway.name: random.Random(f"{scenario.seed}:noise:{gateway.name}")
            for gateway in self.fleet
        }
        self._peaks: dict[str, float] = {}
        self._shards: dict[str, list[SimulatedGateway]] = {}
        for region in regions:
            settings = scenario.settings(region.id)
            # The observed peak is what the region's shared gateways carried at the daily peak,
            # its shared accounts' steady traffic included: the background is the rest.
            steady = sum(
                a.steady.bits_per_second
                for a in scenario.accounts
                if a.region == region.id and not a.dedicated
            )
            self._peaks[region.id] = max(0.0, settings.observed_peak.bits_per_second - steady)
            self._shards[region.id] = [
                g for g in self.fleet if g.region == region.id and g.kind is GatewayKind.SHARD
            ]
        self._regions = {region.id: region for region in regions}
        self._loads = [
            _Load(
                a,
                self._gateway_of(a),
                tuple(
                    _Schedule(p, f"{scenario.seed}:burst:{a.handle}:{a.region}:{number}")
                    for number, p in enumerate(a.bursts)
                ),
                a.steady.bits_per_second,
            )
            for a in scenario.accounts
        ]
        controllers = scenario.controllers
        self._cert_days = {g.name: controllers.cert_days for g in self.fleet}
        for certificate in controllers.certificates:
            named = gateway_of(certificate, self.fleet)
            if named is not None:
                self._cert_days[named.name] = certificate.days
        self._reloads: dict[str, list[ConfigReload]] = {}
        for reload in sorted(controllers.reloads, key=lambda r: r.at.seconds):
            named = gateway_of(reload, self.fleet)
            if named is not None:
                self._reloads.setdefault(named.name, []).append(reload)

    def shard_of(self, account: SimulatedAccount) -> int | None:
        """The shared shard an account sits on; ``None`` for a dedicated account."""
        if account.dedicated:
            return None
        return account.shard or default_shard(account.handle, len(self._shards[account.region]))

    def _gateway_of(self, account: SimulatedAccount) -> str:
        shard = self.shard_of(account)
        if shard is None:
            return gateway_name(account.id, account.region)
        return shard_ingress_class(self._regions[account.region], shard)

    def step(self) -> Tick:
        """The next tick."""
        scenario, traffic = self.scenario, self.scenario.traffic
        dt = scenario.tick.seconds
        begin, end = self._index * dt, (self._index + 1) * dt
        offered: dict[str, float] = {g.name: 0.0 for g in self.fleet}
        uploads: dict[str, float] = {g.name: 0.0 for g in self.fleet}
        shape = daily_shape(scenario, (begin + end) / 2)
        for region, shards in self._shards.items():
            share = self._peaks[region] * shape / len(shards)
            for shard in shards:
                noisy = share * (1 + traffic.noise * self._noise[shard.name].uniform(-1.0, 1.0))
                offered[shard.name] += noisy
                uploads[shard.name] += noisy * traffic.upload_share
        accounts = []
        for load in self._loads:
            account = load.account
            demand = load.steady_bps
            for schedule in load.schedules:
                demand += schedule.demand_at(begin, end)
            offered[load.gateway] += demand
            uploads[load.gateway] += demand * account.upload_share
            accounts.append(AccountSample(account.handle, account.region, load.gateway, demand))
        samples = tuple(
            self._queue(g, offered[g.name], uploads[g.name], begin, end) for g in self.fleet
        )
        self._index += 1
        return Tick(self._index - 1, end, samples, tuple(accounts))

    def run(self, ticks: int | None = None) -> Iterator[Tick]:
        """The next ``ticks`` ticks (default: the scenario's), produced as they are consumed."""
        for _ in range(self.scenario.ticks if ticks is None else ticks):
            yield self.step()

    def _controllers(self, gateway: str, begin: float, end: float) -> tuple[int, bool]:
        """Successful reloads in ``[begin, end)``, and whether the last one by ``end`` failed."""
        reloads = self._reloads.get(gateway)
        if not reloads:
            return 0, False
        done = [r for r in reloads if r.at.seconds < end]
        succeeded = sum(1 for r in done if r.at.seconds >= begin and not r.failed)
        return succeeded, bool(done) and done[-1].failed

    def _queue(
        self, gateway: SimulatedGateway, offered: float, uploads: float, begin: float, end: float
    ) -> GatewaySample:
        traffic = self._traffic
        dt = end - begin
        capacity = self._capacity[gateway.name]
        backlog = self._backlog[gateway.name]
        served = min(capacity * dt, backlog + offered * dt)
        waiting = backlog + offered * dt - served
        dropped = max(0.0, waiting - capacity * self._max_wait)
        self._backlog[gateway.name] = waiting - dropped
        wait = self._backlog[gateway.name] / capacity
        load = max(offered, served / dt)
        saturation = load / capacity
        rho = min(saturation, RHO_MAX)
        service = traffic.service_seconds / (1 - rho)
        errors = dropped / (offered * dt) if offered > 0 else 0.0
        served_bytes = served / dt / 8
        upload_share = uploads / offered if offered > 0 else traffic.upload_share
        requests = served_bytes / traffic.object_size.bytes
        error_ratio = min(1.0, traffic.base_error_ratio + errors)
        reloads, reload_failed = self._controllers(gateway.name, begin, end)
        return GatewaySample(
            gateway=gateway.name,
            offered_bps=offered,
            load_bps=load,
            bytes_in=served_bytes * upload_share,
            bytes_out=served_bytes * (1 - upload_share),
            saturation=saturation,
            requests=requests,
            p95_latency=service * P95_FACTOR + wait,
            p99_latency=service * P99_FACTOR + wait,
            error_ratio=error_ratio,
            active_connections=math.ceil(requests * (service + wait)),
            p50_latency=service * P50_FACTOR + wait,
            p90_latency=service * P90_FACTOR + wait,
            success_ratio=(1 - error_ratio) * (1 - traffic.client_error_ratio),
            config_reloads=reloads,
            config_reload_failed=reload_failed,
            cert_expiry=self._cert_days[gateway.name] * DAY_SECONDS - end,
        )


def simulate(
    scenario: SimulationScenario,
    regions: Sequence[Region],
    base_components: Mapping[str, Sequence[Component]] | None = None,
    ticks: int | None = None,
) -> Iterator[Tick]:
    """``ticks`` ticks (default: the scenario's duration) of a fresh :class:`Simulator`, one at a
    time: a run of any length holds one tick."""
    return Simulator(scenario, regions, base_components).run(ticks)


def _pattern(burst: Burst, every: str, start: str, jitter: str = "0s") -> BurstPattern:
    return BurstPattern(
        **burst.model_dump(),
        every=Duration.parse(every),
        start=Duration.parse(start),
        jitter=Duration.parse(jitter),
    )


NIGHTLY, RELEASE_TRAIN, MONOREPO_WARMUP = SEED_BURSTS
# The three bursts of docs/capacity.md, each on an account, in the three production regions;
# eu-central carries the 600 MB/s observed peak, the smaller regions half and a quarter of it. The
# nightly builds (50 x 500MB / 2m = 1.7 Gbps) and the release train (100 x 1GB / 5m = 2.7 Gbps)
# on eu-central's two shared shards, and the 500 x 2GB / 2m = 66.7 Gbps monorepo warm-up on a
# dedicated gateway in us-east, where no gateway the capacity model allows can carry it.
DEFAULT_SIMULATION = SimulationScenario(
    name="seed-fleet",
    description=(
        "The production regions, eu-central at its 600 MB/s observed peak on two shards, "
        "with the three CI bursts of docs/capacity.md: nightly builds and a release train on "
        "eu-central's shards, a monorepo warm-up on a dedicated gateway in us-east"
    ),
    seed=7,
    regions={
        "eu-central": RegionSpec(shards=2),
        "us-east": RegionSpec(observed_peak=Bandwidth.parse("300MB/s")),
        "us-west": RegionSpec(observed_peak=Bandwidth.parse("150MB/s")),
    },
    accounts=[
        SimulatedAccount(
            handle="acme",
            id=101,
            region="eu-central",
            shard=1,
            steady=Bandwidth.parse("200Mbps"),
            bursts=[_pattern(NIGHTLY.model_copy(update={"name": "nightly"}), "15m", "2m", "1m")],
        ),
        SimulatedAccount(
            handle="globex",
            id=102,
            region="eu-central",
            shard=2,
            steady=Bandwidth.parse("300Mbps"),
            bursts=[
                _pattern(RELEASE_TRAIN.model_copy(update={"name": "release train"}), "20m", "5m")
            ],
        ),
        SimulatedAccount(
            handle="hooli",
            id=103,
            region="eu-central",
            dedicated=True,
            steady=Bandwidth.parse("1.5Gbps"),
        ),
        SimulatedAccount(
            handle="initech",
            id=104,
            region="us-east",
            dedicated=True,
            replicas=4,
            steady=Bandwidth.parse("1Gbps"),
            bursts=[
                _pattern(
                    MONOREPO_WARMUP.model_copy(update={"name": "monorepo warm-up"}), "30m", "10m"
                )
            ],
        ),
        SimulatedAccount(
            handle="umbrella",
            id=105,
            region="us-east",
            steady=Bandwidth.parse("400Mbps"),
            bursts=[_pattern(NIGHTLY.model_copy(update={"name": "nightly"}), "10m", "4m", "2m")],
        ),
        SimulatedAccount(
            handle="soylent",
            id=106,
            region="us-west",
            steady=Bandwidth.parse("150Mbps"),
        ),
        SimulatedAccount(
            handle="stark",
            id=107,
            region="us-west",
            dedicated=True,
            steady=Bandwidth.parse("600Mbps"),
            bursts=[
                _pattern(RELEASE_TRAIN.model_copy(update={"name": "release train"}), "30m", "12m")
            ],
        ),
    ],
)


def load_simulation(path: Path) -> SimulationScenario:
    """Load a simulation (or plain capacity) scenario file; its name defaults to the file's stem."""
    return load_scenario(path, SimulationScenario)
