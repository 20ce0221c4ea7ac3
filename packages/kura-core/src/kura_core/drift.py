"""Drift between a region catalog, the platform chart values and the cluster's node pools.

Upstream's drift test (docs/upstream.md) cross-checks the server's catalog with
``infra/helm/platform/values.yaml`` and ``infra/k8s/clusters/cluster-production.yaml``. This does
the same for any environment and any ingress provider: each region's ingress provider says which
values blocks it renders (what ``kura gateway values`` prints) and its load-balancer provider which
annotations it expects, so no provider's keys are known here. What is compared is what ties a
block to the catalog: every field the provider fills with the region's ingress class, and the
load-balancer annotations wherever the provider puts them. The rest of a block (an nginx key, a
replica count) is tuning, which the platform may set differently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from kura_core.errors import InputError, KuraError
from kura_core.files import parse_yaml_stream, read_text, read_yaml
from kura_core.names import regional_load_balancer_name
from kura_core.providers import ProviderRegistry
from kura_core.regions import NODE_POOL_LABEL, Region, RegionCatalog

_MISSING = object()
MACHINE_DEPLOYMENTS = "spec.topology.workers.machineDeployments"

# A place in a values tree: mapping keys and list indices.
ValuesPath = tuple[str | int, ...]


class DriftFinding(BaseModel):
    """One mismatch. ``check`` is a stable code; ``expected``/``actual`` are as written in YAML."""

    model_config = ConfigDict(frozen=True)

    region: str
    check: str
    expected: str | None
    actual: str | None
    message: str


class DriftReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    env: str
    values: list[str]
    cluster: str
    regions: list[str]
    findings: list[DriftFinding]


@dataclass(frozen=True)
class RegionValues:
    """What the platform values must hold for one region's shared gateway.

    ``blocks`` are the values blocks the region's ingress provider renders, keyed by block;
    ``annotations`` the load-balancer annotations its load-balancer provider expects;
    ``other_blocks`` the keys the other installed ingress providers would give the region, so a
    block left behind by the provider it moved from is recognised.
    """

    blocks: Mapping[str, Any]
    annotations: Mapping[str, str]
    other_blocks: frozenset[str] = field(default_factory=frozenset)


def region_values(region: Region, providers: ProviderRegistry) -> RegionValues:
    """Ask ``region``'s providers what its shared gateway's values are."""
    load_balancer = providers.load_balancer(region.load_balancer_provider)
    blocks = providers.ingress(region.ingress_provider).shared_gateway_values(
        region, load_balancer=load_balancer
    )
    others: set[str] = set()
    for name, provider in sorted(providers.ingresses.items()):
        if name == region.ingress_provider:
            continue
        try:
            others.update(provider.shared_gateway_values(region, load_balancer=load_balancer))
        except KuraError:
            # Only the block names are wanted, to spot a stale block; a provider that cannot
            # render this region names none, and must not fail the region's own check.
            continue
    return RegionValues(
        blocks=blocks,
        annotations=load_balancer.service_annotations(
            region,
            load_balancer_name=regional_load_balancer_name(region.id),
            node_selector=region.node_selector,
        ),
        other_blocks=frozenset(others - set(blocks)),
    )


def _render(value: Any) -> str | None:
    """A value as the YAML author wrote it; non-strings are tagged so ``true`` ≠ ``"true"``."""
    if value is _MISSING or value is None:
        return None
    if isinstance(value, str):
        return value
    return f"{json.dumps(value, default=str)} (not a string)"


def _describe(value: Any) -> str:
    """A value for a message: ``missing`` when absent, empty strings made visible."""
    rendered = _render(value)
    if rendered is None:
        return "missing"
    return rendered or '""'


def _shape_name(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"the scalar {json.dumps(value, default=str)}"


def _mapping(value: Any, source: str, path: str) -> Mapping[str, Any]:
    """``value`` as a mapping; absent or null is empty, anything else is the wrong shape."""
    if value is _MISSING or value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(f"{source}: {path} must be a mapping, not {_shape_name(value)}")
    return value


def _path_text(path: ValuesPath) -> str:
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else key)
    return text


def _dig(data: Any, keys: ValuesPath, source: str, path: ValuesPath = ()) -> Any:
    """``data[k1][k2]...``; a missing level gives ``_MISSING``, a level of the wrong shape (not a
    mapping for a key, not a list for an index) is an error naming ``source`` and the level."""
    current: Any = data
    walked = path
    for key in keys:
        if isinstance(key, int):
            if current is _MISSING or current is None:
                return _MISSING
            if not isinstance(current, list):
                raise InputError(
                    f"{source}: {_path_text(walked)} must be a list, not {_shape_name(current)}"
                )
            current = current[key] if key < len(current) else _MISSING
        else:
            current = _mapping(current, source, _path_text(walked)).get(key, _MISSING)
        walked = (*walked, key)
        if current is _MISSING:
            return _MISSING
    return current


def _catalog_leaves(
    rendered: Any, region: Region, annotations: Mapping[str, str], path: ValuesPath = ()
) -> Iterator[tuple[ValuesPath, str, str]]:
    """``(path, check, expected)`` of each leaf of a rendered block that the catalog decides,
    in rendered order: a load-balancer annotation, or the region's ingress class."""
    if isinstance(rendered, Mapping):
        for key, value in rendered.items():
            key = str(key)
            if annotations.get(key) == value and isinstance(value, str):
                yield (*path, key), "lb-annotation", value
            else:
                yield from _catalog_leaves(value, region, annotations, (*path, key))
    elif isinstance(rendered, list):
        for index, item in enumerate(rendered):
            yield from _catalog_leaves(item, region, annotations, (*path, index))
    elif rendered == region.ingress_class_name:
        yield path, "ingress-class", region.ingress_class_name


def machine_deployments(cluster: Mapping[str, Any], source: str) -> list[Mapping[str, Any]]:
    """The ``spec.topology.workers.machineDeployments`` of a Cluster API Cluster."""
    path = MACHINE_DEPLOYMENTS
    kind = cluster.get("kind")
    if kind != "Cluster":
        raise InputError(f"{source}: expected a Cluster API Cluster, got kind {_describe(kind)}")
    deployments = _dig(cluster, tuple(path.split(".")), source)
    if deployments is _MISSING:
        raise InputError(f"{source}: the Cluster has no {path} (a ClusterClass topology is needed)")
    if not isinstance(deployments, list):
        raise InputError(f"{source}: {path} must be a list, not {_shape_name(deployments)}")
    for index, item in enumerate(deployments):
        if not isinstance(item, Mapping):
            raise InputError(
                f"{source}: {path}[{index}] must be a mapping, not {_shape_name(item)}"
            )
    return deployments


def _pool_of(deployment: Mapping[str, Any], source: str, path: str) -> Any:
    labels = _dig(deployment, ("metadata", "labels"), source, (path,))
    return _mapping(labels, source, f"{path}.metadata.labels").get(NODE_POOL_LABEL)


def _block_enabled(block: Mapping[str, Any]) -> bool:
    # Helm ignores a condition that is absent or not a bool, leaving the subchart enabled.
    return block.get("enabled") is not False


def _region_findings(
    region: Region,
    values: Mapping[str, Any],
    deployments: list[Mapping[str, Any]],
    expected: RegionValues,
    values_source: str,
    cluster_source: str,
) -> list[DriftFinding]:
    found: list[DriftFinding] = []

    def add(check: str, expected: str | None, actual: Any, message: str) -> None:
        found.append(
            DriftFinding(
                region=region.id,
                check=check,
                expected=expected,
                actual=_render(actual),
                message=f"region {region.id}: {message}",
            )
        )

    for key, rendered in expected.blocks.items():
        raw_block = values.get(key, _MISSING)
        if raw_block is _MISSING:
            add("values-block", key, None, f"platform values have no {key} block")
            continue
        block = _mapping(raw_block, values_source, key)
        if not _block_enabled(block):
            add("enabled", "true", "false", f"{key} is disabled (enabled: false)")
        for path, check, want in _catalog_leaves(rendered, region, expected.annotations):
            actual = _dig(block, path, values_source, (key,))
            if actual == want:
                continue
            if check == "lb-annotation":
                message = f"{key} load-balancer annotation {path[-1]} is {_describe(actual)}"
            else:
                message = f"{_path_text((key, *path))} is {_describe(actual)}"
            add(check, want, actual, f"{message}, expected {want}")

    pool_deployments = [
        (index, item)
        for index, item in enumerate(deployments)
        if _pool_of(item, cluster_source, f"{MACHINE_DEPLOYMENTS}[{index}]") == region.node_pool
    ]
    if not pool_deployments:
        add(
            "node-pool",
            region.node_pool,
            None,
            f"no machine deployment has label {NODE_POOL_LABEL}={region.node_pool}",
        )
    for index, item in pool_deployments:
        domain = item.get("failureDomain", _MISSING)
        if domain != region.location:
            name = item.get("name") or f"machineDeployments[{index}]"
            add(
                "failure-domain",
                region.location,
                domain,
                f"machine deployment {name} (pool {region.node_pool}) has failureDomain "
                f"{_describe(domain)}, expected {region.location}",
            )
    return found


def _block_pattern(key: str, region_id: str) -> re.Pattern[str] | None:
    """The shape of ``key`` for any region: ``kura-eu-central-gateway-api`` of region
    ``eu-central`` gives ``kura-(?P<region>.+)-gateway-api``; None when the id is not in it
    exactly once."""
    prefix, found, suffix = key.partition(region_id)
    if not found or region_id in suffix:
        return None
    return re.compile(f"^{re.escape(prefix)}(?P<region>.+){re.escape(suffix)}$")


def _extra_blocks(
    catalog: RegionCatalog,
    values: Mapping[str, Any],
    expected: Mapping[str, RegionValues],
    values_source: str,
) -> list[DriftFinding]:
    """Enabled blocks of a provider's shape that no region of the catalog calls for: a region
    the env does not offer, or a region's block from an ingress provider it no longer uses."""
    wanted = {key for each in expected.values() for key in each.blocks}
    patterns: dict[str, re.Pattern[str]] = {}
    for region_id, each in expected.items():
        for key in (*each.blocks, *each.other_blocks):
            pattern = _block_pattern(key, region_id)
            if pattern is not None:
                patterns.setdefault(pattern.pattern, pattern)
    found: list[DriftFinding] = []
    for key in sorted(values, key=str):
        name = str(key)
        if name in wanted:
            continue
        matches = (pattern.match(name) for _, pattern in sorted(patterns.items()))
        match = next((m for m in matches if m is not None), None)
        if match is None or not _block_enabled(_mapping(values[key], values_source, name)):
            continue
        region_id = match["region"]
        if region_id in catalog:
            region = catalog.get(region_id)
            blocks = ", ".join(expected[region_id].blocks) or "none"
            why = (
                f"region {region_id} uses the ingress provider {region.ingress_provider}, "
                f"whose block is {blocks} (remove it or set enabled: false once its traffic "
                "has moved)"
            )
        else:
            why = "the env does not offer this region (remove it or set enabled: false)"
        found.append(
            DriftFinding(
                region=region_id,
                check="extra-block",
                expected=None,
                actual=name,
                message=f"region {region_id}: {name} is enabled, but {why}",
            )
        )
    return found


def find_drift(
    catalog: RegionCatalog,
    values: Mapping[str, Any],
    cluster: Mapping[str, Any],
    expected: Callable[[Region], RegionValues],
    *,
    values_source: str = "platform values",
    cluster_source: str = "cluster",
) -> list[DriftFinding]:
    """Every mismatch between ``catalog`` and the chart ``values`` and ``cluster`` topology.

    Per region, with ``expected`` giving what its providers render (:func:`region_values`):
    each of its ingress provider's values blocks exists and is enabled, every field the
    provider fills with the region's ingress class holds it, the load-balancer annotations are
    set where the provider puts them, and the machine deployment of its node pool sits in its
    location. Enabled blocks of a provider's shape that no offered region calls for are drift
    too. A file of the wrong shape (a list where a mapping belongs) raises :class:`InputError`
    naming ``values_source`` or ``cluster_source``.
    """
    deployments = machine_deployments(cluster, cluster_source)
    wanted = {region.id: expected(region) for region in catalog}
    found: list[DriftFinding] = []
    for region in catalog:
        found.extend(
            _region_findings(
                region, values, deployments, wanted[region.id], values_source, cluster_source
            )
        )
    found.extend(_extra_blocks(catalog, values, wanted, values_source))
    return found


# --- loaders ----------------------------------------------------------------------------------


def merge_values(layers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Merge values files as ``helm -f a -f b`` does: mappings merge, later wins, null deletes."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if value is None:
                merged.pop(key, None)
            elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
                merged[key] = merge_values([merged[key], value])
            elif isinstance(value, Mapping):
                merged[key] = merge_values([value])
            else:
                merged[key] = value
    return merged


def load_values(paths: Sequence[Path]) -> dict[str, Any]:
    layers = []
    for path in paths:
        data = read_yaml(path, "platform values")
        if not isinstance(data, Mapping):
            raise InputError(f"{path}: platform values must be a mapping, not {_shape_name(data)}")
        layers.append(data)
    return merge_values(layers)


def load_cluster(path: Path) -> Mapping[str, Any]:
    """The one ``kind: Cluster`` document of a YAML file (other documents are ignored)."""
    documents = parse_yaml_stream(read_text(path, "cluster topology"), str(path))
    clusters = [d for d in documents if isinstance(d, Mapping) and d.get("kind") == "Cluster"]
    if len(clusters) != 1:
        found = f"{len(clusters)} of them" if clusters else "none"
        raise InputError(
            f"{path}: expected one Cluster API Cluster document (kind: Cluster, like "
            f"docs/examples/cluster.yaml), found {found}"
        )
    return clusters[0]
