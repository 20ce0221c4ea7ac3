"""The fixed layout of a KuraInstance's children: names, labels, ports and paths.

Names, labels, ports and paths are upstream's (docs/upstream.md): a primary Service ``<inst>``
pinned to one pod, a headless Service ``<inst>-headless``, the StatefulSet ``<inst>`` with its
PodDisruptionBudget and NetworkPolicy, an extension ConfigMap ``<inst>-extension`` when the spec
has a script, and the account peer Service ``kura-<account>-peers``. Every child but that last
one is owned by its instance and garbage-collected with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kura_core import (
    ACCOUNT_LABEL,
    API_VERSION,
    DEFAULT_INSTANCE_REPLICAS,
    INSTANCE_KIND,
    NAMESPACE,
    REGION_LABEL,
    KuraInstance,
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
EXTENSION_KEY = "hooks.lua"
EXTENSION_DIR = "/etc/kura/extensions"
PEER_TLS_DIR = "/etc/kura/peer-tls"
PEER_TLS_CA, PEER_TLS_CERT, PEER_TLS_KEY = "ca.pem", "tls.crt", "tls.key"
DATA_DIR = "/var/cache/kura"
DATA_CLAIM = "data"

# preStop asks Kura to drain, and Kura has this long to finish its transfers (upstream §3.5).
DRAIN_TIMEOUT_MS = 240_000


def namespace_of(instance: KuraInstance) -> str:
    return instance.metadata.namespace or NAMESPACE


def replicas_of(instance: KuraInstance) -> int:
    return instance.spec.replicas or DEFAULT_INSTANCE_REPLICAS


def cross_region_enabled(instance: KuraInstance) -> bool:
    """Peering across regions needs a shared trust root: an externally managed peer Secret.

    Peers in other regions can verify each other only through a trust root they share, and a
    shared, externally managed Secret is what provides one; the per-instance CA the operator
    generates otherwise is known to that instance alone.
    """
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


def child_metadata(instance: KuraInstance, name: str, **extra: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace_of(instance),
        "labels": instance_labels(instance),
        **extra,
    }
    if owners := owner_references(instance):
        metadata["ownerReferences"] = owners
    return metadata
