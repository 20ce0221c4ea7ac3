"""Regions and region catalogs: where Kura runs, and what each region's gateway is called."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from kura_core.dns import require_dns_label
from kura_core.errors import CatalogError, InputError
from kura_core.files import read_yaml
from kura_core.validation import validation_problems

NODE_POOL_LABEL = "node.cluster.x-k8s.io/pool"
# Upstream's templates and placeholders; ``{handle}`` is accepted as kura's older spelling.
PUBLIC_HOST_TEMPLATE = "{account_handle}-{cluster_id}.kura.tuist.dev"
GRPC_HOST_TEMPLATE = "grpc.{account_handle}-{cluster_id}.kura.tuist.dev"
HANDLE_PLACEHOLDERS = ("{account_handle}", "{handle}")
# Comma-separated region ids: the regions a deployment offers (upstream's server setting).
AVAILABLE_REGIONS_ENV = "TUIST_KURA_AVAILABLE_REGIONS"
# Upstream's names for a region's keys, where they differ from kura's.
UPSTREAM_KEYS = {"hetzner_location": "location", "grpc_public_host_template": "grpc_host_template"}
DEFAULT_LOAD_BALANCER_PROVIDER = "hetzner"
DEFAULT_INGRESS_PROVIDER = "ingress-nginx"
DEFAULT_STORAGE_CLASS = "hcloud-volumes"


def _region_id(value: str) -> str:
    return require_dns_label(value, "region id")


def _class_name(value: str) -> str:
    return require_dns_label(value, "ingress class name")


def _host_template(value: str) -> str:
    missing = [] if any(p in value for p in HANDLE_PLACEHOLDERS) else ["{account_handle}"]
    if "{cluster_id}" not in value:
        missing.append("{cluster_id}")
    if missing:
        raise ValueError(f"host template {value!r} lacks {' and '.join(missing)}")
    try:
        value.format(account_handle="a", handle="a", cluster_id="c")
    except (KeyError, IndexError, ValueError):
        raise ValueError(
            f"host template {value!r} may only use {{account_handle}} (or {{handle}}) and "
            "{cluster_id}"
        ) from None
    return value


RegionId = Annotated[str, AfterValidator(_region_id)]
IngressClassName = Annotated[str, AfterValidator(_class_name)]
HostTemplate = Annotated[str, AfterValidator(_host_template)]


class Region(BaseModel):
    """One Kura region: a node pool in the umbrella cluster with its own regional gateway."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: RegionId
    display_name: str = Field(min_length=1)
    location: str = Field(min_length=1, description="The provider location (Hetzner: fsn1, ash...)")
    node_pool: str = Field(min_length=1)
    cluster_id: str = ""
    ingress_class_name: str = ""
    public_host_template: HostTemplate = PUBLIC_HOST_TEMPLATE
    grpc_host_template: HostTemplate = GRPC_HOST_TEMPLATE
    storage_class: str = DEFAULT_STORAGE_CLASS
    load_balancer_provider: str = DEFAULT_LOAD_BALANCER_PROVIDER
    ingress_provider: str = DEFAULT_INGRESS_PROVIDER

    @model_validator(mode="before")
    @classmethod
    def _upstream_keys(cls, data: Any) -> Any:
        # Upstream's region configs name two keys differently; either name is accepted.
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        for upstream, ours in UPSTREAM_KEYS.items():
            if upstream in data:
                value = data.pop(upstream)
                if data.setdefault(ours, value) != value:
                    raise ValueError(f"{upstream} and {ours} differ")
        return data

    @model_validator(mode="before")
    @classmethod
    def _node_selector(cls, data: Any) -> Any:
        # `kura regions -o yaml` prints the node pool as the node selector it becomes, as
        # upstream's region configs have it, so a catalog accepts it in that form too.
        if not isinstance(data, Mapping) or "node_selector" not in data:
            return data
        data = dict(data)
        selector = data.pop("node_selector")
        if not isinstance(selector, Mapping) or set(selector) != {NODE_POOL_LABEL}:
            raise ValueError(f"node_selector must be {{{NODE_POOL_LABEL}: <node pool>}}")
        pool = selector[NODE_POOL_LABEL]
        if data.setdefault("node_pool", pool) != pool:
            raise ValueError("node_pool and node_selector name different node pools")
        return data

    def model_post_init(self, context: Any, /) -> None:
        # Derived defaults live here so a catalog file may leave them out.
        if not self.cluster_id:
            object.__setattr__(self, "cluster_id", f"{self.id}-1")
        if not self.ingress_class_name:
            object.__setattr__(self, "ingress_class_name", f"kura-{self.id}")
        _class_name(self.ingress_class_name)

    @property
    def node_selector(self) -> dict[str, str]:
        return {NODE_POOL_LABEL: self.node_pool}

    def public_host(self, handle: str) -> str:
        return self._host(self.public_host_template, handle)

    def grpc_host(self, handle: str) -> str:
        return self._host(self.grpc_host_template, handle)

    def _host(self, template: str, handle: str) -> str:
        lowered = handle.lower()
        return template.format(account_handle=lowered, handle=lowered, cluster_id=self.cluster_id)


class RegionCatalog:
    """The regions one environment offers, in a stable order."""

    def __init__(self, regions: Iterable[Region] = ()) -> None:
        self._regions: dict[str, Region] = {}
        for region in regions:
            self._regions.setdefault(region.id, region)
        self._all = tuple(regions)

    def __iter__(self) -> Iterator[Region]:
        return iter(self._regions.values())

    def __len__(self) -> int:
        return len(self._regions)

    def __contains__(self, region_id: object) -> bool:
        return region_id in self._regions

    @property
    def ids(self) -> list[str]:
        return list(self._regions)

    def only(self, ids: Iterable[str], *, env: str = "") -> RegionCatalog:
        """The regions named in ``ids``, in catalog order; an id it lacks is an ``InputError``."""
        wanted = list(dict.fromkeys(ids))
        unknown = [rid for rid in wanted if rid not in self._regions]
        if unknown:
            where = f" in env {env!r}" if env else ""
            offered = ", ".join(self._regions) or "none"
            raise InputError(
                f"{AVAILABLE_REGIONS_ENV} names region(s) {', '.join(unknown)} not offered{where} "
                f"(offered: {offered})"
            )
        return RegionCatalog(region for region in self if region.id in wanted)

    def get(self, region_id: str, *, env: str = "") -> Region:
        try:
            return self._regions[region_id]
        except KeyError:
            where = f" in env {env!r}" if env else ""
            offered = ", ".join(self._regions) or "none"
            raise InputError(f"unknown region {region_id!r}{where} (offered: {offered})") from None

    def problems(
        self,
        *,
        load_balancer_providers: Iterable[str] | None = None,
        ingress_providers: Iterable[str] | None = None,
    ) -> list[str]:
        """Every problem of this catalog at once; provider names are checked when given."""
        found: list[str] = []
        seen_ids: dict[str, int] = {}
        seen_classes: dict[str, str] = {}
        for region in self._all:
            seen_ids[region.id] = seen_ids.get(region.id, 0) + 1
            owner = seen_classes.setdefault(region.ingress_class_name, region.id)
            if owner != region.id:
                found.append(
                    f"region {region.id!r}: ingress class {region.ingress_class_name!r} "
                    f"is already used by region {owner!r}"
                )
        found.extend(
            f"region id {rid!r} is defined {count} times"
            for rid, count in seen_ids.items()
            if count > 1
        )
        lbs = set(load_balancer_providers) if load_balancer_providers is not None else None
        ingresses = set(ingress_providers) if ingress_providers is not None else None
        for region in self:
            if lbs is not None and region.load_balancer_provider not in lbs:
                found.append(
                    f"region {region.id!r}: unknown load-balancer provider "
                    f"{region.load_balancer_provider!r} (known: {', '.join(sorted(lbs)) or 'none'})"
                )
            if ingresses is not None and region.ingress_provider not in ingresses:
                found.append(
                    f"region {region.id!r}: unknown ingress provider {region.ingress_provider!r} "
                    f"(known: {', '.join(sorted(ingresses)) or 'none'})"
                )
        return found


# The managed catalog as one data table: (id, display name, location, node pool, environments).
MANAGED_REGIONS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("eu-central", "EU Central", "fsn1", "kura", ("production", "staging", "canary")),
    ("us-east", "US East", "ash", "kura-us-east", ("production",)),
    ("us-west", "US West", "hil", "kura-us-west", ("production",)),
)
ENVIRONMENTS: tuple[str, ...] = ("production", "staging", "canary")


PRODUCTION = "production"


def env_host_templates(env: str) -> dict[str, str]:
    """Hosts per env, as upstream: production's bare, others suffixed (``-staging``), so one
    account's hosts in two envs never collide in DNS or in a certificate."""
    suffix = "" if env == PRODUCTION else f"-{env}"
    public = f"{{account_handle}}-{{cluster_id}}{suffix}.kura.tuist.dev"
    return {"public_host_template": public, "grpc_host_template": f"grpc.{public}"}


def managed_catalogs() -> dict[str, RegionCatalog]:
    """The built-in managed catalog, one per environment."""
    return {
        env: RegionCatalog(
            Region(
                id=rid,
                display_name=name,
                location=location,
                node_pool=pool,
                **env_host_templates(env),
            )
            for rid, name, location, pool, envs in MANAGED_REGIONS
            if env in envs
        )
        for env in ENVIRONMENTS
    }


def available_region_ids(environ: Mapping[str, str]) -> list[str] | None:
    """The ids :data:`AVAILABLE_REGIONS_ENV` lists (trimmed, blanks dropped); ``None`` unset."""
    value = environ.get(AVAILABLE_REGIONS_ENV)
    if value is None or not value.strip():
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


_REGION_LIST = TypeAdapter(list[Region])


# A catalog file that is a bare list of regions (what `kura regions -o yaml` prints) offers them
# in every environment.
ANY_ENV = "*"

CATALOG_FORMAT = (
    "expected `environments: {<env>: [<region>, ...]}`, each region a mapping with id, "
    "display_name, location and node_pool (docs/examples/catalog.yaml), or a list of regions "
    "as `kura regions -o yaml` prints it"
)


def _parse_regions(raw: object, where: str, problems: list[str]) -> RegionCatalog | None:
    strays = [i for i in raw if not isinstance(i, Mapping)] if isinstance(raw, list) else []
    if strays:
        problems.append(f"{where}: a region is a mapping, not {strays[0]!r}; {CATALOG_FORMAT}")
        return None
    try:
        regions = _REGION_LIST.validate_python(raw)
    except ValidationError as exc:
        problems.extend(validation_problems(exc, where))
        return None
    catalog = RegionCatalog(regions)
    problems.extend(f"{where}: {p}" for p in catalog.problems())
    return catalog


def catalogs_from_mapping(data: object, *, source: str) -> dict[str, RegionCatalog]:
    """Parse ``{environments: {env: [region, ...]}}``, or a bare region list (key
    :data:`ANY_ENV`), reporting every problem at once."""
    problems: list[str] = []
    catalogs: dict[str, RegionCatalog] = {}
    if isinstance(data, list):
        catalog = _parse_regions(data, source, problems)
        if catalog is not None:
            catalogs[ANY_ENV] = catalog
    elif isinstance(data, Mapping) and isinstance(data.get("environments"), Mapping):
        for env, raw_regions in data["environments"].items():
            catalog = _parse_regions(raw_regions, f"{source}: {env}", problems)
            if catalog is not None:
                catalogs[str(env)] = catalog
    else:
        raise InputError(f"{source}: {CATALOG_FORMAT}")
    if problems:
        raise CatalogError(problems)
    return catalogs


def catalog_for(catalogs: Mapping[str, RegionCatalog], env: str) -> RegionCatalog | None:
    """The catalog of ``env``: its own, else a catalog for every env, else none."""
    return catalogs.get(env, catalogs.get(ANY_ENV))


def load_catalog_file(path: Path) -> dict[str, RegionCatalog]:
    """Load region catalogs from a YAML (or JSON) file."""
    return catalogs_from_mapping(read_yaml(path, "catalog"), source=str(path))
