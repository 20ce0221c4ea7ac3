from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from kura_core.drift import DriftFinding, RegionValues, find_drift, merge_values, region_values
from kura_core.errors import InputError
from kura_core.plugins import PluginHost
from kura_core.providers import IngressProvider
from kura_core.regions import Region, managed_catalogs
from tests.core.conftest import Invoke

DATA = Path(__file__).parent / "data"
VALUES = DATA / "platform-values.yaml"
CLUSTER = DATA / "cluster-production.yaml"
HCLOUD = "load-balancer.hetzner.cloud/"

Mutation = Callable[[dict[str, Any], dict[str, Any]], None]


def sample_values() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(VALUES.read_text())
    return data


def sample_cluster() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(CLUSTER.read_text())
    return data


def hetzner_like(region: Region) -> dict[str, str]:
    """What the hetzner provider expects, spelled out so pure tests need no plugin."""
    return {
        HCLOUD + "location": region.location,
        HCLOUD + "name": f"tuist-kura-{region.id}-ingress",
        HCLOUD + "node-selector": f"node.cluster.x-k8s.io/pool={region.node_pool}",
        HCLOUD + "uses-proxyprotocol": "true",
    }


def nginx_like(
    annotations: Callable[[Region], dict[str, str]] = hetzner_like,
) -> Callable[[Region], RegionValues]:
    """What the ingress-nginx provider renders, reduced to what drift compares."""

    def expected(region: Region) -> RegionValues:
        cls = region.ingress_class_name
        block = {
            "enabled": True,
            "controller": {
                "electionID": f"kura-{region.id}-ingress-nginx-leader",
                "ingressClass": cls,
                "ingressClassResource": {"name": cls, "controllerValue": f"k8s.io/{cls}"},
                "service": {"annotations": annotations(region)},
                "config": {"use-forwarded-headers": "false"},
            },
        }
        return RegionValues(
            blocks={f"kura-{region.id}-ingress-nginx": block}, annotations=annotations(region)
        )

    return expected


def controller(values: dict[str, Any], region: str) -> dict[str, Any]:
    block: dict[str, Any] = values[f"kura-{region}-ingress-nginx"]["controller"]
    return block


def deployment(cluster: dict[str, Any], name: str) -> dict[str, Any]:
    deployments: list[dict[str, Any]] = cluster["spec"]["topology"]["workers"]["machineDeployments"]
    return next(d for d in deployments if d["name"] == name)


def write_variant(tmp_path: Path, mutate: Mutation) -> tuple[Path, Path]:
    values, cluster = sample_values(), sample_cluster()
    mutate(values, cluster)
    values_path, cluster_path = tmp_path / "values.yaml", tmp_path / "cluster.yaml"
    values_path.write_text(yaml.safe_dump(values))
    cluster_path.write_text(yaml.safe_dump(cluster))
    return values_path, cluster_path


# --- the pure check ---------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["production", "staging", "canary"])
def test_samples_are_clean_for_production_only(env: str) -> None:
    findings = find_drift(managed_catalogs()[env], sample_values(), sample_cluster(), nginx_like())
    if env == "production":
        assert findings == []
    else:
        # Staging and canary offer only eu-central: the production overlay enables the others.
        assert [(f.region, f.check, f.actual) for f in findings] == [
            ("us-east", "extra-block", "kura-us-east-ingress-nginx"),
            ("us-west", "extra-block", "kura-us-west-ingress-nginx"),
        ]


def test_disabled_blocks_for_regions_not_offered_are_fine() -> None:
    values = sample_values()
    values["kura-us-east-ingress-nginx"]["enabled"] = False
    values["kura-us-west-ingress-nginx"] = {"enabled": False}
    assert find_drift(managed_catalogs()["staging"], values, sample_cluster(), nginx_like()) == []


def test_annotations_come_from_the_callable_not_from_core() -> None:
    findings = find_drift(
        managed_catalogs()["production"],
        sample_values(),
        sample_cluster(),
        nginx_like(lambda region: {"example.com/zone": f"zone-{region.location}"}),
    )
    assert [(f.region, f.check, f.expected, f.actual) for f in findings] == [
        ("eu-central", "lb-annotation", "zone-fsn1", None),
        ("us-east", "lb-annotation", "zone-ash", None),
        ("us-west", "lb-annotation", "zone-hil", None),
    ]


def test_a_bool_annotation_is_not_the_string_kubernetes_needs() -> None:
    values = sample_values()
    controller(values, "us-east")["service"]["annotations"][HCLOUD + "uses-proxyprotocol"] = True
    findings = find_drift(managed_catalogs()["production"], values, sample_cluster(), nginx_like())
    assert [(f.check, f.expected, f.actual) for f in findings] == [
        ("lb-annotation", "true", "true (not a string)")
    ]


def test_every_pool_deployment_is_checked() -> None:
    cluster = sample_cluster()
    second = copy.deepcopy(deployment(cluster, "kura-us-east"))
    second.update(name="kura-us-east-b", failureDomain="hil")
    cluster["spec"]["topology"]["workers"]["machineDeployments"].append(second)
    findings = find_drift(managed_catalogs()["production"], sample_values(), cluster, nginx_like())
    assert [(f.region, f.check, f.actual) for f in findings] == [
        ("us-east", "failure-domain", "hil")
    ]
    assert "kura-us-east-b" in findings[0].message


def test_everything_missing_is_reported_at_once() -> None:
    cluster = sample_cluster()
    cluster["spec"]["topology"]["workers"]["machineDeployments"] = []
    findings = find_drift(managed_catalogs()["staging"], {}, cluster, nginx_like())
    assert [(f.check, f.expected) for f in findings] == [
        ("values-block", "kura-eu-central-ingress-nginx"),
        ("node-pool", "kura"),
    ]


def test_a_block_without_controller_reports_each_missing_field() -> None:
    values = sample_values()
    values["kura-eu-central-ingress-nginx"] = {"enabled": True}
    findings = find_drift(managed_catalogs()["production"], values, sample_cluster(), nginx_like())
    assert [(f.check, f.actual) for f in findings] == [
        ("ingress-class", None),
        ("ingress-class", None),
    ] + [("lb-annotation", None)] * 4
    assert "controller.ingressClass is missing, expected kura-eu-central" in findings[0].message


@pytest.mark.parametrize(
    ("values", "cluster", "problem"),
    [
        (
            {"kura-eu-central-ingress-nginx": {"controller": "oops"}},
            None,
            "values.yaml: kura-eu-central-ingress-nginx.controller must be a mapping, "
            'not the scalar "oops"',
        ),
        (
            {"kura-eu-central-ingress-nginx": ["a"]},
            None,
            "values.yaml: kura-eu-central-ingress-nginx must be a mapping, not a list",
        ),
        (
            {"kura-ap-south-ingress-nginx": "on"},
            None,
            'values.yaml: kura-ap-south-ingress-nginx must be a mapping, not the scalar "on"',
        ),
        (None, {"kind": "Cluster", "spec": {}}, "cluster.yaml: the Cluster has no spec.topology"),
        (
            None,
            {"kind": "Cluster", "spec": {"topology": {"workers": {"machineDeployments": {}}}}},
            "cluster.yaml: spec.topology.workers.machineDeployments must be a list, not a mapping",
        ),
        (
            None,
            {"kind": "Cluster", "spec": {"topology": {"workers": {"machineDeployments": [1]}}}},
            "machineDeployments[0] must be a mapping, not the scalar 1",
        ),
        (
            None,
            {"kind": "Machine"},
            "cluster.yaml: expected a Cluster API Cluster, got kind Machine",
        ),
    ],
)
def test_wrong_shapes_raise_input_errors_naming_the_file(
    values: dict[str, Any] | None, cluster: dict[str, Any] | None, problem: str
) -> None:
    with pytest.raises(InputError) as info:
        find_drift(
            managed_catalogs()["staging"],
            values if values is not None else sample_values(),
            cluster if cluster is not None else sample_cluster(),
            nginx_like(),
            values_source="values.yaml",
            cluster_source="cluster.yaml",
        )
    assert problem in str(info.value)


def test_merge_values_layers_like_helm() -> None:
    base: dict[str, Any] = {
        "a": {"enabled": False, "x": {"y": 1, "z": 2}, "keep": [1]},
        "gone": {"q": 1},
    }
    overlay: dict[str, Any] = {"a": {"enabled": True, "x": {"z": 3}, "keep": [2]}, "gone": None}
    assert merge_values([base, overlay]) == {
        "a": {"enabled": True, "x": {"y": 1, "z": 3}, "keep": [2]}
    }
    assert base["a"]["enabled"] is False  # inputs are not modified


# --- the command ------------------------------------------------------------------------------


def test_clean_samples_exit_0(invoke: Invoke) -> None:
    result = invoke("drift", "--values", str(VALUES), "--cluster", str(CLUSTER))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("no drift: 3 region(s) of env production")
    assert result.stderr == ""


def test_clean_samples_json(invoke: Invoke) -> None:
    result = invoke("drift", "--values", str(VALUES), "--cluster", str(CLUSTER), "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "env": "production",
        "values": [str(VALUES)],
        "cluster": str(CLUSTER),
        "regions": ["eu-central", "us-east", "us-west"],
        "findings": [],
    }


def _set_class(values: dict[str, Any], cluster: dict[str, Any]) -> None:
    controller(values, "us-east")["ingressClass"] = "kura-us-east-old"


def _set_class_resource(values: dict[str, Any], cluster: dict[str, Any]) -> None:
    controller(values, "eu-central")["ingressClassResource"]["name"] = "nginx"


def _set_location(values: dict[str, Any], cluster: dict[str, Any]) -> None:
    controller(values, "us-west")["service"]["annotations"][HCLOUD + "location"] = "ash"


def _drop_lb_name(values: dict[str, Any], cluster: dict[str, Any]) -> None:
    del controller(values, "us-east")["service"]["annotations"][HCLOUD + "name"]


def _set_failure_domain(values: dict[str, Any], cluster: dict[str, Any]) -> None:
    deployment(cluster, "kura-us-east")["failureDomain"] = "fsn1"


def _drop_pool(values: dict[str, Any], cluster: dict[str, Any]) -> None:
    workers = cluster["spec"]["topology"]["workers"]
    workers["machineDeployments"] = [
        d for d in workers["machineDeployments"] if d["name"] != "kura-us-west"
    ]


def _drop_block(values: dict[str, Any], cluster: dict[str, Any]) -> None:
    del values["kura-us-west-ingress-nginx"]


def _disable_block(values: dict[str, Any], cluster: dict[str, Any]) -> None:
    values["kura-eu-central-ingress-nginx"]["enabled"] = False


def _add_extra_block(values: dict[str, Any], cluster: dict[str, Any]) -> None:
    values["kura-ap-south-ingress-nginx"] = copy.deepcopy(values["kura-us-west-ingress-nginx"])


DRIFTS: list[tuple[Mutation, dict[str, Any]]] = [
    (
        _set_class,
        {
            "region": "us-east",
            "check": "ingress-class",
            "expected": "kura-us-east",
            "actual": "kura-us-east-old",
            "message": "region us-east: kura-us-east-ingress-nginx.controller.ingressClass is "
            "kura-us-east-old, expected kura-us-east",
        },
    ),
    (
        _set_class_resource,
        {
            "region": "eu-central",
            "check": "ingress-class",
            "expected": "kura-eu-central",
            "actual": "nginx",
            "message": "region eu-central: kura-eu-central-ingress-nginx.controller."
            "ingressClassResource.name is nginx, expected kura-eu-central",
        },
    ),
    (
        _set_location,
        {
            "region": "us-west",
            "check": "lb-annotation",
            "expected": "hil",
            "actual": "ash",
            "message": "region us-west: kura-us-west-ingress-nginx load-balancer annotation "
            "load-balancer.hetzner.cloud/location is ash, expected hil",
        },
    ),
    (
        _drop_lb_name,
        {
            "region": "us-east",
            "check": "lb-annotation",
            "expected": "tuist-kura-us-east-ingress",
            "actual": None,
            "message": "region us-east: kura-us-east-ingress-nginx load-balancer annotation "
            "load-balancer.hetzner.cloud/name is missing, expected tuist-kura-us-east-ingress",
        },
    ),
    (
        _set_failure_domain,
        {
            "region": "us-east",
            "check": "failure-domain",
            "expected": "ash",
            "actual": "fsn1",
            "message": "region us-east: machine deployment kura-us-east (pool kura-us-east) has "
            "failureDomain fsn1, expected ash",
        },
    ),
    (
        _drop_pool,
        {
            "region": "us-west",
            "check": "node-pool",
            "expected": "kura-us-west",
            "actual": None,
            "message": "region us-west: no machine deployment has label "
            "node.cluster.x-k8s.io/pool=kura-us-west",
        },
    ),
    (
        _drop_block,
        {
            "region": "us-west",
            "check": "values-block",
            "expected": "kura-us-west-ingress-nginx",
            "actual": None,
            "message": "region us-west: platform values have no kura-us-west-ingress-nginx block",
        },
    ),
    (
        _disable_block,
        {
            "region": "eu-central",
            "check": "enabled",
            "expected": "true",
            "actual": "false",
            "message": "region eu-central: kura-eu-central-ingress-nginx is disabled "
            "(enabled: false)",
        },
    ),
    (
        _add_extra_block,
        {
            "region": "ap-south",
            "check": "extra-block",
            "expected": None,
            "actual": "kura-ap-south-ingress-nginx",
            "message": "region ap-south: kura-ap-south-ingress-nginx is enabled, but the env "
            "does not offer this region (remove it or set enabled: false)",
        },
    ),
]


@pytest.mark.parametrize(("mutate", "finding"), DRIFTS, ids=[m.__name__[1:] for m, _ in DRIFTS])
def test_each_drift_gives_its_exact_finding_and_exit_1(
    invoke: Invoke, tmp_path: Path, mutate: Mutation, finding: dict[str, Any]
) -> None:
    values, cluster = write_variant(tmp_path, mutate)
    result = invoke("drift", "--values", str(values), "--cluster", str(cluster), "-o", "json")
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["findings"] == [finding]
    assert result.stderr == "kura: 1 problem(s) found\n"
    DriftFinding.model_validate(finding)


def test_drift_table_has_a_row_per_finding(invoke: Invoke, tmp_path: Path) -> None:
    def mutate(values: dict[str, Any], cluster: dict[str, Any]) -> None:
        _set_location(values, cluster)
        _set_failure_domain(values, cluster)

    values, cluster = write_variant(tmp_path, mutate)
    result = invoke("drift", "--values", str(values), "--cluster", str(cluster))
    assert result.exit_code == 1
    rows = [line for line in result.stdout.splitlines() if "lb-annotation" in line]
    rows += [line for line in result.stdout.splitlines() if "failure-domain" in line]
    assert len(rows) == 2
    assert "no drift" not in result.stdout
    assert result.stderr == "kura: 2 problem(s) found\n"


def test_overlays_are_layered_over_base_values(invoke: Invoke, tmp_path: Path) -> None:
    overlay = sample_values()
    base = copy.deepcopy(overlay)
    for block in ("kura-eu-central-ingress-nginx", "kura-us-east-ingress-nginx"):
        base[block]["enabled"] = False
        base[block]["controller"]["service"]["annotations"] = {}
        overlay[block] = {
            "enabled": True,
            "controller": {"service": overlay[block]["controller"]["service"]},
        }
    base_path, overlay_path = tmp_path / "values.yaml", tmp_path / "values-tuist.yaml"
    base_path.write_text(yaml.safe_dump(base))
    overlay_path.write_text(yaml.safe_dump(overlay))
    args = ["drift", "--cluster", str(CLUSTER), "--values", str(base_path)]

    alone = invoke(*args, "-o", "json")
    assert alone.exit_code == 1
    assert {f["check"] for f in json.loads(alone.stdout)["findings"]} == {
        "enabled",
        "lb-annotation",
    }
    layered = invoke(*args, "--values", str(overlay_path))
    assert layered.exit_code == 0, layered.output


@pytest.mark.parametrize(
    ("which", "text", "problem"),
    [
        ("values", "kura-us-east-ingress-nginx: [\n", "not valid YAML"),
        ("cluster", "kind: Cluster\nspec: {topology: \n", "not valid YAML"),
        ("values", "- a\n- b\n", "platform values must be a mapping, not a list"),
        ("values", "", "platform values must be a mapping, not empty"),
        ("cluster", "kind: Machine\n", "expected one Cluster API Cluster document"),
        # An empty file says what it lacks, in words, and where an example is.
        ("cluster", "", "(kind: Cluster, like docs/examples/cluster.yaml), found none"),
        ("cluster", "kind: Cluster\n---\nkind: Cluster\n", "found 2 of them"),
        ("cluster", "kind: Cluster\nspec: {}\n", "the Cluster has no spec.topology"),
        (
            "values",
            "kura-us-east-ingress-nginx:\n  controller: []\n",
            "kura-us-east-ingress-nginx.controller must be a mapping, not a list",
        ),
    ],
)
def test_broken_files_exit_2_with_one_line(
    invoke: Invoke, tmp_path: Path, which: str, text: str, problem: str
) -> None:
    broken = tmp_path / f"broken-{which}.yaml"
    broken.write_text(text)
    values = broken if which == "values" else VALUES
    cluster = broken if which == "cluster" else CLUSTER
    result = invoke("drift", "--values", str(values), "--cluster", str(cluster))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("kura: error: ")
    assert str(broken) in result.stderr
    assert problem in result.stderr
    assert "Traceback" not in result.output


def test_a_missing_file_exits_2(invoke: Invoke, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = invoke("drift", "--values", str(VALUES), "--cluster", str(missing))
    assert result.exit_code == 2
    assert result.stderr == f"kura: error: cannot read cluster topology {missing}: " + (
        "No such file or directory\n"
    )


def test_cluster_documents_beside_the_cluster_are_ignored(invoke: Invoke, tmp_path: Path) -> None:
    stream = tmp_path / "cluster.yaml"
    stream.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: hcloud}\n---\n" + CLUSTER.read_text()
    )
    result = invoke("drift", "--values", str(VALUES), "--cluster", str(stream))
    assert result.exit_code == 0, result.output


# --- both ingress providers side by side ------------------------------------------------------

SIDE_BY_SIDE = {
    "environments": {
        "production": [
            {"id": "eu-central", "display_name": "EU", "location": "fsn1", "node_pool": "kura"},
            {
                "id": "us-east",
                "display_name": "US East",
                "location": "ash",
                "node_pool": "kura-us-east",
                "ingress_provider": "gateway-api",
            },
        ]
    }
}


@pytest.fixture
def side_by_side(tmp_path: Path) -> Path:
    """A catalog with eu-central on ingress-nginx and us-east on the Gateway API."""
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(SIDE_BY_SIDE))
    return path


def own_values(invoke: Invoke, catalog: Path, tmp_path: Path) -> dict[str, Any]:
    result = invoke("--catalog", str(catalog), "gateway", "values", "-o", "json")
    assert result.exit_code == 0, result.output
    values: dict[str, Any] = json.loads(result.stdout)
    return values


def drift_of(
    invoke: Invoke, catalog: Path, tmp_path: Path, *layers: dict[str, Any]
) -> tuple[int, list[dict[str, Any]]]:
    args = ["--catalog", str(catalog), "drift", "--cluster", str(CLUSTER), "-o", "json"]
    for index, layer in enumerate(layers):
        path = tmp_path / f"values-{index}.yaml"
        path.write_text(yaml.safe_dump(layer))
        args += ["--values", str(path)]
    result = invoke(*args)
    assert result.exit_code in (0, 1), result.output
    findings: list[dict[str, Any]] = json.loads(result.stdout)["findings"]
    return result.exit_code, findings


def gateway_object(values: dict[str, Any], kind: str) -> dict[str, Any]:
    objects: list[dict[str, Any]] = values["kura-us-east-gateway-api"]["objects"]
    return next(item for item in objects if item["kind"] == kind)


def test_each_region_is_checked_against_its_own_providers_values(
    invoke: Invoke, side_by_side: Path, tmp_path: Path
) -> None:
    values = own_values(invoke, side_by_side, tmp_path)
    assert set(values) == {"kura-eu-central-ingress-nginx", "kura-us-east-gateway-api"}
    assert drift_of(invoke, side_by_side, tmp_path, values) == (0, [])


def test_a_gateway_api_region_misses_its_own_block_not_ingress_nginx_s(
    invoke: Invoke, side_by_side: Path, tmp_path: Path
) -> None:
    values = own_values(invoke, side_by_side, tmp_path)
    del values["kura-us-east-gateway-api"]
    assert drift_of(invoke, side_by_side, tmp_path, values) == (
        1,
        [
            {
                "region": "us-east",
                "check": "values-block",
                "expected": "kura-us-east-gateway-api",
                "actual": None,
                "message": "region us-east: platform values have no kura-us-east-gateway-api block",
            }
        ],
    )


def test_a_gateway_s_class_and_annotations_are_checked_where_the_provider_puts_them(
    invoke: Invoke, side_by_side: Path, tmp_path: Path
) -> None:
    values = own_values(invoke, side_by_side, tmp_path)
    gateway = gateway_object(values, "Gateway")
    index = values["kura-us-east-gateway-api"]["objects"].index(gateway)
    gateway["spec"]["gatewayClassName"] = "kura-us-east-old"
    gateway["spec"]["infrastructure"]["annotations"][HCLOUD + "location"] = "hil"
    # Tuning is the platform's to choose: a replica count is not drift.
    gateway_object(values, "EnvoyProxy")["spec"]["provider"]["kubernetes"]["envoyDeployment"][
        "replicas"
    ] = 5
    code, findings = drift_of(invoke, side_by_side, tmp_path, values)
    assert code == 1
    # In the order the provider renders them.
    assert findings == [
        {
            "region": "us-east",
            "check": "ingress-class",
            "expected": "kura-us-east",
            "actual": "kura-us-east-old",
            "message": f"region us-east: kura-us-east-gateway-api.objects[{index}].spec."
            "gatewayClassName is kura-us-east-old, expected kura-us-east",
        },
        {
            "region": "us-east",
            "check": "lb-annotation",
            "expected": "ash",
            "actual": "hil",
            "message": "region us-east: kura-us-east-gateway-api load-balancer annotation "
            "load-balancer.hetzner.cloud/location is hil, expected ash",
        },
    ]


def test_the_old_provider_s_block_is_drift_until_it_is_removed(
    invoke: Invoke, side_by_side: Path, tmp_path: Path
) -> None:
    """Mid-migration: us-east moved to the Gateway API and both its gateways run."""
    before = tmp_path / "before.yaml"
    catalog = copy.deepcopy(SIDE_BY_SIDE)
    del catalog["environments"]["production"][1]["ingress_provider"]
    before.write_text(yaml.safe_dump(catalog))
    old = own_values(invoke, before, tmp_path)
    new = own_values(invoke, side_by_side, tmp_path)
    assert drift_of(invoke, before, tmp_path, old) == (0, [])

    assert drift_of(invoke, side_by_side, tmp_path, old, new) == (
        1,
        [
            {
                "region": "us-east",
                "check": "extra-block",
                "expected": None,
                "actual": "kura-us-east-ingress-nginx",
                "message": "region us-east: kura-us-east-ingress-nginx is enabled, but region "
                "us-east uses the ingress provider gateway-api, whose block is "
                "kura-us-east-gateway-api (remove it or set enabled: false once its traffic "
                "has moved)",
            }
        ],
    )
    disabled = {"kura-us-east-ingress-nginx": {"enabled": False}}
    assert drift_of(invoke, side_by_side, tmp_path, old, new, disabled) == (0, [])
    # A region neither catalog offers is drift in either provider's shape.
    stray = {"kura-ap-south-gateway-api": copy.deepcopy(new["kura-us-east-gateway-api"])}
    code, findings = drift_of(invoke, side_by_side, tmp_path, new, stray)
    assert (code, [(f["region"], f["check"], f["actual"]) for f in findings]) == (
        1,
        [("ap-south", "extra-block", "kura-ap-south-gateway-api")],
    )


def test_a_gateway_api_block_of_the_wrong_shape_is_one_line(
    invoke: Invoke, side_by_side: Path, tmp_path: Path
) -> None:
    values = own_values(invoke, side_by_side, tmp_path)
    values["kura-us-east-gateway-api"]["objects"] = {"kind": "Gateway"}
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    result = invoke(
        "--catalog", str(side_by_side), "drift", "--values", str(path), "--cluster", str(CLUSTER)
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"kura: error: {path}: kura-us-east-gateway-api.objects must be a list, not a mapping\n"
    )


class _CannotRender:
    name = "cannot-render"

    def shared_gateway_values(self, region: Region, **_: Any) -> dict[str, Any]:
        raise InputError(f"region {region.id}: not for this provider")


def test_a_provider_that_cannot_render_a_region_does_not_fail_its_check(host: PluginHost) -> None:
    registry = host.providers
    region = Region(id="lab-1", display_name="Lab", location="nbg1", node_pool="lab")
    plain = region_values(region, registry)
    registry.ingresses["cannot-render"] = cast(IngressProvider, _CannotRender())
    try:
        assert region_values(region, registry) == plain
    finally:
        del registry.ingresses["cannot-render"]
    assert set(plain.blocks) == {"kura-lab-1-ingress-nginx"}
    assert plain.other_blocks == frozenset({"kura-lab-1-gateway-api"})
    assert plain.annotations[HCLOUD + "location"] == "nbg1"
