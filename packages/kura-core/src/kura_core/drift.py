"""Drift between a region catalog, the platform chart values and the cluster's node pools.

Upstream's drift test (docs/upstream.md) cross-checks the server's catalog with
``infra/helm/platform/values.yaml`` and ``infra/k8s/clusters/cluster-production.yaml``. This does
the same for any environment, and also checks the regional load-balancer annotations, asking each
region's load-balancer provider what it expects rather than knowing any cloud's keys.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from kura_core.errors import InputError
from kura_core.files import parse_yaml_stream, read_text, read_yaml
from kura_core.names import regional_gateway_values_key
from kura_core.regions import NODE_POOL_LABEL, Region, RegionCatalog

_REGION_BLOCK = re.compile(r"^kura-(?P<region>.+)-ingress-nginx$")
_MISSING = object()
MACHINE_DEPLOYMENTS = "spec.topology.workers.machineDeployments"


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


def _dig(data: Mapping[str, Any], keys: Sequence[str], source: str, path: str) -> Any:
    """``data[k1][k2]...``; a missing level gives ``_MISSING``, a non-mapping level is an error."""
    current: Any = data
    walked = path
    for key in keys:
        current = _mapping(current, source, walked).get(key, _MISSING)
        walked = f"{walked}.{key}" if walked else key
        if current is _MISSING:
            return _MISSING
    return current


def machine_deployments(cluster: Mapping[str, Any], source: str) -> list[Mapping[str, Any]]:
    """The ``spec.topology.workers.machineDeployments`` of a Cluster API Cluster."""
    path = MACHINE_DEPLOYMENTS
    kind = cluster.get("kind")
    if kind != "Cluster":
        raise InputError(f"{source}: expected a Cluster API Cluster, got kind {_describe(kind)}")
    deployments = _dig(cluster, path.split("."), source, "")
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
    labels = _dig(deployment, ["metadata", "labels"], source, path)
    return _mapping(labels, source, f"{path}.metadata.labels").get(NODE_POOL_LABEL)


def _block_enabled(block: Mapping[str, Any]) -> bool:
    # Helm ignores a condition that is absent or not a bool, leaving the subchart enabled.
    return block.get("enabled") is not False


def _region_findings(
    region: Region,
    values: Mapping[str, Any],
    deployments: list[Mapping[str, Any]],
    expected_annotations: Mapping[str, str],
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

    key = regional_gateway_values_key(region.id)
    raw_block = values.get(key, _MISSING)
    if raw_block is _MISSING:
        add("values-block", key, None, f"platform values have no {key} block")
    else:
        block = _mapping(raw_block, values_source, key)
        if not _block_enabled(block):
            add("enabled", "true", "false", f"{key} is disabled (enabled: false)")
        cls = region.ingress_class_name
        for check, keys in (
            ("ingress-class", ["controller", "ingressClass"]),
            ("ingress-class-resource", ["controller", "ingressClassResource", "name"]),
        ):
            actual = _dig(block, keys, values_source, key)
            if actual != cls:
                where = ".".join([key, *keys])
                add(check, cls, actual, f"{where} is {_describe(actual)}, expected {cls}")
        annotations = _mapping(
            _dig(block, ["controller", "service", "annotations"], values_source, key),
            values_source,
            f"{key}.controller.service.annotations",
        )
        for name, expected in expected_annotations.items():
            actual = annotations.get(name, _MISSING)
            if actual == expected:
                continue
            add(
                "lb-annotation",
                expected,
                actual,
                f"{key} load-balancer annotation {name} is {_describe(actual)}, "
                f"expected {expected}",
            )

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


def find_drift(
    catalog: RegionCatalog,
    values: Mapping[str, Any],
    cluster: Mapping[str, Any],
    expected_annotations: Callable[[Region], dict[str, str]],
    *,
    values_source: str = "platform values",
    cluster_source: str = "cluster",
) -> list[DriftFinding]:
    """Every mismatch between ``catalog`` and the chart ``values`` and ``cluster`` topology.

    Per region: its ``kura-<region>-ingress-nginx`` block exists and is enabled, both ingress
    class fields name the region's class, the LB annotations the provider expects are set, and
    the machine deployment of its node pool sits in its location. Enabled regional blocks for
    regions the catalog does not offer are drift too. A file of the wrong shape (a list where a
    mapping belongs) raises :class:`InputError` naming ``values_source`` or ``cluster_source``.
    """
    deployments = machine_deployments(cluster, cluster_source)
    found: list[DriftFinding] = []
    for region in catalog:
        found.extend(
            _region_findings(
                region,
                values,
                deployments,
                expected_annotations(region),
                values_source,
                cluster_source,
            )
        )
    for key in sorted(values, key=str):
        match = _REGION_BLOCK.match(str(key))
        if match is None or match["region"] in catalog:
            continue
        if _block_enabled(_mapping(values[key], values_source, str(key))):
            found.append(
                DriftFinding(
                    region=match["region"],
                    check="extra-block",
                    expected=None,
                    actual=str(key),
                    message=f"region {match['region']}: {key} is enabled, but the env does not "
                    "offer this region (remove it or set enabled: false)",
                )
            )
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
