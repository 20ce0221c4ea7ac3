"""The real control plane: what it serves, who may do what, and what its controllers do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kura_testing.client import KubeClient, KubeRequestError, wait_for
from kura_testing.control_plane import ControlPlane
from kura_testing.kubelet import run_pods

pytestmark = pytest.mark.e2e


def test_serves_the_pinned_release_with_the_platform_crds(
    kube_admin: KubeClient, kube_namespace: str
) -> None:
    version = kube_admin.request("GET", "/version")
    assert version["gitVersion"] == "v1.36.3"
    for plural in ("kuragateways", "kurainstances", "certificates"):
        assert kube_admin.list(plural, kube_namespace) == []
    assert kube_admin.get("namespaces", None, "kura") is not None


def test_service_account_tokens_are_minted_and_rbac_is_enforced(
    kube_admin: KubeClient, kube_namespace: str
) -> None:
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "reader", "namespace": kube_namespace},
    }
    kube_admin.create(account)
    token = kube_admin.create_token(kube_namespace, "reader")
    with kube_admin.with_token(token) as reader:
        _grant_and_check(kube_admin, reader, kube_namespace)


def _grant_and_check(kube_admin: KubeClient, reader: KubeClient, kube_namespace: str) -> None:
    with pytest.raises(KubeRequestError) as denied:
        reader.list("configmaps", kube_namespace)
    assert denied.value.status == 403
    kube_admin.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "reader", "namespace": kube_namespace},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}],
        },
        field_manager="test",
    )
    kube_admin.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "reader", "namespace": kube_namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": kube_namespace}],
        },
        field_manager="test",
    )
    wait_for(lambda: _can_list(reader, kube_namespace), "the RoleBinding to take effect", 10)


def _can_list(client: KubeClient, namespace: str) -> bool:
    try:
        client.list("configmaps", namespace)
    except KubeRequestError:
        return False
    return True


def _deployment(namespace: str, replicas: int) -> dict[str, Any]:
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    }


def test_controllers_create_pods_and_count_the_ones_the_kubelet_double_reports_ready(
    kube_admin: KubeClient, kube_namespace: str
) -> None:
    kube_admin.apply(_deployment(kube_namespace, 3), field_manager="test")
    run_pods(kube_admin, kube_namespace, "app=web", count=3, ready=2)

    def counted() -> bool:
        status = (kube_admin.get("deployments", kube_namespace, "web") or {}).get("status", {})
        return bool(status.get("readyReplicas") == 2 and status.get("replicas") == 3)

    wait_for(counted, "the Deployment controller to count 2 ready of 3", 30)


def test_the_garbage_collector_deletes_what_an_owner_owned(
    kube_admin: KubeClient, kube_namespace: str
) -> None:
    owner = kube_admin.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "owner", "namespace": kube_namespace},
        }
    )
    kube_admin.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "owned",
                "namespace": kube_namespace,
                "ownerReferences": [
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "name": "owner",
                        "uid": owner["metadata"]["uid"],
                    }
                ],
            },
        }
    )
    kube_admin.delete("configmaps", kube_namespace, "owner")
    wait_for(
        lambda: kube_admin.get("configmaps", kube_namespace, "owned") is None,
        "the garbage collector to delete the owned ConfigMap",
        30,
    )


def test_the_audit_log_records_every_request(
    kube_control_plane: ControlPlane, kube_admin: KubeClient, kube_namespace: str
) -> None:
    assert kube_control_plane.audit_log is not None
    kube_admin.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "x", "namespace": kube_namespace},
        }
    )
    kube_admin.get("configmaps", kube_namespace, "x")

    def entries() -> list[dict[str, Any]]:
        lines = Path(kube_control_plane.audit_log or "").read_text().splitlines()
        return [
            e
            for e in map(json.loads, lines)
            if (e.get("objectRef") or {}).get("namespace") == kube_namespace
            and (e.get("objectRef") or {}).get("resource") == "configmaps"
            and (e.get("objectRef") or {}).get("name") == "x"
        ]

    # The log backend writes each event before the response is sent: no waiting needed.
    assert [e["verb"] for e in entries()] == ["create", "get"]


def test_there_are_cluster_ips_for_more_than_a_few_hundred_services(
    kube_admin: KubeClient, kube_namespace: str
) -> None:
    # Every gateway's LoadBalancer Service takes a ClusterIP: a /24 ran out at 253 gateways.
    for index in range(300):
        kube_admin.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": f"s{index}", "namespace": kube_namespace},
                "spec": {"ports": [{"port": 80}]},
            }
        )
    assert len(kube_admin.list("services", kube_namespace)) == 300
