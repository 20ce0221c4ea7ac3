"""The Kura pods' environment: what the operator sets, in upstream's order, and ``extraEnv``.

Pods speak plain HTTP and gRPC in the cluster, because public TLS ends at the gateway; only the
peer port speaks mTLS. So the pods never get ``KURA_PUBLIC_TLS_*``, ``KURA_GRPC_TLS_*`` or
``KURA_HTTPS_PORT``, and the control-plane client secret reaches them only through ``envFrom``
of the optional Secret ``kura-shared-secrets``, never through the spec.
"""

from __future__ import annotations

from typing import Any

from kura_core import EnvVar, KuraInstance
from kura_operator.instance_layout import (
    DATA_DIR,
    DRAIN_TIMEOUT_MS,
    EXTENSION_DIR,
    EXTENSION_KEY,
    GRPC_PORT,
    HTTP_PORT,
    PEER_PORT,
    PEER_TLS_CA,
    PEER_TLS_CERT,
    PEER_TLS_DIR,
    PEER_TLS_KEY,
    SHARED_SECRETS,
    account_peer_service_name,
    cross_region_enabled,
    headless_service_name,
    namespace_of,
    service_dns_name,
)

ENVIRONMENT_ENV = "KURA_OTEL_DEPLOYMENT_ENVIRONMENT"
OTLP_TRACES_ENV = "KURA_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
LEGACY_CLIENT_ENV_PREFIXES = ("KURA_EXTENSION_TUIST_INTROSPECT_", "TUIST_KURA_INTROSPECTION_")
LEGACY_CLIENT_ID_ENVS = tuple(f"{prefix}CLIENT_ID" for prefix in LEGACY_CLIENT_ENV_PREFIXES)
CLIENT_ID_ENV = "KURA_CONTROL_PLANE_CLIENT_ID"
CLIENT_SECRET_ENV = "KURA_CONTROL_PLANE_CLIENT_SECRET"


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


def env_problems(instance: KuraInstance) -> list[str]:
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
