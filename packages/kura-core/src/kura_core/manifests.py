"""What the control plane applies for an account in a region (docs/upstream.md).

In order: the ``KuraGateway`` (dedicated assignments only), then the ``KuraInstance``. The
objects are built through the models in ``resources``, so what leaves here is validated. Like
upstream, keys whose value is null, "" or empty are left out. The account handle appears only in
the instance; the gateway is named after the account id's hash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from kura_core.accounts import Account
from kura_core.assignment import GatewayAssignment
from kura_core.control_plane import ControlPlaneSettings
from kura_core.names import instance_name
from kura_core.providers import LoadBalancerProvider
from kura_core.regions import Region
from kura_core.resources import (
    ACCOUNT_LABEL,
    API_VERSION,
    DEFAULT_CONTROLLER_IMAGE,
    DEFAULT_GATEWAY_REPLICAS,
    GATEWAY_ANNOTATION,
    GATEWAY_KIND,
    INSTANCE_KIND,
    MANIFEST_REVISION_ANNOTATION,
    NAMESPACE,
    REGION_LABEL,
    KuraGateway,
    KuraInstance,
    KuraResource,
    parse_gateway,
    parse_instance,
    to_manifest,
)

DEFAULT_IMAGE = "ghcr.io/tuist/kura:latest"
# What `kura render` stamps as tuist.dev/kura-manifest-revision: bump it when what is rendered
# changes shape, and the operator re-applies every child of every instance once.
MANIFEST_REVISION = "2026-12-06-upstream-auth-wiring-v1"
NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
GATEWAY_APP = "kura-gateway"
INSTANCE_APP = "kura"


@dataclass(frozen=True)
class InstanceOptions:
    """How an account's ``KuraInstance`` is rendered, beyond its account and region.

    ``image`` is the Kura runtime image; ``manifest_revision`` (bump it to force a reapply),
    ``replicas``, ``storage_size``, ``peer_tls_secret_name`` and ``extension_script`` (the auth
    hook) left at None take the operator's defaults. ``extra_env`` is non-secret variables only.
    ``namespace`` is the instance's, and a dedicated gateway's, which runs beside it.
    """

    image: str
    manifest_revision: str | None = None
    replicas: int | None = None
    storage_size: str | None = None
    peer_tls_secret_name: str | None = None
    extra_env: Mapping[str, str] = field(default_factory=dict)
    extension_script: str | None = None
    namespace: str = NAMESPACE


@dataclass(frozen=True)
class GatewayOptions:
    """How a dedicated ``KuraGateway`` is rendered.

    ``load_balancer_annotations`` win over the ones the load-balancer provider derives, except
    those it reserves (the load balancer's name, location and protocol).
    """

    controller_image: str = DEFAULT_CONTROLLER_IMAGE
    replicas: int | None = None
    load_balancer_annotations: Mapping[str, str] = field(default_factory=dict)


def _compact(values: Mapping[str, Any]) -> dict[str, Any]:
    """Drop null, "" and empty values, as the upstream server does before applying."""
    return {key: value for key, value in values.items() if value not in (None, "", {}, [])}


def render_gateway(
    region: Region,
    *,
    assignment: GatewayAssignment,
    load_balancer_provider: LoadBalancerProvider,
    options: GatewayOptions = GatewayOptions(),
    namespace: str = NAMESPACE,
) -> KuraGateway:
    """The ``KuraGateway`` of a dedicated assignment.

    The load balancer's node selector is not set here: the operator derives it from
    ``nodeSelector``, so the two cannot drift apart.
    """
    if assignment.gateway is None:
        raise ValueError(f"a {assignment.mode.value} assignment has no gateway to render")
    annotations = load_balancer_provider.service_annotations(
        region,
        load_balancer_name=assignment.load_balancer_name,
        overrides=options.load_balancer_annotations or None,
    )
    return parse_gateway(
        {
            "apiVersion": API_VERSION,
            "kind": GATEWAY_KIND,
            "metadata": {
                "name": assignment.gateway,
                "namespace": namespace,
                "labels": {
                    NAME_LABEL: GATEWAY_APP,
                    INSTANCE_LABEL: assignment.gateway,
                    REGION_LABEL: region.id,
                },
            },
            "spec": _compact(
                {
                    "region": region.id,
                    "ingressClassName": assignment.ingress_class,
                    "controllerImage": options.controller_image,
                    "replicas": (
                        DEFAULT_GATEWAY_REPLICAS if options.replicas is None else options.replicas
                    ),
                    "nodeSelector": region.node_selector,
                    "loadBalancerAnnotations": annotations,
                }
            ),
        }
    )


def render_instance(
    account: Account,
    region: Region,
    *,
    assignment: GatewayAssignment,
    options: InstanceOptions,
) -> KuraInstance:
    """The account's ``KuraInstance``, routed through the assignment's ingress class."""
    name = instance_name(account.handle, region.cluster_id)
    annotations = _compact(
        {
            GATEWAY_ANNOTATION: assignment.gateway if assignment.dedicated else None,
            MANIFEST_REVISION_ANNOTATION: options.manifest_revision,
        }
    )
    return parse_instance(
        {
            "apiVersion": API_VERSION,
            "kind": INSTANCE_KIND,
            "metadata": _compact(
                {
                    "name": name,
                    "namespace": options.namespace,
                    "labels": {
                        NAME_LABEL: INSTANCE_APP,
                        INSTANCE_LABEL: name,
                        ACCOUNT_LABEL: account.handle,
                        REGION_LABEL: region.id,
                    },
                    "annotations": annotations,
                }
            ),
            "spec": _compact(
                {
                    "accountHandle": account.handle,
                    "tenantID": account.handle,
                    "region": region.id,
                    "image": options.image,
                    "publicHost": region.public_host(account.handle),
                    "grpcPublicHost": region.grpc_host(account.handle),
                    "ingressClassName": assignment.ingress_class,
                    "peerTLSSecretName": options.peer_tls_secret_name,
                    "storageClassName": region.storage_class,
                    "storageSize": options.storage_size,
                    "replicas": options.replicas,
                    "nodeSelector": region.node_selector,
                    "extensionScript": options.extension_script,
                    "extraEnv": [
                        {"name": key, "value": value} for key, value in options.extra_env.items()
                    ],
                }
            ),
        }
    )


def render_manifests(
    account: Account,
    region: Region,
    *,
    assignment: GatewayAssignment,
    load_balancer_provider: LoadBalancerProvider,
    instance: InstanceOptions,
    gateway: GatewayOptions = GatewayOptions(),
    control_plane: ControlPlaneSettings | None = None,
) -> list[dict[str, Any]]:
    """The objects to server-side-apply, in order: KuraGateway (dedicated only), KuraInstance.

    Pure: no I/O. ``assignment`` comes from ``assign_gateway(account, region, ...)``.
    ``control_plane`` adds the variables upstream's server gives every instance
    (:mod:`kura_core.control_plane`) ahead of ``instance.extra_env``, which wins on a clash.
    Raises ``InputError`` when the result would not be a valid object (a handle too long for a
    label value, say), ``ValueError`` when the assignment is for another region.
    """
    if assignment.region != region.id:
        raise ValueError(f"assignment is for region {assignment.region!r}, not {region.id!r}")
    resources: list[KuraResource] = []
    if assignment.dedicated:
        resources.append(
            render_gateway(
                region,
                assignment=assignment,
                load_balancer_provider=load_balancer_provider,
                options=gateway,
                namespace=instance.namespace,
            )
        )
    if control_plane is not None:
        instance = replace(instance, extra_env={**control_plane.extra_env(), **instance.extra_env})
    resources.append(render_instance(account, region, assignment=assignment, options=instance))
    return [to_manifest(resource) for resource in resources]


def yaml_stream(objects: Iterable[Mapping[str, Any]]) -> str:
    """Objects as a YAML stream, each document starting with ``---``, keys in model order.

    Lines are not folded, so regenerated files diff line by line.
    """
    return yaml.safe_dump_all(
        [dict(obj) for obj in objects],
        sort_keys=False,
        explicit_start=True,
        allow_unicode=True,
        width=2**16,
    )
