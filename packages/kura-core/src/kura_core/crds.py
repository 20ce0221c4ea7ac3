"""The kura.tuist.dev CustomResourceDefinitions, generated from the models in ``resources``.

The openAPIV3Schema is the models' JSON schema turned into a Kubernetes *structural* schema:
``$ref`` inlined, ``anyOf [X, null]`` reduced to ``X`` (optional fields are simply left out,
never sent as null), ``additionalProperties`` only for maps (the API server prunes unknown
fields instead of rejecting them), and no keyword the API server would not accept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from kura_core.kinds import KURA_GATEWAY as GATEWAY_RESOURCE
from kura_core.kinds import KURA_INSTANCE as INSTANCE_RESOURCE
from kura_core.kinds import Kind
from kura_core.manifests import yaml_stream
from kura_core.resources import (
    GROUP,
    VERSION,
    KuraGatewaySpec,
    KuraGatewayStatus,
    KuraInstanceSpec,
    KuraInstanceStatus,
)

CRD_API_VERSION = "apiextensions.k8s.io/v1"
REGENERATE_COMMAND = "kura crds --write packages/kura-operator/deploy/crds"

# Keywords copied as they are; every other keyword must be handled below or is an error, so a
# model change can never slip a keyword the API server rejects into the CRD.
_COPIED = frozenset(
    {
        "type",
        "format",
        "description",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "minItems",
        "maxItems",
        "maxProperties",
        "enum",
    }
)
# Meaningless to the API server: titles, and defaults (the operator applies upstream's).
_DROPPED = frozenset({"title", "default"})


@dataclass(frozen=True)
class PrinterColumn:
    name: str
    type: str
    json_path: str


@dataclass(frozen=True)
class CustomResourceKind:
    """What a CRD says about one kind besides its schema."""

    resource: Kind
    singular: str
    short_names: tuple[str, ...]
    description: str
    spec_model: type[BaseModel]
    status_model: type[BaseModel]
    columns: tuple[PrinterColumn, ...]

    @property
    def kind(self) -> str:
        return self.resource.kind

    @property
    def plural(self) -> str:
        return self.resource.plural

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"


_PHASE = PrinterColumn("Phase", "string", ".status.phase")
_CLASS = PrinterColumn("IngressClass", "string", ".spec.ingressClassName")
_READY = PrinterColumn("Ready", "integer", ".status.readyReplicas")
_AGE = PrinterColumn("Age", "date", ".metadata.creationTimestamp")

KURA_GATEWAY = CustomResourceKind(
    resource=GATEWAY_RESOURCE,
    singular="kuragateway",
    short_names=("kuragw",),
    description="A dedicated ingress gateway (ingress-nginx behind its own load balancer).",
    spec_model=KuraGatewaySpec,
    status_model=KuraGatewayStatus,
    columns=(
        _PHASE,
        _CLASS,
        _READY,
        PrinterColumn("LoadBalancer", "string", ".status.loadBalancer"),
        _AGE,
    ),
)
KURA_INSTANCE = CustomResourceKind(
    resource=INSTANCE_RESOURCE,
    singular="kurainstance",
    short_names=("kura",),
    description="One account's Kura cache cluster in one region.",
    spec_model=KuraInstanceSpec,
    status_model=KuraInstanceStatus,
    columns=(
        _PHASE,
        PrinterColumn("Host", "string", ".spec.publicHost"),
        _CLASS,
        _READY,
        _AGE,
    ),
)
KINDS: tuple[CustomResourceKind, ...] = (KURA_GATEWAY, KURA_INSTANCE)


def _resolve(node: Mapping[str, Any], defs: Mapping[str, Any]) -> dict[str, Any]:
    """Inline ``$ref`` and drop the null branch of ``anyOf``; the node's own keywords win."""
    merged = dict(node)
    if "$ref" in merged:
        target = defs[str(merged.pop("$ref")).removeprefix("#/$defs/")]
        merged = {**_resolve(target, defs), **merged}
    if "anyOf" in merged:
        branches = [b for b in merged.pop("anyOf") if b != {"type": "null"}]
        if len(branches) != 1:
            raise ValueError(f"cannot express anyOf {branches!r} in a structural schema")
        merged = {**_resolve(branches[0], defs), **merged}
    return merged


def _structural(node: Mapping[str, Any], defs: Mapping[str, Any], where: str) -> dict[str, Any]:
    resolved = _resolve(node, defs)
    out: dict[str, Any] = {}
    for key, value in resolved.items():
        if key in _COPIED or key.startswith("x-kubernetes-"):
            out[key] = value
        elif key == "properties":
            out[key] = {
                name: _structural(child, defs, f"{where}.{name}") for name, child in value.items()
            }
        elif key == "required":
            out[key] = list(value)
        elif key == "items":
            out[key] = _structural(value, defs, f"{where}[]")
        elif key == "additionalProperties":
            # ``false`` is what pruning does anyway; a schema means a map.
            if value is not False:
                out[key] = _structural(value, defs, f"{where}.*")
        elif key == "const":
            out["enum"] = [value]
        elif key not in _DROPPED:
            raise ValueError(f"{where}: keyword {key!r} has no structural-schema form")
    if "type" not in out:
        raise ValueError(f"{where}: a structural schema needs a type")
    # Keywords in a fixed order (properties keep the models' field order) for stable files.
    return dict(sorted(out.items()))


def structural_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's wire-form JSON schema as a Kubernetes structural schema."""
    schema = model.model_json_schema(by_alias=True, mode="serialization")
    defs = schema.pop("$defs", {})
    return _structural(schema, defs, model.__name__)


def open_api_schema(kind: CustomResourceKind) -> dict[str, Any]:
    """The whole object's schema: apiVersion, kind, metadata (the API server's), spec, status."""
    return {
        "description": kind.description,
        "properties": {
            "apiVersion": {"description": "The object's API version.", "type": "string"},
            "kind": {"description": "The object's kind.", "type": "string"},
            "metadata": {"type": "object"},
            "spec": structural_schema(kind.spec_model),
            "status": structural_schema(kind.status_model),
        },
        "required": ["spec"],
        "type": "object",
    }


def custom_resource_definition(kind: CustomResourceKind) -> dict[str, Any]:
    """The CRD of one kind, as ``kubectl apply`` takes it."""
    return {
        "apiVersion": CRD_API_VERSION,
        "kind": "CustomResourceDefinition",
        "metadata": {"name": kind.crd_name},
        "spec": {
            "group": GROUP,
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.singular,
                "shortNames": list(kind.short_names),
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": c.name, "type": c.type, "jsonPath": c.json_path}
                        for c in kind.columns
                    ],
                    "schema": {"openAPIV3Schema": open_api_schema(kind)},
                }
            ],
        },
    }


def crd_file_name(crd: Mapping[str, Any]) -> str:
    """controller-gen's file name, e.g. ``kura.tuist.dev_kuragateways.yaml``."""
    return f"{crd['spec']['group']}_{crd['spec']['names']['plural']}.yaml"


def custom_resource_definitions() -> list[dict[str, Any]]:
    """Every CRD the operator needs: kura's, KuraGateway first."""
    return [custom_resource_definition(kind) for kind in KINDS]


def crd_files() -> dict[str, str]:
    """File name → YAML text, one file per CRD, as committed under the operator's deploy/crds."""
    return {crd_file_name(crd): yaml_stream([crd]) for crd in custom_resource_definitions()}
