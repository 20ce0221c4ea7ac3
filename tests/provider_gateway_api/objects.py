"""KuraGateway and KuraInstance objects as `kura render` gives them, for the tests."""

from __future__ import annotations

from typing import Any

from kura_core import KuraGateway, KuraInstance, parse_gateway, parse_instance

GATEWAY = "kgw-f1c932ba8c43-eu-central"
DEDICATED_CLASS = f"kura-eu-central-{GATEWAY}"


def gateway(*, uid: str | None = None, annotations: dict[str, str] | None = None) -> KuraGateway:
    metadata: dict[str, Any] = {"name": GATEWAY, "namespace": "kura", "generation": 3}
    if uid:
        metadata["uid"] = uid
    return parse_gateway(
        {
            "apiVersion": "kura.tuist.dev/v1alpha1",
            "kind": "KuraGateway",
            "metadata": metadata,
            "spec": {
                "region": "eu-central",
                "ingressClassName": DEDICATED_CLASS,
                "replicas": 3,
                "nodeSelector": {"node.cluster.x-k8s.io/pool": "kura"},
                "loadBalancerAnnotations": annotations or {},
            },
        }
    )


def instance(
    *,
    dedicated: bool,
    namespace: str = "kura",
    uid: str | None = None,
    grpc: bool = True,
    public: bool = True,
) -> KuraInstance:
    metadata: dict[str, Any] = {"name": "kura-acme-eu-central-1", "namespace": namespace}
    if dedicated:
        metadata["annotations"] = {"tuist.dev/kura-gateway": GATEWAY}
    if uid:
        metadata["uid"] = uid
    spec: dict[str, Any] = {
        "accountHandle": "acme",
        "tenantID": "acme",
        "region": "eu-central",
        "image": "ghcr.io/tuist/kura:latest",
        "ingressClassName": DEDICATED_CLASS if dedicated else "kura-eu-central",
    }
    if public:
        spec["publicHost"] = "acme-eu-central-1.kura.tuist.dev"
    if grpc:
        spec["grpcPublicHost"] = "grpc.acme-eu-central-1.kura.tuist.dev"
    return parse_instance(
        {
            "apiVersion": "kura.tuist.dev/v1alpha1",
            "kind": "KuraInstance",
            "metadata": metadata,
            "spec": spec,
        }
    )


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]
