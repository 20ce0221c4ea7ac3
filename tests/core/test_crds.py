"""The generated CRDs: official-schema validity, structural form, drift from the committed files."""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import BaseModel

from kura_core.crds import (
    KINDS,
    KURA_GATEWAY,
    KURA_INSTANCE,
    REGENERATE_COMMAND,
    crd_files,
    custom_resource_definition,
    custom_resource_definitions,
    structural_schema,
)
from tests.core.conftest import Invoke

ROOT = Path(__file__).resolve().parents[2]
# kura's own CRDs, generated from the models; custom_resource_definitions() adds kopf's peering.
KURA_CRDS = [custom_resource_definition(kind) for kind in KINDS]
CRD_DIR = ROOT / "packages" / "kura-operator" / "deploy" / "crds"


@pytest.fixture(scope="module")
def kubernetes_validate() -> ModuleType:
    # Imported on first use: it is a large package that only these tests need.
    return importlib.import_module("kubernetes_validate")


def schema_of(crd: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def nodes(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, schema
    for name, child in schema.get("properties", {}).items():
        yield from nodes(child, f"{path}.{name}")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from nodes(schema["additionalProperties"], f"{path}.*")
    if "items" in schema:
        yield from nodes(schema["items"], f"{path}[]")


def gateway_cr(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kura.tuist.dev/v1alpha1",
        "kind": "KuraGateway",
        "metadata": {"name": "kgw-38dbcc9b3c91-us-east", "namespace": "kura"},
        "spec": {"region": "us-east", "ingressClassName": "kura-us-east-kgw", **spec},
    }


def test_committed_crds_match_generation() -> None:
    expected = crd_files()
    committed = {path.name: path.read_text(encoding="utf-8") for path in CRD_DIR.glob("*.yaml")}
    assert committed == expected, (
        f"the CRDs in {CRD_DIR.relative_to(ROOT)} are out of date with the models; "
        f"run `{REGENERATE_COMMAND}`"
    )


@pytest.mark.parametrize(
    "crd", custom_resource_definitions(), ids=lambda crd: crd["spec"]["names"]["kind"]
)
def test_crd_validates_strictly_against_the_official_schema(
    kubernetes_validate: ModuleType, crd: dict[str, Any]
) -> None:
    assert kubernetes_validate.validate(crd, "1.33", strict=True) == "1.33"


def test_strict_validation_would_catch_a_stray_field(kubernetes_validate: ModuleType) -> None:
    crd = custom_resource_definitions()[0]
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["$defs"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(crd, "1.33", strict=True)


@pytest.mark.parametrize("crd", KURA_CRDS, ids=lambda crd: crd["spec"]["names"]["kind"])
def test_schema_is_structural(crd: dict[str, Any]) -> None:
    schema = schema_of(crd)
    assert schema["properties"]["metadata"] == {"type": "object"}
    for path, node in nodes(schema):
        assert node.get("type") in {"object", "array", "string", "integer", "boolean"}, path
        forbidden = {"$ref", "$defs", "anyOf", "oneOf", "allOf", "nullable", "title", "default"}
        assert not forbidden & node.keys(), path
        assert not ("properties" in node and "additionalProperties" in node), path
        assert "x-kubernetes-preserve-unknown-fields" not in node, path


def test_names_columns_and_subresources() -> None:
    gateway, instance = KURA_CRDS
    assert gateway["metadata"]["name"] == "kuragateways.kura.tuist.dev"
    assert gateway["spec"]["names"] == {
        "kind": "KuraGateway",
        "listKind": "KuraGatewayList",
        "plural": "kuragateways",
        "singular": "kuragateway",
        "shortNames": ["kuragw"],
    }
    assert instance["spec"]["names"]["shortNames"] == ["kura"]
    assert instance["spec"]["names"]["listKind"] == "KuraInstanceList"
    for crd in (gateway, instance):
        assert crd["spec"]["scope"] == "Namespaced"
        (version,) = crd["spec"]["versions"]
        assert version["name"] == "v1alpha1"
        assert version["served"] is version["storage"] is True
        assert version["subresources"] == {"status": {}}
    columns = {
        crd["spec"]["names"]["kind"]: [
            (c["name"], c["type"], c["jsonPath"])
            for c in crd["spec"]["versions"][0]["additionalPrinterColumns"]
        ]
        for crd in (gateway, instance)
    }
    assert columns["KuraGateway"] == [
        ("Phase", "string", ".status.phase"),
        ("IngressClass", "string", ".spec.ingressClassName"),
        ("Ready", "integer", ".status.readyReplicas"),
        ("LoadBalancer", "string", ".status.loadBalancer"),
        ("Age", "date", ".metadata.creationTimestamp"),
    ]
    assert [name for name, _, _ in columns["KuraInstance"]] == [
        "Phase",
        "Host",
        "IngressClass",
        "Ready",
        "Age",
    ]
    assert ("Host", "string", ".spec.publicHost") in columns["KuraInstance"]


def test_validation_rules_in_the_schema() -> None:
    gateway, instance = (schema_of(crd) for crd in KURA_CRDS)
    spec = gateway["properties"]["spec"]
    assert spec["required"] == ["region", "ingressClassName"]
    for field in ("region", "ingressClassName"):
        assert spec["properties"][field]["pattern"] == "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
        assert spec["properties"][field]["maxLength"] == 63
    assert spec["properties"]["replicas"]["minimum"] == 1
    assert spec["properties"]["replicas"]["maximum"] == 100
    selector = spec["properties"]["nodeSelector"]
    assert selector["additionalProperties"]["maxLength"] == 63
    assert selector["maxProperties"] == 32
    (rule,) = selector["x-kubernetes-validations"]
    assert rule["rule"].startswith("self.all(k, k.matches(")
    assert set(spec["properties"]) == {
        "region",
        "ingressClassName",
        "controllerClassName",
        "controllerImage",
        "replicas",
        "nodeSelector",
        "loadBalancerAnnotations",
    }
    ispec = instance["properties"]["spec"]
    assert ispec["required"] == ["accountHandle", "tenantID", "region", "image"]
    env = ispec["properties"]["extraEnv"]
    assert env["items"]["required"] == ["name"]
    # Its uniqueness rule compares every pair of names: the names' length bounds its cost.
    assert (env["maxItems"], env["items"]["properties"]["name"]["maxLength"]) == (128, 256)
    for host in ("publicHost", "grpcPublicHost"):
        assert ispec["properties"][host]["maxLength"] == 253
    script = ispec["properties"]["extensionScript"]
    assert script["x-kubernetes-validations"] == [
        {"rule": "size(bytes(self)) <= 65536", "message": "must be at most 65536 bytes in UTF-8"}
    ]
    conditions = gateway["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert conditions["items"]["properties"]["status"]["enum"] == ["True", "False", "Unknown"]


@pytest.mark.parametrize("crd", KURA_CRDS, ids=lambda crd: crd["spec"]["names"]["kind"])
def test_every_value_a_cel_rule_walks_is_bounded(crd: dict[str, Any]) -> None:
    # The API server estimates a rule's cost from these bounds and refuses a CRD whose rules
    # could cost too much: one rule on an unbounded list or map is enough.
    bound = {"string": "maxLength", "array": "maxItems", "object": "maxProperties"}
    ruled = [(p, node) for p, node in nodes(schema_of(crd)) if "x-kubernetes-validations" in node]
    assert ruled
    for path, node in ruled:
        assert bound[node["type"]] in node, path


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"replicas": 0}, "less than the minimum"),
        ({"ingressClassName": "Bad_Name"}, "does not match"),
        ({"region": "a" * 64}, "is too long"),
        ({"region": None}, "'region' is a required property"),
        ({"nodeSelector": {"pool": 1}}, "is not of type 'string'"),
    ],
)
def test_crd_schema_rejects_bad_gateways(change: dict[str, Any], error: str) -> None:
    cr = gateway_cr(**change)
    if change.get("region", "") is None:
        del cr["spec"]["region"]
    schema = schema_of(custom_resource_definition(KURA_GATEWAY))
    jsonschema.validate(gateway_cr(), schema)
    with pytest.raises(jsonschema.ValidationError, match=error):
        jsonschema.validate(cr, schema)


def test_crd_schema_checks_status_conditions() -> None:
    schema = schema_of(custom_resource_definition(KURA_INSTANCE))
    condition = {
        "type": "Ready",
        "status": "True",
        "lastTransitionTime": "2025-06-01T12:00:00Z",
        "reason": "ReplicasReady",
        "message": "3/3 replicas ready",
    }
    cr = {
        "apiVersion": "kura.tuist.dev/v1alpha1",
        "kind": "KuraInstance",
        "metadata": {"name": "kura-acme-us-east-1"},
        "spec": {"accountHandle": "acme", "tenantID": "acme", "region": "us-east", "image": "i"},
        "status": {"phase": "Ready", "observedGeneration": 2, "conditions": [condition]},
    }
    jsonschema.validate(cr, schema)
    bad = copy.deepcopy(cr)
    bad["status"] = {"conditions": [{**condition, "status": "Yes"}]}
    with pytest.raises(jsonschema.ValidationError, match="is not one of"):
        jsonschema.validate(bad, schema)


class _Loose(BaseModel):
    anything: Any


class _Union(BaseModel):
    either: int | str


@pytest.mark.parametrize("model", [_Loose, _Union])
def test_schemas_with_no_structural_form_are_refused(model: type[BaseModel]) -> None:
    with pytest.raises(ValueError, match="structural"):
        structural_schema(model)


# --- kura crds -------------------------------------------------------------------------------


def test_kura_crds_prints_a_yaml_stream(invoke: Invoke) -> None:
    result = invoke("crds")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("---\n")
    assert list(yaml.safe_load_all(result.stdout)) == custom_resource_definitions()


def test_kura_crds_json_and_table(invoke: Invoke) -> None:
    assert json.loads(invoke("crds", "-o", "json").stdout) == custom_resource_definitions()
    table = invoke("crds", "-o", "table").stdout
    for kind in KINDS:
        assert kind.kind in table
        assert ", ".join(kind.short_names) in table
    assert "kura.tuist.dev" in table
    assert "LoadBalancer" in table


def test_kura_crds_write(invoke: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "deploy" / "crds"
    first = invoke("crds", "--write", str(target), "-o", "json")
    assert first.exit_code == 0, first.stderr
    assert [(w["kind"], w["changed"]) for w in json.loads(first.stdout)] == [
        ("KuraGateway", True),
        ("KuraInstance", True),
    ]
    assert {p.name: p.read_text(encoding="utf-8") for p in target.iterdir()} == crd_files()
    again = json.loads(invoke("crds", "--write", str(target), "-o", "json").stdout)
    assert [w["changed"] for w in again] == [False, False]


def test_kura_crds_write_to_a_file_path_is_one_line_error(invoke: Invoke, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = invoke("crds", "--write", str(blocker / "crds"))
    assert result.exit_code == 2
    assert result.stderr.startswith("kura: error: cannot write CRDs to ")
    assert result.stderr.count("\n") == 1
