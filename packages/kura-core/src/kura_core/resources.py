"""The ``kura.tuist.dev/v1alpha1`` custom resources: ``KuraGateway`` and ``KuraInstance``.

Field names on the wire are upstream's (docs/upstream.md), spec fields exactly as of
the consolidation PR. Status adds what upstream lacks, never renames: Kubernetes-style
``conditions`` and ``observedGeneration``, so ``kubectl wait --for=condition=Ready`` works.
Python code may use snake_case names; dumps use the camelCase aliases.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Final, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from kura_core.dns import (
    DNS_LABEL_MAX,
    DNS_LABEL_PATTERN,
    DNS_SUBDOMAIN_MAX,
    DNS_SUBDOMAIN_PATTERN,
    HOSTNAME_PATTERN,
    LABEL_VALUE_MAX,
    LABEL_VALUE_PATTERN,
    is_label_key,
    is_label_value,
    require_dns_label,
)
from kura_core.errors import InputError
from kura_core.field_rules import LabelKeys, Text, UniqueNames, Utf8Size
from kura_core.regions import NODE_POOL_LABEL
from kura_core.validation import validation_problems

GROUP: Final = "kura.tuist.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = "kura.tuist.dev/v1alpha1"
GATEWAY_KIND: Final = "KuraGateway"
INSTANCE_KIND: Final = "KuraInstance"

NAMESPACE = "kura"
GATEWAY_FINALIZER = "kuragateways.kura.tuist.dev/finalizer"
INSTANCE_FINALIZER = "kurainstances.kura.tuist.dev/finalizer"
GATEWAY_ANNOTATION = "tuist.dev/kura-gateway"
MANIFEST_REVISION_ANNOTATION = "tuist.dev/kura-manifest-revision"
ACCOUNT_LABEL = "tuist.dev/account"
REGION_LABEL = "tuist.dev/region"

# Defaults the operator applies when a field is absent (upstream controller behaviour).
# Not upstream's image (v1.11.3, vulnerable to the March 2025 "IngressNightmare" CVEs): the last
# ingress-nginx release, pinned by the digest its own release notes publish (kubernetes/
# ingress-nginx, changelog/controller-1.15.1.md), so the tag cannot be moved under a gateway.
DEFAULT_CONTROLLER_IMAGE = (
    "registry.k8s.io/ingress-nginx/controller:v1.15.1"
    "@sha256:594ceea76b01c592858f803f9ff4d2cb40542cae2060410b2c95f75907d659e1"
)
DEFAULT_GATEWAY_REPLICAS = 2
DEFAULT_INSTANCE_REPLICAS = 3
DEFAULT_STORAGE_SIZE = "200Gi"
DEFAULT_INSTANCE_NODE_SELECTOR: Mapping[str, str] = {NODE_POOL_LABEL: "kura"}
DEFAULT_INSTANCE_INGRESS_CLASS = "nginx"

INT32_MAX = 2**31 - 1

# --- field rules: the CRDs and the models enforce the same ones (kura_core.field_rules) --------

# Far above any region's node pool: a slip (300 for 3) must not schedule hundreds of pods.
MAX_REPLICAS = 100
MAX_NODE_SELECTOR_ENTRIES = 32
# 32 annotations of 1024 characters stay well inside the 256 KiB a Service's annotations hold.
MAX_LOAD_BALANCER_ANNOTATIONS = 32
LOAD_BALANCER_ANNOTATION_VALUE_MAX = 1024
MAX_EXTRA_ENV = 128
ENV_NAME_MAX = 256
ENV_NAME_PATTERN = r"^[-._a-zA-Z][-._a-zA-Z0-9]*$"
# The script becomes one key of the extension ConfigMap (1 MiB at most) and, with a client-side
# `kubectl apply`, part of the last-applied-configuration annotation (256 KiB for all of an
# object's annotations, the script JSON-escaped); 64 KiB fits both with room to spare.
EXTENSION_SCRIPT_MAX_BYTES = 64 * 1024
IMAGE_MAX = 512
IMAGE_PATTERN = r"^[!-~]+$"
CONTROLLER_IMAGE_MAX = 256  # upstream's CRD
CONTROLLER_CLASS_MAX = 128  # upstream's CRD
# What an IngressClass's spec.controller must be: a DNS-subdomain domain, "/", then a path.
CONTROLLER_CLASS_PATTERN = (
    DNS_SUBDOMAIN_PATTERN.removesuffix("$") + r"/[-A-Za-z0-9/._~%!$&'()*+,;=:]+$"
)
QUANTITY_PATTERN = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$"
QUANTITY_MAX = 63

_SUBDOMAIN = Text(
    f"a DNS subdomain (lowercase letters, digits, '-' and '.', at most {DNS_SUBDOMAIN_MAX} "
    "characters)",
    max_length=DNS_SUBDOMAIN_MAX,
    pattern=DNS_SUBDOMAIN_PATTERN,
)
_LABEL_VALUE_WHAT = (
    f"a label value (at most {LABEL_VALUE_MAX} letters, digits, '-', '_' and '.', alphanumeric "
    "at both ends)"
)
_IMAGE_WHAT = "an image reference (printable ASCII, no spaces)"


def _labels(value: dict[str, str] | None) -> dict[str, str] | None:
    for key, label in (value or {}).items():
        if not is_label_key(key):
            raise ValueError(f"label key {key!r} is not a valid label key")
        if not is_label_value(label):
            raise ValueError(
                f"label {key}={label!r} is not a valid label value (at most {LABEL_VALUE_MAX} "
                f"of letters, digits, '-', '_' and '.', alphanumeric at both ends)"
            )
    return value


def _annotation_keys(value: dict[str, str] | None) -> dict[str, str] | None:
    for key in value or {}:
        if not is_label_key(key):
            raise ValueError(f"annotation key {key!r} is not a valid annotation key")
    return value


def _dns_label(what: str) -> AfterValidator:
    return AfterValidator(lambda value: require_dns_label(value, what))


# The DNS-label rule travels into the CRD as pattern + length limits; in Python the validator
# checks it, with a clearer message than a bare pattern mismatch.
_DNS_LABEL_SCHEMA = Field(
    json_schema_extra={"minLength": 1, "maxLength": DNS_LABEL_MAX, "pattern": DNS_LABEL_PATTERN}
)
RegionName = Annotated[str, _DNS_LABEL_SCHEMA, _dns_label("region")]
IngressClassName = Annotated[str, _DNS_LABEL_SCHEMA, _dns_label("ingress class name")]
AccountHandle = Annotated[str, _DNS_LABEL_SCHEMA, _dns_label("account handle")]
ObjectName = Annotated[str, _SUBDOMAIN]
# Empty means none, as upstream's controller reads it (no Ingress for an empty host).
Hostname = Annotated[
    str,
    Text(
        "empty or a DNS name (lowercase letters, digits, '-' and '.'; labels of at most 63 "
        f"characters, at most {DNS_SUBDOMAIN_MAX} in all)",
        max_length=DNS_SUBDOMAIN_MAX,
        pattern=f"^$|{HOSTNAME_PATTERN}",
        min_length=0,
    ),
]
LabelValue = Annotated[
    str, Text(_LABEL_VALUE_WHAT, LABEL_VALUE_MAX, LABEL_VALUE_PATTERN, min_length=0)
]
NodeSelector = Annotated[dict[str, LabelValue], LabelKeys(MAX_NODE_SELECTOR_ENTRIES)]
LoadBalancerAnnotations = Annotated[
    dict[
        str,
        Annotated[
            str,
            Text(
                f"an annotation value of at most {LOAD_BALANCER_ANNOTATION_VALUE_MAX} characters",
                LOAD_BALANCER_ANNOTATION_VALUE_MAX,
                min_length=0,
            ),
        ],
    ],
    LabelKeys(MAX_LOAD_BALANCER_ANNOTATIONS),
]
Labels = Annotated[dict[str, str] | None, AfterValidator(_labels)]
Annotations = Annotated[dict[str, str] | None, AfterValidator(_annotation_keys)]
Int32 = Annotated[int, Field(le=INT32_MAX, json_schema_extra={"format": "int32"})]
Replicas = Annotated[int, Field(ge=1, le=MAX_REPLICAS, json_schema_extra={"format": "int32"})]
Count = Annotated[Int32, Field(ge=0)]
Generation = Annotated[int, Field(ge=0, json_schema_extra={"format": "int64"})]


class WireModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields are typos, so rejected."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
    )


# --- shared parts ------------------------------------------------------------------------------


class Condition(WireModel):
    """A Kubernetes-style condition, shaped like metav1.Condition."""

    type: str = Field(
        min_length=1,
        max_length=316,
        description="Condition type in CamelCase, e.g. Ready.",
    )
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    observed_generation: Generation | None = Field(
        default=None,
        description="The .metadata.generation the condition was computed from.",
    )
    last_transition_time: datetime = Field(
        description="When the status last changed (RFC 3339).",
    )
    reason: str = Field(
        min_length=1,
        max_length=1024,
        pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
        description="Machine-readable CamelCase reason for the last transition.",
    )
    message: str = Field(
        max_length=32768,
        description="Human-readable details of the last transition.",
    )


# Conditions are keyed by type: server-side apply merges them per type.
_CONDITIONS_SCHEMA: dict[str, Any] = {
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
}


class KeyRef(WireModel):
    """A key of a Secret or ConfigMap in the object's namespace."""

    name: str = Field(min_length=1, description="The Secret's or ConfigMap's name.")
    key: str = Field(min_length=1, description="The key.")
    optional: bool | None = Field(default=None, description="Whether it may be missing.")


class FieldRef(WireModel):
    """A field of the pod."""

    api_version: str | None = Field(default=None, description="Schema version of fieldPath.")
    field_path: str = Field(min_length=1, description="The field, e.g. metadata.name.")


class ResourceFieldRef(WireModel):
    """A container's resource limit or request."""

    container_name: str | None = Field(default=None, description="The container.")
    resource: str = Field(min_length=1, description="The resource, e.g. limits.memory.")
    divisor: str | None = Field(default=None, description="Output unit, e.g. 1Mi.")


class EnvVarSource(WireModel):
    """Where a variable's value comes from: exactly one source (Kubernetes' EnvVarSource)."""

    secret_key_ref: KeyRef | None = Field(default=None, description="A key of a Secret.")
    config_map_key_ref: KeyRef | None = Field(default=None, description="A key of a ConfigMap.")
    field_ref: FieldRef | None = Field(default=None, description="A field of the pod.")
    resource_field_ref: ResourceFieldRef | None = Field(
        default=None, description="A resource of a container."
    )

    @model_validator(mode="after")
    def _one_source(self) -> EnvVarSource:
        if sum(source is not None for source in self.__dict__.values()) != 1:
            raise ValueError("valueFrom must name exactly one source")
        return self


class EnvVar(WireModel):
    """An environment variable: a plain value, or a reference (valueFrom), as upstream's."""

    name: Annotated[
        str,
        Text(
            "an environment variable name (letters, digits, '-', '_' and '.', not starting "
            f"with a digit, at most {ENV_NAME_MAX} characters)",
            ENV_NAME_MAX,
            ENV_NAME_PATTERN,
        ),
    ] = Field(description="Variable name.")
    value: str | None = Field(default=None, description="Variable value.")
    value_from: EnvVarSource | None = Field(
        default=None, description="Where the value comes from, instead of value."
    )

    @model_validator(mode="after")
    def _value_or_reference(self) -> EnvVar:
        if self.value and self.value_from is not None:
            raise ValueError(f"{self.name}: value and valueFrom exclude each other")
        return self


class ObjectMeta(BaseModel):
    """The metadata kura reads and writes; server-managed fields it does not use are ignored."""

    model_config = ConfigDict(
        frozen=True, extra="ignore", alias_generator=to_camel, populate_by_name=True
    )

    name: ObjectName
    namespace: str | None = None
    labels: Labels = None
    annotations: Annotations = None
    finalizers: list[str] | None = None
    generation: int | None = None
    resource_version: str | None = None
    uid: str | None = None
    creation_timestamp: datetime | None = None
    deletion_timestamp: datetime | None = None


# --- KuraGateway ---------------------------------------------------------------------------------


class KuraGatewaySpec(WireModel):
    """A dedicated ingress gateway: an ingress-nginx controller behind its own load balancer."""

    region: RegionName = Field(description="Region id; copied into the tuist.dev/region label.")
    ingress_class_name: IngressClassName = Field(
        description="Name of the IngressClass this gateway creates and serves.",
    )
    controller_class_name: (
        Annotated[
            str,
            Text(
                "a controller name: a DNS-subdomain domain, '/', then a path, e.g. "
                f"k8s.io/ingress-nginx (at most {CONTROLLER_CLASS_MAX} characters)",
                CONTROLLER_CLASS_MAX,
                CONTROLLER_CLASS_PATTERN,
            ),
        ]
        | None
    ) = Field(
        default=None,
        description="IngressClass controller; default k8s.io/<ingressClassName>-ingress-nginx.",
    )
    controller_image: (
        Annotated[str, Text(_IMAGE_WHAT, CONTROLLER_IMAGE_MAX, IMAGE_PATTERN)] | None
    ) = Field(
        default=None,
        description=f"Controller image; default {DEFAULT_CONTROLLER_IMAGE}.",
    )
    replicas: Replicas | None = Field(
        default=None,
        description=f"Controller replicas; default {DEFAULT_GATEWAY_REPLICAS}.",
    )
    node_selector: NodeSelector | None = Field(
        default=None,
        description="Node selector of the controller pods; also targets the load balancer.",
    )
    load_balancer_annotations: LoadBalancerAnnotations | None = Field(
        default=None,
        description="Annotations copied onto the controller's LoadBalancer Service.",
    )


class ReconcileStatus(WireModel):
    """Status fields every kura resource shares: phase, message, reconcile time, conditions.

    Unknown status fields are ignored, unlike the spec's: status is written by controllers (a
    newer operator, another tool), not typed by users, and refusing it would fail the object
    until someone cleared the field by hand.
    """

    model_config = WireModel.model_config | ConfigDict(extra="ignore")

    phase: str | None = Field(default=None, description="Pending, Ready or Error.")
    message: str | None = Field(default=None, description="Human-readable state.")
    last_reconciled_at: datetime | None = Field(default=None, description="Last reconcile (UTC).")
    observed_generation: Generation | None = Field(
        default=None,
        description="The .metadata.generation this status describes.",
    )
    conditions: list[Condition] | None = Field(
        default=None,
        description="Standard conditions, e.g. Ready.",
        json_schema_extra=_CONDITIONS_SCHEMA,
    )


class KuraGatewayStatus(ReconcileStatus):
    """What the operator last observed of a gateway."""

    ingress_class_name: str | None = Field(
        default=None,
        description="The IngressClass last created; a renamed class is deleted.",
    )
    service_name: str | None = Field(default=None, description="The LoadBalancer Service.")
    ready_replicas: Count | None = Field(default=None, description="Ready controller pods.")
    load_balancer: str | None = Field(
        default=None,
        description="Load balancer hostname or IP; empty until provisioned.",
    )


class KuraGateway(WireModel):
    """A ``KuraGateway`` object."""

    api_version: Literal["kura.tuist.dev/v1alpha1"] = API_VERSION
    kind: Literal["KuraGateway"] = GATEWAY_KIND
    metadata: ObjectMeta
    spec: KuraGatewaySpec
    status: KuraGatewayStatus | None = None


# --- KuraInstance -------------------------------------------------------------------------------


class KuraInstanceSpec(WireModel):
    """One account's Kura cache cluster in one region."""

    account_handle: AccountHandle = Field(description="The account handle.")
    tenant_id: Annotated[str, Text(_LABEL_VALUE_WHAT, LABEL_VALUE_MAX, LABEL_VALUE_PATTERN)] = (
        Field(alias="tenantID", description="Tenant id (the handle).")
    )
    region: RegionName = Field(description="Region id.")
    image: Annotated[str, Text(_IMAGE_WHAT, IMAGE_MAX, IMAGE_PATTERN)] = Field(
        description="Kura runtime image."
    )
    replicas: Replicas | None = Field(
        default=None,
        description=f"Kura pods; default {DEFAULT_INSTANCE_REPLICAS}.",
    )
    public_host: Hostname | None = Field(default=None, description="Public HTTP host.")
    grpc_public_host: Hostname | None = Field(default=None, description="Public gRPC host.")
    ingress_class_name: IngressClassName | None = Field(
        default=None,
        description=(
            f"IngressClass of the regional or dedicated gateway; default "
            f"{DEFAULT_INSTANCE_INGRESS_CLASS}."
        ),
    )
    peer_tls_secret_name: ObjectName | None = Field(
        default=None,
        alias="peerTLSSecretName",
        description="Externally managed peer TLS Secret; default a self-signed one.",
    )
    storage_class_name: (
        Annotated[
            str,
            Text(
                f"empty or {_SUBDOMAIN.what}",
                DNS_SUBDOMAIN_MAX,
                f"^$|{DNS_SUBDOMAIN_PATTERN}",
                min_length=0,
            ),
        ]
        | None
    ) = Field(default=None, description="StorageClass of the data PVCs; empty: the default.")
    storage_size: (
        Annotated[str, Text("a quantity such as 200Gi", QUANTITY_MAX, QUANTITY_PATTERN)] | None
    ) = Field(
        default=None,
        description=f"Size of each data PVC; default {DEFAULT_STORAGE_SIZE}.",
    )
    node_selector: NodeSelector | None = Field(
        default=None,
        description=(
            "Node selector of the Kura pods; default "
            + ",".join(f"{k}={v}" for k, v in DEFAULT_INSTANCE_NODE_SELECTOR.items())
            + "."
        ),
    )
    extra_env: Annotated[list[EnvVar], UniqueNames(MAX_EXTRA_ENV)] | None = Field(
        default=None,
        description="Extra environment variables: plain values, or references (valueFrom).",
    )
    extension_script: Annotated[str, Utf8Size(EXTENSION_SCRIPT_MAX_BYTES)] | None = Field(
        default=None, description="Lua extension script."
    )


class KuraInstanceStatus(ReconcileStatus):
    """What the operator last observed of an instance."""

    public_url: str | None = Field(
        default=None, alias="publicURL", description="https://<publicHost>."
    )
    grpc_public_url: str | None = Field(
        default=None,
        alias="grpcPublicURL",
        description="grpcs://<grpcPublicHost>.",
    )
    observed_image: str | None = Field(default=None, description="Image the pods run.")
    ready_replicas: Count | None = Field(default=None, description="Ready Kura pods.")
    applied_manifest_revision: str | None = Field(
        default=None,
        description=(
            f"The {MANIFEST_REVISION_ANNOTATION} annotation every child was last re-applied for; "
            "a different annotation forces a full re-apply."
        ),
    )


class KuraInstance(WireModel):
    """A ``KuraInstance`` object."""

    api_version: Literal["kura.tuist.dev/v1alpha1"] = API_VERSION
    kind: Literal["KuraInstance"] = INSTANCE_KIND
    metadata: ObjectMeta
    spec: KuraInstanceSpec
    status: KuraInstanceStatus | None = None


KuraResource = KuraGateway | KuraInstance
_R = TypeVar("_R", KuraGateway, KuraInstance)


# --- parsing and dumping -----------------------------------------------------------------------


def _describe(data: Mapping[Any, Any], kind: str) -> str:
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    return f"{kind} {name}" if isinstance(name, str) and name else kind


def _parse(model: type[_R], data: object) -> _R:
    kind = model.model_fields["kind"].default
    if not isinstance(data, Mapping):
        raise InputError(f"{kind}: expected a mapping, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(
            f"invalid {_describe(data, kind)}: {'; '.join(validation_problems(exc))}"
        ) from None


def parse_gateway(data: object) -> KuraGateway:
    """A ``KuraGateway`` from a dict; every problem is in the one-line ``InputError``."""
    return _parse(KuraGateway, data)


def parse_instance(data: object) -> KuraInstance:
    """A ``KuraInstance`` from a dict; every problem is in the one-line ``InputError``."""
    return _parse(KuraInstance, data)


def parse_resource(data: object) -> KuraResource:
    """A ``KuraGateway`` or ``KuraInstance``, by the object's ``kind``."""
    kind = data.get("kind") if isinstance(data, Mapping) else None
    if kind == GATEWAY_KIND:
        return _parse(KuraGateway, data)
    if kind == INSTANCE_KIND:
        return _parse(KuraInstance, data)
    raise InputError(
        f"expected an object of kind {GATEWAY_KIND} or {INSTANCE_KIND} ({API_VERSION}), "
        f"got kind {kind!r}"
    )


def to_manifest(resource: KuraResource) -> dict[str, Any]:
    """The object as Kubernetes takes it: camelCase keys, unset fields left out."""
    return resource.model_dump(mode="json", by_alias=True, exclude_none=True)
