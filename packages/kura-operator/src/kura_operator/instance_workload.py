"""A KuraInstance's workload: the StatefulSet of Kura pods, its disruption budget and the
ConfigMap of its extension script.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kura_core import DEFAULT_INSTANCE_NODE_SELECTOR, DEFAULT_STORAGE_SIZE, KuraInstance
from kura_operator.instance_env import base_env, pod_extra_env
from kura_operator.instance_layout import (
    DATA_CLAIM,
    DATA_DIR,
    DRAIN_TIMEOUT_MS,
    EXTENSION_DIR,
    EXTENSION_KEY,
    HOSTNAME_TOPOLOGY,
    PEER_TLS_DIR,
    PORTS,
    SHARED_SECRETS,
    child_metadata,
    extension_config_map_name,
    headless_service_name,
    instance_labels,
    peer_tls_secret_name,
    replicas_of,
    selector_labels,
)

SHARED_SECRETS_ANNOTATION = "kura.tuist.dev/shared-secrets-resource-version"
EXTENSION_ANNOTATION = "kura.tuist.dev/extension-sha256"
# Kura writes only under DATA_DIR (its KURA_TMP_DIR is there too); /tmp is a small scratch
# volume for anything else, so the root filesystem can be read-only.
SCRATCH_DIR = "/tmp"
SCRATCH_SIZE = "1Gi"
# Kura's image sets no user. Upstream runs it as root; here it runs as a fixed non-root uid
# and gid, and fsGroup makes the data volume theirs (a volume root wrote before is re-owned
# on its first mount, then never again).
KURA_UID = 10001

# preStop sends SIGUSR1 (Kura starts draining) and waits for endpoint removal; Kura then has
# its drain timeout, and the grace period covers both plus a margin.
PRE_STOP_SLEEP_SECONDS = 20
GRACE_MARGIN_SECONDS = 15
TERMINATION_GRACE_SECONDS = PRE_STOP_SLEEP_SECONDS + DRAIN_TIMEOUT_MS // 1000 + GRACE_MARGIN_SECONDS
# Upstream's name for the extension script's volume: a pod template kura takes over keeps it.
EXTENSION_VOLUME = "extension-script"


def render_extension_config_map(instance: KuraInstance) -> dict[str, Any] | None:
    script = instance.spec.extension_script
    if not script:
        return None
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": child_metadata(instance, extension_config_map_name(instance.metadata.name)),
        "data": {EXTENSION_KEY: script},
    }


def render_pod_disruption_budget(instance: KuraInstance) -> dict[str, Any] | None:
    """At most one pod down at a time; none for a single replica (it could never drain)."""
    replicas = replicas_of(instance)
    if replicas <= 1:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": child_metadata(instance, instance.metadata.name),
        "spec": {
            "minAvailable": replicas - 1,
            "selector": {"matchLabels": selector_labels(instance.metadata.name)},
        },
    }


@dataclass(frozen=True)
class ClaimTemplate:
    """The data volume of each pod. A StatefulSet's claim templates are immutable."""

    size: str
    storage_class: str | None = None


def claim_template(instance: KuraInstance, live: Mapping[str, Any] | None) -> ClaimTemplate:
    """What the live StatefulSet already has, else what the spec asks for.

    An API server refuses any change to ``volumeClaimTemplates``, so an existing StatefulSet
    keeps its own; a new size or class reaches only StatefulSets created afterwards.
    """
    templates = ((live or {}).get("spec") or {}).get("volumeClaimTemplates") or []
    for template in templates:
        if (template.get("metadata") or {}).get("name") != DATA_CLAIM:
            continue
        spec = template.get("spec") or {}
        size = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
        if isinstance(size, str) and size:
            storage_class = spec.get("storageClassName")
            return ClaimTemplate(size, storage_class if isinstance(storage_class, str) else None)
    return ClaimTemplate(
        instance.spec.storage_size or DEFAULT_STORAGE_SIZE,
        instance.spec.storage_class_name or None,
    )


def _probe(path: str, *, delay: int, period: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "initialDelaySeconds": delay,
        "periodSeconds": period,
        "timeoutSeconds": 5,
    }


def _pod_annotations(instance: KuraInstance, shared_secrets_version: str | None) -> dict[str, str]:
    annotations = {
        "prometheus.io/scrape": "true",
        "prometheus.io/port-name": "http",
        "prometheus.io/path": "/metrics",
    }
    # envFrom is read when a container starts: a new version of the shared Secret (rotated
    # control-plane credentials) must roll the pods, and so must a new extension script.
    if shared_secrets_version:
        annotations[SHARED_SECRETS_ANNOTATION] = shared_secrets_version
    if instance.spec.extension_script:
        digest = hashlib.sha256(instance.spec.extension_script.encode()).hexdigest()
        annotations[EXTENSION_ANNOTATION] = digest
    return annotations


def _container(
    instance: KuraInstance, deployment_environment: str, otlp_traces_endpoint: str
) -> dict[str, Any]:
    mounts: list[dict[str, Any]] = [
        {"name": DATA_CLAIM, "mountPath": DATA_DIR},
        {"name": "scratch", "mountPath": SCRATCH_DIR},
        {"name": "peer-tls", "mountPath": PEER_TLS_DIR, "readOnly": True},
    ]
    if instance.spec.extension_script:
        mounts.append({"name": EXTENSION_VOLUME, "mountPath": EXTENSION_DIR, "readOnly": True})
    extra = pod_extra_env(instance)
    # Find Kura's process (PID 1's first child under an init, else PID 1 itself) and ask it
    # to drain, then give the endpoint removal time to reach every gateway.
    pre_stop = (
        'pid="$(cut -d" " -f1 /proc/1/task/1/children 2>/dev/null)"; '
        f'kill -USR1 "${{pid:-1}}"; sleep {PRE_STOP_SLEEP_SECONDS}'
    )
    return {
        "name": "kura",
        "image": instance.spec.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": name, "containerPort": port, "protocol": "TCP"} for name, port in PORTS],
        "env": base_env(
            instance,
            deployment_environment=deployment_environment,
            otlp_traces_endpoint=otlp_traces_endpoint,
        )
        + extra,
        "envFrom": [{"secretRef": {"name": SHARED_SECRETS, "optional": True}}],
        "resources": {
            "requests": {"cpu": "500m", "memory": "2Gi"},
            "limits": {"memory": "2Gi"},
        },
        "volumeMounts": mounts,
        "lifecycle": {"preStop": {"exec": {"command": ["/bin/sh", "-c", pre_stop]}}},
        "readinessProbe": _probe("/ready", delay=5, period=10),
        "livenessProbe": _probe("/up", delay=20, period=20),
        "startupProbe": _probe("/up", delay=0, period=10),
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": KURA_UID,
            "runAsGroup": KURA_UID,
            "allowPrivilegeEscalation": False,
            # Kura binds unprivileged ports only and signals only its own processes.
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


def render_stateful_set(
    instance: KuraInstance,
    *,
    deployment_environment: str,
    claim: ClaimTemplate,
    shared_secrets_version: str | None = None,
    otlp_traces_endpoint: str = "",
) -> dict[str, Any]:
    """The Kura pods: plain HTTP/gRPC, peer mTLS from the peer TLS Secret, one data volume each.

    ``claim`` comes from :func:`claim_template`; ``shared_secrets_version`` is the
    resourceVersion of ``kura-shared-secrets`` (None when it does not exist);
    ``otlp_traces_endpoint``, when set, is where the pods send their traces.
    """
    name = instance.metadata.name
    volumes: list[dict[str, Any]] = [
        {"name": "scratch", "emptyDir": {"sizeLimit": SCRATCH_SIZE}},
        {"name": "peer-tls", "secret": {"secretName": peer_tls_secret_name(instance)}},
    ]
    if instance.spec.extension_script:
        volumes.append(
            {"name": EXTENSION_VOLUME, "configMap": {"name": extension_config_map_name(name)}}
        )
    claim_spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOncePod"],
        "resources": {"requests": {"storage": claim.size}},
    }
    if claim.storage_class:
        claim_spec["storageClassName"] = claim.storage_class
    node_selector = dict(instance.spec.node_selector or DEFAULT_INSTANCE_NODE_SELECTOR)
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": child_metadata(instance, name),
        "spec": {
            "replicas": replicas_of(instance),
            "serviceName": headless_service_name(name),
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": selector_labels(name)},
            # Deleting the instance drops the cache; scaling down keeps a replica's data.
            "persistentVolumeClaimRetentionPolicy": {
                "whenDeleted": "Delete",
                "whenScaled": "Retain",
            },
            "template": {
                "metadata": {
                    "labels": instance_labels(instance),
                    "annotations": _pod_annotations(instance, shared_secrets_version),
                },
                "spec": {
                    # Service links would put every Service of the namespace in the env.
                    "enableServiceLinks": False,
                    # Kura never calls the Kubernetes API: no token in the pod to steal.
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": KURA_UID,
                        "runAsGroup": KURA_UID,
                        "fsGroup": KURA_UID,
                        "fsGroupChangePolicy": "OnRootMismatch",
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
                    "nodeSelector": node_selector,
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": HOSTNAME_TOPOLOGY,
                            "whenUnsatisfiable": "DoNotSchedule",
                            "labelSelector": {"matchLabels": selector_labels(name)},
                        }
                    ],
                    "containers": [
                        _container(instance, deployment_environment, otlp_traces_endpoint)
                    ],
                    "volumes": volumes,
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": DATA_CLAIM, "labels": instance_labels(instance)},
                    "spec": claim_spec,
                }
            ],
        },
    }
