"""A dedicated gateway's child objects, as upstream's KuraGateway controller creates them.

In upstream's order (docs/upstream.md): ConfigMap, LoadBalancer Service, IngressClass and
Deployment, all named ``<gateway>-controller`` except the cluster-scoped IngressClass. Pure: the
same gateway renders the same objects, byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kura_core import (
    DEFAULT_CONTROLLER_IMAGE,
    DEFAULT_GATEWAY_REPLICAS,
    GATEWAY_KIND,
    NAMESPACE,
    InputError,
    KuraGateway,
    LoadBalancerProvider,
    Region,
    child_metadata,
    dedicated_load_balancer_name,
    gateway_labels,
    gateway_workload_name,
)
from kura_provider_hetzner.gateway_config import config_hash, gateway_nginx_config
from kura_provider_hetzner.gateway_tuning import GatewayTuning, kubernetes_quantity

CONFIG_HASH_ANNOTATION = "kura.tuist.dev/config-sha256"
CONTAINER_NAME = "controller"
HTTP_PORT = 80
HTTPS_PORT = 443
METRICS_PORT = 10254
CPU_REQUEST = "100m"
# ingress-nginx's image runs nginx as www-data, uid 101 (the upstream chart's runAsUser).
RUN_AS_USER = 101

# A Service name is an RFC 1035 label: it must start with a letter.
_RFC1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_MAX = 63


def selector_labels(gateway_name: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "ingress-nginx",
        "app.kubernetes.io/instance": gateway_name,
        "app.kubernetes.io/component": "controller",
    }


def controller_labels(gateway: KuraGateway) -> dict[str, str]:
    return {
        **selector_labels(gateway.metadata.name),
        **gateway_labels(gateway.metadata.name, gateway.spec.region),
    }


def _check_names(gateway: KuraGateway, workload: str) -> None:
    # The Service name is the longest derived name that must be a DNS label; when it fits, the
    # gateway name fits its label values (app.kubernetes.io/instance, tuist.dev/kura-gateway).
    if len(workload) > _LABEL_MAX or not _RFC1035_LABEL.match(workload):
        raise InputError(
            f"KuraGateway {gateway.metadata.name}: its Service name {workload!r} must be a DNS "
            f"label of at most {_LABEL_MAX} characters starting with a letter; shorten the "
            "gateway name"
        )


def _metadata(
    name: str,
    gateway: KuraGateway,
    *,
    namespaced: bool = True,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    return child_metadata(
        name,
        namespace=(gateway.metadata.namespace or NAMESPACE) if namespaced else None,
        labels=controller_labels(gateway),
        annotations=annotations,
        owner_kind=GATEWAY_KIND,
        owner=gateway.metadata,
    )


def render_config_map(gateway: KuraGateway, data: Mapping[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(gateway_workload_name(gateway.metadata.name), gateway),
        "data": dict(data),
    }


def render_service(
    gateway: KuraGateway, *, region: Region | None, load_balancer: LoadBalancerProvider
) -> dict[str, Any]:
    annotations = load_balancer.service_annotations(
        region,
        load_balancer_name=dedicated_load_balancer_name(gateway.metadata.name),
        node_selector=gateway.spec.node_selector,
        overrides=gateway.spec.load_balancer_annotations,
    )
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(
            gateway_workload_name(gateway.metadata.name), gateway, annotations=annotations
        ),
        "spec": {
            "type": "LoadBalancer",
            # Keeps the client address: the LB only targets nodes that run a controller pod.
            "externalTrafficPolicy": "Local",
            "selector": selector_labels(gateway.metadata.name),
            "ports": [
                {"name": "http", "port": HTTP_PORT, "targetPort": "http", "protocol": "TCP"},
                {"name": "https", "port": HTTPS_PORT, "targetPort": "https", "protocol": "TCP"},
            ],
        },
    }


def render_ingress_class(gateway: KuraGateway, controller_class: str) -> dict[str, Any]:
    # Cluster-scoped: no owner reference; the gateway's finalizer deletes it.
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": _metadata(gateway.spec.ingress_class_name, gateway, namespaced=False),
        "spec": {"controller": controller_class},
    }


def _probe() -> dict[str, Any]:
    return {
        "httpGet": {"path": "/healthz", "port": "metrics", "scheme": "HTTP"},
        "initialDelaySeconds": 10,
        "periodSeconds": 10,
        "timeoutSeconds": 1,
    }


def _field_env(name: str, field_path: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": field_path}}}


def render_deployment(
    gateway: KuraGateway,
    *,
    controller_class: str,
    service_account_name: str,
    tuning: GatewayTuning,
    config: Mapping[str, str],
) -> dict[str, Any]:
    name = gateway.metadata.name
    workload = gateway_workload_name(name)
    pod_spec: dict[str, Any] = {"serviceAccountName": service_account_name}
    if gateway.spec.node_selector:
        pod_spec["nodeSelector"] = dict(sorted(gateway.spec.node_selector.items()))
    pod_spec["containers"] = [
        {
            "name": CONTAINER_NAME,
            "image": gateway.spec.controller_image or DEFAULT_CONTROLLER_IMAGE,
            "imagePullPolicy": "IfNotPresent",
            "args": [
                "/nginx-ingress-controller",
                f"--election-id={name}-leader",
                f"--controller-class={controller_class}",
                f"--ingress-class={gateway.spec.ingress_class_name}",
                f"--configmap=$(POD_NAMESPACE)/{workload}",
                "--watch-namespace=$(POD_NAMESPACE)",
                # Puts the LB address into Ingress status, where external-dns reads it.
                f"--publish-service=$(POD_NAMESPACE)/{workload}",
            ],
            "env": [
                _field_env("POD_NAME", "metadata.name"),
                _field_env("POD_NAMESPACE", "metadata.namespace"),
            ],
            "ports": [
                {"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"},
                {"name": "https", "containerPort": HTTPS_PORT, "protocol": "TCP"},
                {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
            ],
            "readinessProbe": _probe(),
            "livenessProbe": _probe(),
            "resources": {
                "requests": {
                    "cpu": CPU_REQUEST,
                    "memory": kubernetes_quantity(tuning.memory_request),
                },
                # No CPU limit: throttling nginx mid-transfer stalls every stream on the pod.
                "limits": {"memory": kubernetes_quantity(tuning.memory_limit)},
            },
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": RUN_AS_USER,
                "allowPrivilegeEscalation": False,
                # nginx binds 80 and 443 as a non-root user.
                "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                # Not possible: the controller writes nginx.conf and its Lua state into the
                # image's filesystem at run time.
                "readOnlyRootFilesystem": False,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
        }
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(workload, gateway),
        "spec": {
            "replicas": gateway.spec.replicas or DEFAULT_GATEWAY_REPLICAS,
            "selector": {"matchLabels": selector_labels(name)},
            "template": {
                "metadata": {
                    "labels": selector_labels(name),
                    # A config change rolls the pods, so no replica runs stale settings.
                    "annotations": {CONFIG_HASH_ANNOTATION: config_hash(config)},
                },
                "spec": pod_spec,
            },
        },
    }


def render_gateway_objects(
    gateway: KuraGateway,
    *,
    region: Region | None,
    load_balancer: LoadBalancerProvider,
    controller_class: str,
    service_account_name: str,
    tuning: GatewayTuning,
) -> list[dict[str, Any]]:
    """ConfigMap, Service, IngressClass, Deployment: the order upstream applies them in.

    ``region`` is ``None`` for a region the catalog lacks: the load balancer's annotations are
    then the gateway's own, plus what the provider derives from the gateway alone. Raises
    :class:`InputError` when a derived name cannot be valid or the tuning's buffers do not fit
    the memory limit.
    """
    if region is not None and gateway.spec.region != region.id:
        raise InputError(
            f"KuraGateway {gateway.metadata.name} is for region {gateway.spec.region!r}, "
            f"not {region.id!r}"
        )
    _check_names(gateway, gateway_workload_name(gateway.metadata.name))
    tuning.check_memory_budget()
    config = gateway_nginx_config(tuning)
    return [
        render_config_map(gateway, config),
        render_service(gateway, region=region, load_balancer=load_balancer),
        render_ingress_class(gateway, controller_class),
        render_deployment(
            gateway,
            controller_class=controller_class,
            service_account_name=service_account_name,
            tuning=tuning,
            config=config,
        ),
    ]
