"""KuraInstance end to end: the real operator process on the real control plane.

Tests play the StatefulSet controller (``Cluster.make_instance_ready``) and the platform chart
(``Cluster.seed_regional_class``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any

from kura_operator.instance_layout import POD_NAME_LABEL
from tests.operator.conftest import REAL
from tests.operator.harness import (
    NAMESPACE,
    Cluster,
    OperatorProcess,
    as_rendered,
    assert_no_public_tls,
    instance_manifest,
)
from tests.provider_hetzner.kube_schemas import assert_valid

pytestmark = REAL

FINALIZER = "kurainstances.kura.tuist.dev/finalizer"
OK = {"kind": "KuraInstance", "result": "ok"}
CHILDREN = (
    "services",
    "statefulsets",
    "ingresses",
    "certificates",
    "secrets",
    "networkpolicies",
    "poddisruptionbudgets",
    "configmaps",
)


def ready_instance(
    cluster: Cluster, account_id: int, handle: str, **spec: Any
) -> tuple[str, dict[str, Any]]:
    manifest = instance_manifest(account_id, handle, **spec)
    name = manifest["metadata"]["name"]
    cluster.create_instance(manifest)
    cluster.make_instance_ready(name)
    cluster.wait_instance_phase(name, "Ready")
    return name, manifest


def owned(cluster: Cluster, name: str) -> dict[str, list[str]]:
    """The names of the objects labelled as the instance's, by resource."""
    found: dict[str, list[str]] = {}
    for resource in CHILDREN:
        for obj in cluster.kube.objects(resource, NAMESPACE):
            labels = obj["metadata"].get("labels") or {}
            if labels.get("app.kubernetes.io/instance") == name:
                found.setdefault(resource, []).append(obj["metadata"]["name"])
    return {resource: sorted(names) for resource, names in found.items()}


def test_create_then_every_child_then_ready(cluster: Cluster) -> None:
    operator = cluster.start_operator()
    cluster.seed_regional_class()
    manifest = instance_manifest(1, "acme")
    name = manifest["metadata"]["name"]
    cluster.create_instance(manifest)

    pending = cluster.wait_instance_phase(name, "Pending")
    assert FINALIZER in pending["metadata"]["finalizers"]
    assert pending["status"]["message"] == (
        "0/3 replicas ready, 0/3 updated, observedGeneration=false, revisionsMatch=false"
    )
    assert owned(cluster, name) == {
        "certificates": [f"{name}-grpc-tls", f"{name}-public-tls"],
        "ingresses": [name, f"{name}-grpc", f"{name}-private"],
        "networkpolicies": [name],
        "poddisruptionbudgets": [name],
        "secrets": [f"{name}-peer-tls"],
        "services": [name, f"{name}-headless"],
        "statefulsets": [name],
    }
    # No cross-region peering by default: no account peer Service.
    assert cluster.kube.get("services", NAMESPACE, "kura-acme-peers") is None

    cluster.make_instance_ready(name)
    ready = cluster.wait_instance_phase(name, "Ready")
    status = ready["status"]
    assert status["message"] == f"3/3 replicas ready on revision {cluster.revision(name)}"
    assert status["readyReplicas"] == 3
    assert status["observedImage"] == manifest["spec"]["image"]
    assert status["publicURL"] == "https://acme-us-east-1.kura.tuist.dev"
    assert status["grpcPublicURL"] == "grpcs://grpc.acme-us-east-1.kura.tuist.dev"
    assert status["observedGeneration"] == ready["metadata"]["generation"]
    (condition,) = status["conditions"]
    assert (condition["type"], condition["status"], condition["observedGeneration"]) == (
        "Ready",
        "True",
        ready["metadata"]["generation"],
    )
    cluster.wait(lambda: len(cluster.events(name)) == 2, "the Pending and Ready events")
    assert [e["reason"] for e in cluster.events(name)] == ["Pending", "Ready"]
    assert 'kura_operator_instances{phase="Ready"} 1.0' in operator.metrics()

    # What the operator wrote is what a real API server accepts.
    for resource in CHILDREN:
        for obj in cluster.kube.objects(resource, NAMESPACE):
            if obj["metadata"].get("labels", {}).get("app.kubernetes.io/instance") == name:
                obj["metadata"].pop("managedFields", None)
                assert_valid(obj)


def test_the_pods_get_no_public_tls(cluster: Cluster) -> None:
    cluster.start_operator()
    cluster.seed_regional_class()
    manifest = instance_manifest(2, "nopublic")
    name = manifest["metadata"]["name"]
    cluster.create_instance(manifest)
    cluster.wait(lambda: cluster.kube.get("statefulsets", NAMESPACE, name) is not None, "the pods")
    stateful_set = cluster.kube.get("statefulsets", NAMESPACE, name)
    assert stateful_set is not None
    template = stateful_set["spec"]["template"]
    assert_no_public_tls(template)
    (kura,) = template["spec"]["containers"]
    env = {entry["name"]: entry.get("value") for entry in kura["env"]}
    assert "KURA_CONTROL_PLANE_CLIENT_SECRET" not in env
    assert kura["envFrom"] == [{"secretRef": {"name": "kura-shared-secrets", "optional": True}}]
    assert [p["name"] for p in kura["ports"]] == ["http", "grpc", "peer"]
    mounts = {m["name"]: m for m in kura["volumeMounts"]}
    assert mounts["peer-tls"] == {
        "name": "peer-tls",
        "mountPath": "/etc/kura/peer-tls",
        "readOnly": True,
    }


def test_resync_of_an_unchanged_ready_instance_writes_nothing(cluster: Cluster) -> None:
    operator = cluster.start_operator("--resync", "0.3")
    cluster.seed_regional_class()
    name, _ = ready_instance(cluster, 3, "quiet")
    cluster.wait(lambda: len(cluster.events(name)) == 2, "phase events")

    cluster.kube.clear_requests()
    reconciled = operator.metric("kura_operator_reconciles_total", **OK)
    cluster.wait(
        lambda: operator.metric("kura_operator_reconciles_total", **OK) >= reconciled + 3,
        "three resyncs",
    )
    assert cluster.kube.writes() == []
    # What the operator watches comes from its cache; only the Secrets and Certificates it does
    # not watch are read.
    reads = {r.resource for r in cluster.kube.requests if r.resource and r.verb != "watch"}
    assert reads <= {"secrets", "certificates"}


def test_legacy_services_are_removed_and_absent_ones_cost_nothing(cluster: Cluster) -> None:
    manifest = instance_manifest(4, "legacy")
    name = manifest["metadata"]["name"]
    lb = {"type": "LoadBalancer", "ports": [{"name": "grpc", "port": 443}]}

    def service(service_name: str, manager: str, owner: Mapping[str, Any]) -> dict[str, Any]:
        labels = {"app.kubernetes.io/managed-by": manager, "app.kubernetes.io/name": "kura"}
        reference = {
            "apiVersion": "kura.tuist.dev/v1alpha1",
            "kind": "KuraInstance",
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
            "controller": True,
        }
        metadata = {"name": service_name, "namespace": NAMESPACE, "labels": labels}
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {**metadata, "ownerReferences": [reference]},
            "spec": lb,
        }

    created = cluster.create_instance(manifest)
    other = instance_manifest(5, "keep")
    other_name = other["metadata"]["name"]
    other_created = cluster.create_instance(other)
    # The old per-customer LB of this instance, and a Service of the same shape that is not ours.
    cluster.kube.put_object(service(f"{name}-grpc", "kura-controller", created))
    cluster.kube.put_object(service(f"{other_name}-peer", "someone-else", other_created))
    cluster.seed_regional_class()
    cluster.start_operator()
    cluster.make_instance_ready(name)
    cluster.make_instance_ready(other_name)
    cluster.wait_instance_phase(name, "Ready")
    cluster.wait_instance_phase(other_name, "Ready")

    assert cluster.kube.get("services", NAMESPACE, f"{name}-grpc") is None
    assert cluster.kube.get("services", NAMESPACE, f"{other_name}-peer") is not None
    deletes = cluster.kube.requests_matching(verb="delete", resource="services")
    assert [(r.name, r.status) for r in deletes] == [(f"{name}-grpc", 200)]
    # Every reconcile looks the legacy names up in the cache: an absent one costs no request.
    assert cluster.kube.requests_matching(verb="get", resource="services") == []


def test_an_instance_named_like_anothers_legacy_service_keeps_its_services(
    cluster: Cluster,
) -> None:
    first = instance_manifest(6, "pair")
    name = first["metadata"]["name"]
    # Hand-named: its primary Service `<name>-grpc` is kura's and labelled so, but not first's.
    second = instance_manifest(7, "pair2")
    second["metadata"]["name"] = f"{name}-grpc"
    second["metadata"]["labels"]["app.kubernetes.io/instance"] = f"{name}-grpc"
    cluster.seed_regional_class()
    operator = cluster.start_operator("--resync", "0.3")
    cluster.create_instance(first)
    cluster.create_instance(second)
    for instance in (name, f"{name}-grpc"):
        cluster.make_instance_ready(instance)
        cluster.wait_instance_phase(instance, "Ready")
    cluster.kube.clear_requests()
    reconciled = operator.metric("kura_operator_reconciles_total", **OK)
    cluster.wait(
        lambda: operator.metric("kura_operator_reconciles_total", **OK) >= reconciled + 6,
        "three resyncs of both instances",
    )
    assert cluster.kube.requests_matching(verb="delete", resource="services") == []
    assert cluster.kube.get("services", NAMESPACE, f"{name}-grpc") is not None


def test_the_account_peer_service_outlives_one_instance_then_goes_with_the_last(
    cluster: Cluster,
) -> None:
    cluster.start_operator()
    secret = "kura-acme-peer-tls"
    cluster.kube.put_object(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": secret, "namespace": NAMESPACE},
            "type": "Opaque",
            "data": {"ca.pem": "", "tls.crt": "", "tls.key": ""},
        }
    )
    for region in ("us-east", "us-west"):
        cluster.seed_regional_class(region)
    east = instance_manifest(6, "acme", region="us-east", peerTLSSecretName=secret)
    west = instance_manifest(6, "acme", region="us-west", peerTLSSecretName=secret)
    for manifest in (east, west):
        cluster.create_instance(manifest)
        cluster.make_instance_ready(manifest["metadata"]["name"])
        cluster.wait_instance_phase(manifest["metadata"]["name"], "Ready")
    peers = cluster.kube.get("services", NAMESPACE, "kura-acme-peers")
    assert peers is not None
    assert "ownerReferences" not in peers["metadata"]
    assert peers["spec"]["selector"] == {
        "app.kubernetes.io/name": "kura",
        "tuist.dev/account": "acme",
    }
    stateful_set = cluster.kube.get("statefulsets", NAMESPACE, east["metadata"]["name"])
    assert stateful_set is not None
    (kura,) = stateful_set["spec"]["template"]["spec"]["containers"]
    env = {entry["name"]: entry.get("value") for entry in kura["env"]}
    namespace = cluster.operator_namespace
    assert env["KURA_GLOBAL_DISCOVERY_DNS_NAME"] == f"kura-acme-peers.{namespace}.svc.cluster.local"
    # An external peer Secret: the operator generates none.
    assert cluster.kube.get("secrets", NAMESPACE, f"{east['metadata']['name']}-peer-tls") is None

    # Deleted by hand, it is back: it belongs to no instance, but to the account's instances.
    cluster.kube.delete("services", NAMESPACE, "kura-acme-peers")
    cluster.wait(
        lambda: cluster.kube.get("services", NAMESPACE, "kura-acme-peers") is not None,
        "the account peer Service to come back",
    )

    cluster.delete_instance(east["metadata"]["name"])
    cluster.wait(lambda: cluster.instance(east["metadata"]["name"]) is None, "us-east to go")
    assert cluster.kube.get("services", NAMESPACE, "kura-acme-peers") is not None

    cluster.delete_instance(west["metadata"]["name"])
    cluster.wait(lambda: cluster.instance(west["metadata"]["name"]) is None, "us-west to go")
    assert cluster.kube.get("services", NAMESPACE, "kura-acme-peers") is None
    deletes = cluster.kube.requests_matching(verb="delete", resource="services")
    assert [r.name for r in deletes] == ["kura-acme-peers"]


def reconciled(cluster: Cluster, operator: OperatorProcess, change: Callable[[], object]) -> None:
    """Make ``change`` and wait for the reconcile it causes to finish."""
    before = operator.metric("kura_operator_reconciles_total", **OK)
    change()
    cluster.wait(
        lambda: operator.metric("kura_operator_reconciles_total", **OK) > before, "a reconcile"
    )


def test_a_revision_bump_re_applies_every_child(cluster: Cluster) -> None:
    operator = cluster.start_operator()
    cluster.seed_regional_class()
    name, manifest = ready_instance(cluster, 7, "bump")
    cluster.kube.clear_requests()

    revision = "2026-06-01-umbrella-cluster"
    cluster.patch_instance(
        name, {"metadata": {"annotations": {"tuist.dev/kura-manifest-revision": revision}}}
    )
    cluster.wait(
        lambda: (
            (cluster.instance(name) or {}).get("status", {}).get("appliedManifestRevision")
            == revision
        ),
        "the new revision to be applied",
    )
    applied = {
        (r.resource, r.name)
        for r in cluster.kube.requests_matching(method="PATCH")
        if r.content_type == "application/apply-patch+yaml"
    }
    assert applied == {
        ("services", name),
        ("services", f"{name}-headless"),
        ("ingresses", name),
        ("ingresses", f"{name}-grpc"),
        ("ingresses", f"{name}-private"),
        ("certificates", f"{name}-public-tls"),
        ("certificates", f"{name}-grpc-tls"),
        ("networkpolicies", name),
        ("poddisruptionbudgets", name),
        ("statefulsets", name),
    }
    # Once applied, the same revision costs nothing more.
    instance = cluster.instance(name)
    assert instance is not None
    assert instance["status"]["phase"] == "Ready"
    cluster.kube.clear_requests()
    reconciled(
        cluster,
        operator,
        lambda: cluster.patch_instance(name, {"metadata": {"labels": {"example.com/x": "y"}}}),
    )
    assert [w for w in cluster.kube.writes() if w.resource != "kurainstances"] == []
    assert manifest["spec"]["image"] == instance["status"]["observedImage"]


def test_the_primary_pod_is_sticky_and_hands_over_when_not_ready(cluster: Cluster) -> None:
    operator = cluster.start_operator()
    cluster.seed_regional_class()
    name, _ = ready_instance(cluster, 8, "primary")

    def primary() -> str | None:
        service = cluster.kube.get("services", NAMESPACE, name) or {}
        selector = (service.get("spec") or {}).get("selector") or {}
        pod = selector.get("statefulset.kubernetes.io/pod-name")
        return str(pod) if pod else None

    def set_ready(ordinal: int, ready: bool) -> None:
        cluster.kube.patch_status(
            "pods",
            NAMESPACE,
            f"{name}-{ordinal}",
            {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
        )

    cluster.wait(lambda: primary() == f"{name}-0", "pod 0 to be the primary")
    set_ready(0, False)
    cluster.wait(lambda: primary() == f"{name}-1", "the hand-over to pod 1")
    reconciled(cluster, operator, lambda: set_ready(0, True))
    assert primary() == f"{name}-1"  # a recovered lower ordinal does not take it back


def test_a_spec_change_prunes_routes_no_longer_rendered(cluster: Cluster) -> None:
    cluster.start_operator()
    cluster.seed_regional_class()
    name, _ = ready_instance(cluster, 9, "prune")
    cluster.patch_instance(name, {"spec": {"grpcPublicHost": None, "replicas": 1}})
    cluster.wait(
        lambda: (
            cluster.kube.get("ingresses", NAMESPACE, f"{name}-grpc") is None
            and cluster.kube.get("certificates", NAMESPACE, f"{name}-grpc-tls") is None
            and cluster.kube.get("poddisruptionbudgets", NAMESPACE, name) is None
            and (cluster.kube.get("statefulsets", NAMESPACE, name) or {})["spec"]["replicas"] == 1
        ),
        "the gRPC route and the budget to go, and one replica",
    )
    assert cluster.kube.get("ingresses", NAMESPACE, name) is not None
    assert cluster.kube.get("certificates", NAMESPACE, f"{name}-public-tls") is not None
    cluster.make_instance_ready(name)

    def current() -> dict[str, Any]:
        instance = cluster.instance(name) or {"metadata": {}}
        status = instance.get("status") or {}
        fresh = status.get("observedGeneration") == instance["metadata"].get("generation")
        return status if fresh and status.get("phase") == "Ready" else {}

    # Ready comes while the StatefulSet controller is still removing the two pods the old spec
    # had ("3/1 replicas ready"); the message settles once they are gone.
    cluster.wait(
        lambda: current().get("message", "").startswith("1/1 replicas ready"),
        "Ready for the new spec, with one replica",
    )
    assert "grpcPublicURL" not in current()


def test_the_peer_tls_secret_is_made_once_kept_and_regenerated_when_unusable(
    cluster: Cluster,
) -> None:
    operator = cluster.start_operator("--resync", "0.3")
    cluster.seed_regional_class()
    name, _ = ready_instance(cluster, 10, "tls")
    secret_name = f"{name}-peer-tls"
    secret = cluster.kube.get("secrets", NAMESPACE, secret_name)
    assert secret is not None
    assert secret["type"] == "Opaque"
    assert sorted(secret["data"]) == ["ca.pem", "tls.crt", "tls.key"]
    creates = cluster.kube.requests_matching(verb="create", resource="secrets")
    assert len(creates) == 1
    cluster.wait(lambda: operator.metric("kura_operator_reconciles_total", **OK) >= 6, "resyncs")
    kept = cluster.kube.get("secrets", NAMESPACE, secret_name)
    assert kept is not None
    assert kept["metadata"]["resourceVersion"] == secret["metadata"]["resourceVersion"]

    # Someone breaks it: the next reconcile replaces the material.
    broken = {**secret["data"], "tls.key": base64.b64encode(b"not a key").decode()}
    cluster.kube.put_object({**secret, "data": broken})
    cluster.wait(
        lambda: (
            (cluster.kube.get("secrets", NAMESPACE, secret_name) or {}).get("data", {})["tls.key"]
            not in (broken["tls.key"], secret["data"]["tls.key"])
        ),
        "the material to be regenerated",
    )
    log = operator.log_path.read_text()
    secret_ref = f"{cluster.operator_namespace}/{secret_name}"
    assert f"regenerating Secret {secret_ref}: tls.key is not an unencrypted PEM" in log
    # No key material ever reaches the log: not the Secret's data, not a line of a PEM body.
    regenerated = cluster.kube.get("secrets", NAMESPACE, secret_name)
    assert regenerated is not None
    for data in (secret["data"], regenerated["data"]):
        for value in data.values():
            assert value[:40] not in log
            pem = base64.b64decode(value).decode()
            body = [line for line in pem.splitlines() if line and not line.startswith("-----")]
            assert all(line not in log for line in body)
    assert "PRIVATE KEY" not in log


def test_deletion_leaves_nothing_behind(cluster: Cluster) -> None:
    cluster.start_operator()
    cluster.seed_regional_class()
    name, _ = ready_instance(cluster, 11, "gone")
    cluster.delete_instance(name)
    cluster.wait(lambda: cluster.instance(name) is None, "the instance to go")
    # Owned children go through the garbage collector: eventually, not at once.
    cluster.kube.wait_until(lambda: owned(cluster, name) == {}, 30)
    assert owned(cluster, name) == {}
    assert cluster.kube.requests_matching(verb="delete", resource="services") == []


def test_a_child_deleted_by_hand_is_restored(cluster: Cluster) -> None:
    cluster.start_operator()
    cluster.seed_regional_class()
    name, _ = ready_instance(cluster, 12, "restore")
    for resource, child in (("statefulsets", name), ("ingresses", name), ("services", name)):
        before = cluster.kube.get(resource, NAMESPACE, child)
        assert before is not None
        cluster.kube.delete(resource, NAMESPACE, child)

        def recreated(
            resource: str = resource, child: str = child, uid: str = before["metadata"]["uid"]
        ) -> bool:
            again = cluster.kube.get(resource, NAMESPACE, child)
            return again is not None and again["metadata"]["uid"] != uid

        cluster.wait(recreated, f"{resource} {child} to come back")
        restored = cluster.kube.get(resource, NAMESPACE, child)
        assert restored is not None
        spec, wanted = as_rendered(restored["spec"]), as_rendered(before["spec"])
        assert spec is not None
        assert wanted is not None
        if resource == "services":
            # The primary is sticky, not fixed: while the StatefulSet was gone its pods went
            # one by one, and the primary may have moved to another of them.
            primary = spec["selector"].pop(POD_NAME_LABEL)
            assert primary in {f"{name}-{ordinal}" for ordinal in range(3)}
            wanted["selector"].pop(POD_NAME_LABEL)
        assert spec == wanted


def test_the_extension_script_reaches_the_pods(cluster: Cluster) -> None:
    cluster.start_operator()
    cluster.seed_regional_class()
    script = "function authenticate(ctx)\n  return nil\nend\n"
    name, _ = ready_instance(cluster, 13, "hooks", extensionScript=script)
    config_map = cluster.kube.get("configmaps", NAMESPACE, f"{name}-extension")
    assert config_map is not None
    assert config_map["data"] == {"hooks.lua": script}
    stateful_set = cluster.kube.get("statefulsets", NAMESPACE, name)
    assert stateful_set is not None
    (kura,) = stateful_set["spec"]["template"]["spec"]["containers"]
    env = {entry["name"]: entry.get("value") for entry in kura["env"]}
    assert env["KURA_EXTENSION_SCRIPT_PATH"] == "/etc/kura/extensions/hooks.lua"


def test_dry_run_logs_the_changes_and_writes_nothing(cluster: Cluster) -> None:
    cluster.seed_regional_class()
    manifest = instance_manifest(14, "dry")
    name = manifest["metadata"]["name"]
    cluster.create_instance(manifest)
    cluster.kube.clear_requests()

    operator = cluster.start_operator("--dry-run")
    cluster.wait(
        lambda: operator.metric("kura_operator_reconciles_total", **OK) >= 1, "a reconcile"
    )
    assert cluster.kube.writes() == []
    instance = cluster.instance(name)
    assert instance is not None
    assert "status" not in instance
    messages = [r["message"] for r in operator.logs()]
    for intended in (
        f"dry run: would patch metadata of KuraInstance {cluster.operator_namespace}/{name}",
        f"dry run: would apply Service {cluster.operator_namespace}/{name}-headless",
        f"dry run: would apply Ingress {cluster.operator_namespace}/{name}",
        f"dry run: would create Secret {cluster.operator_namespace}/{name}-peer-tls",
        f"dry run: would apply StatefulSet {cluster.operator_namespace}/{name}",
        f"dry run: would set status of KuraInstance {cluster.operator_namespace}/{name}",
    ):
        assert intended in messages
    assert "PRIVATE KEY" not in operator.log_path.read_text()
