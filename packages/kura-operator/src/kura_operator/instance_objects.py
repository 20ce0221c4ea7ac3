"""A KuraInstance's children, rendered as plain objects: pure functions, no I/O, no clock.

Names, labels, ports, env and shapes are upstream's (docs/upstream.md): a primary
Service ``<inst>`` pinned to one pod, a headless Service ``<inst>-headless``, the StatefulSet
``<inst>`` with its PodDisruptionBudget and NetworkPolicy, an extension ConfigMap
``<inst>-extension`` when the spec has a script, and the account peer Service
``kura-<account>-peers``. Pods speak plain HTTP (4000) and gRPC (50051) in the cluster, because
public TLS ends at the gateway; only the peer port (7443) speaks mTLS. So the pods never get
``KURA_PUBLIC_TLS_*``, ``KURA_GRPC_TLS_*`` or ``KURA_HTTPS_PORT``, an https port or a public TLS
mount, and the control-plane client secret reaches them only through ``envFrom`` of the optional
Secret ``kura-shared-secrets``, never through the spec.

Cross-region peering is enabled exactly when ``spec.peerTLSSecretName`` is set. Peers in other
regions can verify each other only through a trust root they share, and a shared, externally
managed Secret is what provides one; the per-instance CA the operator generates otherwise is
known to that instance alone. So only then does the account peer Service exist and
``KURA_GLOBAL_DISCOVERY_DNS_NAME`` point at it. That Service is shared by all of the account's
instances, so it has no owner reference (the operator removes it with the account's last
peering instance); every other child is owned by its instance and garbage-collected with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kura_core import (
    ACCOUNT_LABEL,
    API_VERSION,
    DEFAULT_INSTANCE_NODE_SELECTOR,
    DEFAULT_INSTANCE_REPLICAS,
    DEFAULT_STORAGE_SIZE,
    INSTANCE_KIND,
    NAMESPACE,
    REGION_LABEL,
    EnvVar,
    InputError,
    KuraInstance,
    is_dns_label,
)

NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
# Upstream's value, so objects upstream's controller made are recognised as ours and back.
MANAGED_BY = "kura-controller"
# Whoever may have made an object this operator is allowed to delete.
OUR_MANAGERS = frozenset({MANAGED_BY, "kura-operator"})
APP = "kura"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
# Every namespace carries its own name in this label (set by the API server).
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
HOSTNAME_TOPOLOGY = "kubernetes.io/hostname"

HTTP_PORT = 4000
GRPC_PORT = 50051
PEER_PORT = 7443
PORTS = (("http", HTTP_PORT), ("grpc", GRPC_PORT), ("peer", PEER_PORT))

SHARED_SECRETS = "kura-shared-secrets"
SHARED_SECRETS_ANNOTATION = "kura.tuist.dev/shared-secrets-resource-version"
EXTENSION_ANNOTATION = "kura.tuist.dev/extension-sha256"
EXTENSION_KEY = "hooks.lua"
EXTENSION_DIR = "/etc/kura/extensions"
PEER_TLS_DIR = "/etc/kura/peer-tls"
PEER_TLS_CA, PEER_TLS_CERT, PEER_TLS_KEY = "ca.pem", "tls.crt", "tls.key"
DATA_DIR = "/var/cache/kura"
DATA_CLAIM = "data"
# Kura writes only under DATA_DIR (its KURA_TMP_DIR is there too); /tmp is a small scratch
# volume for anything else, so the root filesystem can be read-only.
SCRATCH_DIR = "/tmp"
SCRATCH_SIZE = "1Gi"
# Kura's image sets no user. Upstream runs it as root; here it runs as a fixed non-root uid
# and gid, and fsGroup makes the data volume theirs (a volume root wrote before is re-owned
# on its first mount, then never again).
KURA_UID = 10001

# preStop sends SIGUSR1 (Kura starts draining) and waits for endpoint removal; Kura then has
# its drain timeout, and the grace period covers both plus a margin (upstream §3.5).
PRE_STOP_SLEEP_SECONDS = 20
DRAIN_TIMEOUT_MS = 240_000
GRACE_MARGIN_SECONDS = 15
TERMINATION_GRACE_SECONDS = PRE_STOP_SLEEP_SECONDS + DRAIN_TIMEOUT_MS // 1000 + GRACE_MARGIN_SECONDS
ENVIRONMENT_ENV = "KURA_OTEL_DEPLOYMENT_ENVIRONMENT"
OTLP_TRACES_ENV = "KURA_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
# Upstream's name for the extension script's volume: a pod template kura takes over keeps it.
EXTENSION_VOLUME = "extension-script"

# A StatefulSet's pods carry controller-revision-hash=<name>-<hash of up to 10 characters>, a
# label value (at most 63 characters); a longer name makes every pod creation fail.
INSTANCE_NAME_MAX = 52
LEGACY_CLIENT_ENV_PREFIXES = ("KURA_EXTENSION_TUIST_INTROSPECT_", "TUIST_KURA_INTROSPECTION_")
LEGACY_CLIENT_ID_ENVS = tuple(f"{prefix}CLIENT_ID" for prefix in LEGACY_CLIENT_ENV_PREFIXES)
CLIENT_ID_ENV = "KURA_CONTROL_PLANE_CLIENT_ID"
CLIENT_SECRET_ENV = "KURA_CONTROL_PLANE_CLIENT_SECRET"


# --- names and labels ----------------------------------------------------------------------------


def namespace_of(instance: KuraInstance) -> str:
    return instance.metadata.namespace or NAMESPACE


def replicas_of(instance: KuraInstance) -> int:
    return instance.spec.replicas or DEFAULT_INSTANCE_REPLICAS


def cross_region_enabled(instance: KuraInstance) -> bool:
    """Peering across regions needs a shared trust root: an externally managed peer Secret."""
    return bool(instance.spec.peer_tls_secret_name)


def headless_service_name(instance_name: str) -> str:
    return f"{instance_name}-headless"


def extension_config_map_name(instance_name: str) -> str:
    return f"{instance_name}-extension"


def legacy_service_names(instance_name: str) -> tuple[str, str]:
    """The per-instance gRPC and peer LoadBalancer Services from before the shared gateways."""
    return f"{instance_name}-grpc", f"{instance_name}-peer"


def generated_peer_tls_secret_name(instance_name: str) -> str:
    return f"{instance_name}-peer-tls"


def peer_tls_secret_name(instance: KuraInstance) -> str:
    return instance.spec.peer_tls_secret_name or generated_peer_tls_secret_name(
        instance.metadata.name
    )


def fnv32a(data: bytes) -> int:
    """FNV-1a, 32 bits (Go's ``hash/fnv.New32a``)."""
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def account_peer_service_name(handle: str) -> str:
    """``kura-<handle>-peers``; past 63 characters cut, trailing '-' trimmed, FNV-1a suffixed.

    Exactly upstream's shortening (suffix ``-%x`` of the handle's FNV-1a hash, no padding), so
    both controllers name one account's Service alike.
    """
    name = f"kura-{handle}-peers"
    if len(name) <= 63:
        return name
    suffix = f"-{fnv32a(handle.encode()):x}"
    return name[: 63 - len(suffix)].rstrip("-") + suffix


def service_dns_name(service: str, namespace: str) -> str:
    return f"{service}.{namespace}.svc.cluster.local"


def pod_dns_name(instance_name: str, ordinal: int, namespace: str) -> str:
    """What ``KURA_NODE_URL`` names for pod ``ordinal``."""
    headless = headless_service_name(instance_name)
    return f"{instance_name}-{ordinal}.{service_dns_name(headless, namespace)}"


def selector_labels(instance_name: str) -> dict[str, str]:
    return {NAME_LABEL: APP, INSTANCE_LABEL: instance_name}


def account_selector(handle: str) -> dict[str, str]:
    """Every Kura pod of the account, in any of its regions."""
    return {NAME_LABEL: APP, ACCOUNT_LABEL: handle}


def instance_labels(instance: KuraInstance) -> dict[str, str]:
    return {
        **selector_labels(instance.metadata.name),
        MANAGED_BY_LABEL: MANAGED_BY,
        ACCOUNT_LABEL: instance.spec.account_handle,
        REGION_LABEL: instance.spec.region,
    }


def account_peer_labels(handle: str) -> dict[str, str]:
    return {NAME_LABEL: APP, MANAGED_BY_LABEL: MANAGED_BY, ACCOUNT_LABEL: handle}


def is_ours(obj: Mapping[str, Any] | None) -> bool:
    """Labelled as made by this operator (or by upstream's controller, which it replaces)."""
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY_LABEL) in OUR_MANAGERS


def owner_references(instance: KuraInstance) -> list[dict[str, Any]]:
    """The controller reference to ``instance``; none before it has a uid (a preview)."""
    if not instance.metadata.uid:
        return []
    return [
        {
            "apiVersion": API_VERSION,
            "kind": INSTANCE_KIND,
            "name": instance.metadata.name,
            "uid": instance.metadata.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def _metadata(instance: KuraInstance, name: str, **extra: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace_of(instance),
        "labels": instance_labels(instance),
        **extra,
    }
    if owners := owner_references(instance):
        metadata["ownerReferences"] = owners
    return metadata


# --- checks ---------------------------------------------------------------------------------------


def check_instance(instance: KuraInstance) -> None:
    """Everything that would make a child invalid or unsafe, as one ``InputError``.

    A real API server would refuse such children one by one, and forever; the operator refuses
    the instance instead, before it writes anything.
    """
    # The field rules (names, hosts, sizes, labels) are the model's, checked when it was parsed.
    problems: list[str] = []
    name = instance.metadata.name
    if not is_dns_label(name) or not name[0].isalpha() or len(name) > INSTANCE_NAME_MAX:
        problems.append(
            f"the name {name!r} must be a DNS label starting with a letter, at most "
            f"{INSTANCE_NAME_MAX} characters (it names the Services and the StatefulSet's pods)"
        )
    problems.extend(_env_problems(instance))
    if problems:
        raise InputError(f"KuraInstance {name}: {'; '.join(problems)}")


def _env_problems(instance: KuraInstance) -> list[str]:
    problems: list[str] = []
    reserved = {entry["name"] for entry in base_env(instance, deployment_environment="")}
    reserved.discard(ENVIRONMENT_ENV)  # a deployment environment of its own is welcome
    for entry in instance.spec.extra_env or []:
        variable = entry.name
        # Values are never quoted back: whatever was put there may be a secret.
        if variable == CLIENT_SECRET_ENV and entry.value_from is None:
            problems.append(
                f"spec.extraEnv: {CLIENT_SECRET_ENV} is a secret and comes only from the "
                f"{SHARED_SECRETS} Secret, never from the spec (a valueFrom reference is fine)"
            )
        elif variable in reserved:
            problems.append(f"spec.extraEnv: {variable} is set by the operator")
    return problems


def pod_extra_env(instance: KuraInstance) -> list[dict[str, Any]]:
    """``spec.extraEnv`` as the pods get it, legacy client-id names migrated.

    Older Tuist servers put the client id under a legacy name. The pods keep that name (the
    extension script of such an instance may read it) and get the canonical one with the same
    value or reference, unless the spec sets the canonical one itself.
    """
    entries = [entry.model_dump(by_alias=True, exclude_none=True) for entry in _extra(instance)]
    if not any(entry["name"] == CLIENT_ID_ENV for entry in entries):
        legacy = [entry for entry in entries if entry["name"] in LEGACY_CLIENT_ID_ENVS]
        if legacy:
            entries.append({**legacy[0], "name": CLIENT_ID_ENV})
    return entries


def legacy_env_notice(instance: KuraInstance) -> str | None:
    """What the migration of legacy names did, in words; ``None`` when there was none."""
    names = [entry.name for entry in _extra(instance)]
    legacy = [name for name in names if name.startswith(LEGACY_CLIENT_ENV_PREFIXES)]
    if not legacy:
        return None
    migrated = CLIENT_ID_ENV not in names and any(n in LEGACY_CLIENT_ID_ENVS for n in legacy)
    also = f"; the pods also get {CLIENT_ID_ENV}, from the same source" if migrated else ""
    return (
        f"spec.extraEnv sets {', '.join(legacy)}, legacy names of older Tuist servers: accepted "
        f"and kept{also}; re-render the instance to drop them ({CLIENT_SECRET_ENV} belongs in "
        f"the {SHARED_SECRETS} Secret)"
    )


def _extra(instance: KuraInstance) -> list[EnvVar]:
    return list(instance.spec.extra_env or [])


# --- Services -------------------------------------------------------------------------------------


def _service_ports(names: tuple[str, ...] = ("http", "grpc", "peer")) -> list[dict[str, Any]]:
    return [
        {"name": name, "port": port, "targetPort": name, "protocol": "TCP"}
        for name, port in PORTS
        if name in names
    ]


def render_primary_service(instance: KuraInstance, primary_pod: str) -> dict[str, Any]:
    """``<inst>``: the gateway's backend, pinned to one pod for read-after-write consistency."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(instance, instance.metadata.name),
        "spec": {
            "type": "ClusterIP",
            "selector": {**selector_labels(instance.metadata.name), POD_NAME_LABEL: primary_pod},
            "ports": _service_ports(),
        },
    }


def render_headless_service(instance: KuraInstance) -> dict[str, Any]:
    """``<inst>-headless``: pod DNS names for peers, resolvable before the pods are Ready."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(instance, headless_service_name(instance.metadata.name)),
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": selector_labels(instance.metadata.name),
            "ports": _service_ports(),
        },
    }


def render_account_peer_service(instance: KuraInstance) -> dict[str, Any]:
    """``kura-<account>-peers``: every Kura pod of the account, peer port only, unowned."""
    handle = instance.spec.account_handle
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": account_peer_service_name(handle),
            "namespace": namespace_of(instance),
            "labels": account_peer_labels(handle),
        },
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": account_selector(handle),
            "ports": _service_ports(("peer",)),
        },
    }


# --- the rest ------------------------------------------------------------------------------------


def render_extension_config_map(instance: KuraInstance) -> dict[str, Any] | None:
    script = instance.spec.extension_script
    if not script:
        return None
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(instance, extension_config_map_name(instance.metadata.name)),
        "data": {EXTENSION_KEY: script},
    }


def render_network_policy(
    instance: KuraInstance,
    *,
    gateway_peers: Sequence[Mapping[str, Any]],
    scraper_namespaces: Sequence[str] = (),
) -> dict[str, Any]:
    """Ingress only: the instance's own pods, the account's peers on the peer port, its gateway's
    pods (``gateway_peers``, from the ingress provider) on the HTTP and gRPC ports, and pods of
    ``scraper_namespaces`` (Prometheus) on the HTTP port, where Kura serves ``/metrics``.

    Upstream admits HTTP and gRPC from every namespace; here a rule without peers is left out,
    because a rule with no ``from`` would admit everyone.
    """
    own = {"podSelector": {"matchLabels": selector_labels(instance.metadata.name)}}
    peers = {"podSelector": {"matchLabels": account_selector(instance.spec.account_handle)}}
    rules: list[dict[str, Any]] = [
        {"from": [own]},
        {"from": [peers], "ports": [{"protocol": "TCP", "port": "peer"}]},
    ]
    if gateway_peers:
        rules.append(
            {
                "from": [dict(peer) for peer in gateway_peers],
                "ports": [
                    {"protocol": "TCP", "port": "http"},
                    {"protocol": "TCP", "port": "grpc"},
                ],
            }
        )
    if scraper_namespaces:
        scrapers = {
            "namespaceSelector": {
                "matchExpressions": [
                    {
                        "key": NAMESPACE_NAME_LABEL,
                        "operator": "In",
                        "values": sorted(set(scraper_namespaces)),
                    }
                ]
            }
        }
        rules.append({"from": [scrapers], "ports": [{"protocol": "TCP", "port": "http"}]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(instance, instance.metadata.name),
        "spec": {
            "podSelector": {"matchLabels": selector_labels(instance.metadata.name)},
            "policyTypes": ["Ingress"],
            "ingress": rules,
        },
    }


def render_pod_disruption_budget(instance: KuraInstance) -> dict[str, Any] | None:
    """At most one pod down at a time; none for a single replica (it could never drain)."""
    replicas = replicas_of(instance)
    if replicas <= 1:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _metadata(instance, instance.metadata.name),
        "spec": {
            "minAvailable": replicas - 1,
            "selector": {"matchLabels": selector_labels(instance.metadata.name)},
        },
    }


# --- the StatefulSet -----------------------------------------------------------------------------


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


def _field(name: str, path: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}


def base_env(
    instance: KuraInstance, *, deployment_environment: str, otlp_traces_endpoint: str = ""
) -> list[dict[str, Any]]:
    """The variables the operator sets, in upstream's order; ``extraEnv`` follows them.

    The same order as upstream's controller, so that taking its pods over changes nothing in
    their environment; the deployment environment and the OTLP endpoint give way to the
    spec's own values of them.
    """
    name, namespace = instance.metadata.name, namespace_of(instance)
    headless = headless_service_name(name)
    env: list[dict[str, Any]] = [
        _field("POD_NAME", "metadata.name"),
        _field("POD_NAMESPACE", "metadata.namespace"),
        {"name": "KURA_PORT", "value": str(HTTP_PORT)},
        {"name": "KURA_GRPC_PORT", "value": str(GRPC_PORT)},
        {"name": "KURA_TENANT_ID", "value": instance.spec.tenant_id},
        {"name": "KURA_REGION", "value": instance.spec.region},
        {"name": "KURA_TMP_DIR", "value": f"{DATA_DIR}/tmp"},
        {"name": "KURA_DATA_DIR", "value": DATA_DIR},
        {
            "name": "KURA_NODE_URL",
            "value": f"https://$(POD_NAME).{headless}.$(POD_NAMESPACE).svc.cluster.local:"
            f"{PEER_PORT}",
        },
        {
            "name": "KURA_DISCOVERY_DNS_NAME",
            "value": f"{headless}.$(POD_NAMESPACE).svc.cluster.local",
        },
        {"name": "KURA_INTERNAL_PORT", "value": str(PEER_PORT)},
        {"name": "KURA_INTERNAL_TLS_CA_CERT_PATH", "value": f"{PEER_TLS_DIR}/{PEER_TLS_CA}"},
        {"name": "KURA_INTERNAL_TLS_CERT_PATH", "value": f"{PEER_TLS_DIR}/{PEER_TLS_CERT}"},
        {"name": "KURA_INTERNAL_TLS_KEY_PATH", "value": f"{PEER_TLS_DIR}/{PEER_TLS_KEY}"},
        {"name": "KURA_DRAIN_COMPLETION_TIMEOUT_MS", "value": str(DRAIN_TIMEOUT_MS)},
        {"name": "KURA_OTEL_SERVICE_NAME", "value": "$(POD_NAME)"},
    ]
    overridden = {entry.name for entry in instance.spec.extra_env or []}
    if ENVIRONMENT_ENV not in overridden:
        env.append({"name": ENVIRONMENT_ENV, "value": deployment_environment})
    if otlp_traces_endpoint and OTLP_TRACES_ENV not in overridden:
        env.append({"name": OTLP_TRACES_ENV, "value": otlp_traces_endpoint})
    if instance.spec.extension_script:
        env += [
            {"name": "KURA_EXTENSION_ENABLED", "value": "true"},
            {"name": "KURA_EXTENSION_SCRIPT_PATH", "value": f"{EXTENSION_DIR}/{EXTENSION_KEY}"},
        ]
    if cross_region_enabled(instance):
        peers = account_peer_service_name(instance.spec.account_handle)
        env.append(
            {"name": "KURA_GLOBAL_DISCOVERY_DNS_NAME", "value": service_dns_name(peers, namespace)}
        )
    return env


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
        "metadata": _metadata(instance, name),
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


# --- the primary pod -----------------------------------------------------------------------------


def pod_ordinal(pod_name: str, instance_name: str) -> int | None:
    prefix = f"{instance_name}-"
    rest = pod_name.removeprefix(prefix)
    if rest == pod_name or not rest.isdigit():
        return None
    return int(rest)


def pod_ready(pod: Mapping[str, Any]) -> bool:
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def current_primary(service: Mapping[str, Any] | None) -> str | None:
    """The pod the live primary Service routes to, read back from its selector."""
    selector = ((service or {}).get("spec") or {}).get("selector") or {}
    value = selector.get(POD_NAME_LABEL)
    return value if isinstance(value, str) and value else None


def choose_primary(
    instance: KuraInstance, current: str | None, pods: Sequence[Mapping[str, Any]]
) -> str:
    """Sticky: the current primary while Ready, else the lowest-ordinal Ready pod.

    Every handoff costs a window of read-after-write inconsistency while replication catches
    up, so a recovered lower ordinal does not take the traffic back. With no Ready pod the
    current primary stays (if it is still one of the set's pods), else ``<inst>-0``.
    """
    name = instance.metadata.name
    ready: dict[str, int] = {}
    for pod in pods:
        pod_name = str((pod.get("metadata") or {}).get("name", ""))
        ordinal = pod_ordinal(pod_name, name)
        if ordinal is not None and ordinal < replicas_of(instance) and pod_ready(pod):
            ready[pod_name] = ordinal
    if current in ready:
        return current
    if ready:
        return min(ready, key=ready.__getitem__)
    ordinal = pod_ordinal(current or "", name)
    if current and ordinal is not None and ordinal < replicas_of(instance):
        return current
    return f"{name}-0"
