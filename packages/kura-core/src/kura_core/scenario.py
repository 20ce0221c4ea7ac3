"""Capacity scenarios: the demand and gateway set-up that ``kura plan`` plans for.

A scenario sets, per region, the observed peak, per-account peaks and isolation needs, CI bursts,
capacity components and shard and replica counts, plus the ladder's thresholds. Whatever it leaves
out comes from the built-in scenario, which holds the figures of docs/capacity.md: a 600 MB/s
observed regional peak, its three CI bursts, the default components, and one shard of two
replicas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar, overload

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from kura_core.capacity import (
    DEFAULT_COMPONENTS,
    DEFAULT_GATEWAY_REPLICAS,
    Component,
    Shard,
    burst_demand,
    merge_components,
)
from kura_core.errors import InputError
from kura_core.files import read_yaml
from kura_core.ladder import AccountDemand, Thresholds
from kura_core.regions import RegionId
from kura_core.units import Bandwidth, DataSize, Duration
from kura_core.validation import validation_problems

ComponentName = Annotated[str, StringConstraints(min_length=1, pattern=r"^[^=\s]+$")]
AccountHandle = Annotated[str, StringConstraints(min_length=1, pattern=r"^\S+$")]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ComponentSpec(BaseModel):
    """A component figure set by a scenario; a bare bandwidth (``regional-lb: 8Gbps``) is enough."""

    model_config = _FROZEN

    capacity: Bandwidth
    per_replica: bool | None = Field(
        default=None,
        description="Unset keeps the built-in component's; a new component is per shard",
    )
    assumption: bool = False
    source: str = "scenario"

    @model_validator(mode="before")
    @classmethod
    def _bare_bandwidth(cls, data: Any) -> Any:
        return {"capacity": data} if isinstance(data, str) else data

    def apply(self, name: str, base: Component | None) -> Component:
        per_replica = self.per_replica
        if per_replica is None:
            per_replica = base.per_replica if base is not None else False
        return Component(
            name=name,
            capacity=self.capacity,
            per_replica=per_replica,
            assumption=self.assumption,
            source=self.source,
            data_plane=base.data_plane if base is not None else False,
        )


class Burst(BaseModel):
    """A CI burst: ``jobs`` jobs each moving ``size`` within ``window``."""

    model_config = _FROZEN

    name: str = ""
    jobs: int = Field(ge=1)
    size: DataSize
    window: Duration

    @field_validator("window")
    @classmethod
    def _positive_window(cls, value: Duration) -> Duration:
        if value.seconds <= 0:
            raise ValueError("a burst window must be longer than zero")
        return value

    @property
    def label(self) -> str:
        return self.name or f"{self.jobs} x {self.size} / {self.window}"

    @property
    def demand(self) -> Bandwidth:
        return burst_demand(self.jobs, self.size, self.window)


class AccountSpec(BaseModel):
    """One account's regular peak in a region, and whether its contract needs isolation."""

    model_config = _FROZEN

    peak: Bandwidth = Bandwidth(0.0)
    isolation: bool = False


class RegionSpec(BaseModel):
    """One region's settings; anything unset comes from the scenario's defaults."""

    model_config = _FROZEN

    observed_peak: Bandwidth | None = None
    shards: int | None = Field(default=None, ge=1)
    replicas: int | None = Field(default=None, ge=1)
    components: dict[ComponentName, ComponentSpec] = Field(default_factory=dict)
    accounts: dict[AccountHandle, AccountSpec] = Field(default_factory=dict)
    bursts: list[Burst] | None = None


# The figures of docs/capacity.md.
SEED_OBSERVED_PEAK = Bandwidth.parse("600MB/s")
SEED_BURSTS: tuple[Burst, ...] = (
    Burst(jobs=50, size=DataSize.parse("500MB"), window=Duration.parse("2m")),
    Burst(jobs=100, size=DataSize.parse("1GB"), window=Duration.parse("5m")),
    Burst(jobs=500, size=DataSize.parse("2GB"), window=Duration.parse("2m")),
)


class ScenarioDefaults(BaseModel):
    """What every region starts from."""

    model_config = _FROZEN

    observed_peak: Bandwidth = SEED_OBSERVED_PEAK
    shards: int = Field(default=1, ge=1)
    replicas: int = Field(default=DEFAULT_GATEWAY_REPLICAS, ge=1)
    components: dict[ComponentName, ComponentSpec] = Field(default_factory=dict)
    bursts: list[Burst] = Field(default_factory=lambda: list(SEED_BURSTS))


@dataclass(frozen=True)
class RegionSettings:
    """A region's scenario with the defaults filled in: what the planner works from."""

    observed_peak: Bandwidth
    shards: int
    shard: Shard
    accounts: tuple[AccountDemand, ...]
    bursts: tuple[Burst, ...]


def _components(
    base: Sequence[Component], *layers: Mapping[str, ComponentSpec]
) -> tuple[Component, ...]:
    kept = merge_components(base)
    merged = {component.name: component for component in kept}
    # A default term the region's own provider displaced (nginx workers, where the data plane is
    # Envoy) stays out even where the scenario gives it a figure: it is not this region's term.
    displaced = {component.name for component in base} - set(merged)
    for layer in layers:
        for name, spec in layer.items():
            if name not in displaced:
                merged[name] = spec.apply(name, merged.get(name))
    return tuple(merged.values())


class Scenario(BaseModel):
    """Demand and gateway set-up for the regions of one environment."""

    model_config = _FROZEN

    name: str = "seed"
    description: str = ""
    defaults: ScenarioDefaults = Field(default_factory=ScenarioDefaults)
    regions: dict[RegionId, RegionSpec] = Field(default_factory=dict)
    thresholds: Thresholds = Field(default_factory=Thresholds)

    @model_validator(mode="after")
    def _replicas_within_max(self) -> Scenario:
        most = self.thresholds.max_replicas
        over = [("defaults", self.defaults.replicas)] + [
            (f"regions.{rid}", spec.replicas)
            for rid, spec in self.regions.items()
            if spec.replicas is not None
        ]
        problems = [
            f"{where}.replicas {count} is above thresholds.max_replicas {most}"
            for where, count in over
            if count > most
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def settings(
        self, region_id: str, base: Sequence[Component] = DEFAULT_COMPONENTS
    ) -> RegionSettings:
        """The region's settings; ``base`` components are what the scenario's figures replace."""
        spec = self.regions.get(region_id, RegionSpec())
        defaults = self.defaults
        replicas = spec.replicas if spec.replicas is not None else defaults.replicas
        return RegionSettings(
            observed_peak=spec.observed_peak or defaults.observed_peak,
            shards=spec.shards if spec.shards is not None else defaults.shards,
            shard=Shard(_components(base, defaults.components, spec.components), replicas),
            accounts=tuple(
                AccountDemand(handle=handle, peak=account.peak, isolation=account.isolation)
                for handle, account in spec.accounts.items()
            ),
            bursts=tuple(spec.bursts if spec.bursts is not None else defaults.bursts),
        )


DEFAULT_SCENARIO = Scenario(
    name="seed",
    description=(
        "The figures of docs/capacity.md: a 600 MB/s observed regional peak and its three CI "
        "bursts, on one shard of two gateway replicas per region"
    ),
)


_S = TypeVar("_S", bound=Scenario)


@overload
def scenario_from_mapping(data: object, *, source: str) -> Scenario: ...
@overload
def scenario_from_mapping(data: object, *, source: str, model: type[_S]) -> _S: ...
def scenario_from_mapping(
    data: object, *, source: str, model: type[Scenario] = Scenario
) -> Scenario:
    """Validate a scenario (or a subclass: a simulation), reporting every problem at once."""
    if not isinstance(data, Mapping):
        raise InputError(f"{source}: expected a mapping with defaults, regions and thresholds")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError("; ".join(validation_problems(exc, f"{source}: scenario"))) from None


@overload
def load_scenario(path: Path) -> Scenario: ...
@overload
def load_scenario(path: Path, model: type[_S]) -> _S: ...
def load_scenario(path: Path, model: type[Scenario] = Scenario) -> Scenario:
    """Load a scenario YAML file as ``model``; its name defaults to the file's stem."""
    data = read_yaml(path, "scenario")
    if isinstance(data, Mapping) and "name" not in data:
        data = {**data, "name": path.stem}
    return scenario_from_mapping(data, source=str(path), model=model)
