"""Least privilege, both ways: the deploy base grants the operator what it requests, and no more.

The real ``kura-operator`` process, started with the deploy base's own args (leader election on),
runs a
whole KuraGateway and KuraInstance lifecycle on the real control plane, as the ``kura-operator``
ServiceAccount bound to the deploy base's Roles and ClusterRoles: a permission the base lacks is a
real 403, and none may happen. The API server's audit log records every request; the operator's
are those of its ServiceAccount. Each becomes a permission (verb, group, resource[/subresource],
where, object name); every rule the deploy base holds must have been used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from kura_core.providers import DEFAULT_GATEWAY_SERVICE_ACCOUNT
from kura_operator import access as access_scope
from kura_operator.settings import LEADER_ELECTION_ID
from kura_testing.client import Resource
from kura_testing.kube_double import APPLY, RequestRecord
from tests.operator.deploy_base import NAMESPACE, OPERATOR_ACCOUNT, find, render
from tests.operator.harness import Cluster, gateway_manifest, instance_manifest
from tests.operator.real_cluster import RealCluster

CLUSTER = "*cluster*"  # the scope of a ClusterRoleBinding, and of requests with no namespace
READ = frozenset({"get", "list", "watch"})
GATEWAY_CLUSTER_READS = {("", "nodes"), ("", "namespaces"), ("networking.k8s.io", "ingressclasses")}


@dataclass(frozen=True)
class Permission:
    """One authorization check; ``name`` None is any object (a rule without resourceNames)."""

    scope: str  # a namespace, or CLUSTER
    verb: str
    group: str
    resource: str  # plural, or plural/subresource
    name: str | None = None

    def __str__(self) -> str:
        where = "cluster-wide" if self.scope == CLUSTER else f"in {self.scope}"
        named = f" {self.name}" if self.name else ""
        return f"{self.verb} {self.group or 'core'}/{self.resource}{named} {where}"


def grants(objects: list[dict[str, Any]], account: str) -> set[Permission]:
    """What the Roles and ClusterRoles bound to ServiceAccount ``account`` (in kura) allow."""
    subject = {"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}
    granted: set[Permission] = set()
    for binding in objects:
        if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if subject not in binding.get("subjects", []):
            continue
        ref = binding["roleRef"]
        role = find(objects, ref["kind"], ref["name"])
        # A RoleBinding grants within its namespace, even when it refers to a ClusterRole.
        scope = binding["metadata"]["namespace"] if binding["kind"] == "RoleBinding" else CLUSTER
        granted.update(expand(role["rules"], scope))
    return granted


def expand(rules: Iterable[dict[str, Any]], scope: str) -> Iterator[Permission]:
    for rule in rules:
        assert "nonResourceURLs" not in rule, "no non-resource rules: discovery is public"
        values = [*rule["apiGroups"], *rule["resources"], *rule["verbs"]]
        assert "*" not in values, f"no wildcards: {rule}"
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    for name in rule.get("resourceNames") or [None]:
                        yield Permission(scope, verb, group, resource, name)


def needs(record: RequestRecord, resolve: Callable[[str, str], Resource]) -> Iterator[Permission]:
    """The checks the API server makes for one request of the audit log.

    Besides the request's own verb, two checks it makes that the audit log does not name:
    * server-side apply that creates its object is authorized as ``create`` as well;
    * an owner reference with ``blockOwnerDeletion`` needs ``update`` on the owner's
      ``finalizers`` (admission plugin OwnerReferencesPermissionEnforcement).
    """
    assert record.resource is not None
    assert record.group is not None
    scope = record.namespace or CLUSTER
    resource = f"{record.resource}/{record.subresource}" if record.subresource else record.resource
    yield Permission(scope, record.verb, record.group, resource, record.name)
    if record.verb == "patch" and record.content_type == APPLY and record.status == 201:
        yield Permission(scope, "create", record.group, resource, record.name)
    body = record.body if isinstance(record.body, dict) else {}
    for ref in (body.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("blockOwnerDeletion"):
            owner = resolve(ref["apiVersion"], ref["kind"])
            group = owner.group_version.rpartition("/")[0]
            yield Permission(scope, "update", group, f"{owner.plural}/finalizers", ref["name"])


def grants_it(grant: Permission, need: Permission) -> bool:
    return (
        (grant.verb, grant.group, grant.resource) == (need.verb, need.group, need.resource)
        and grant.scope in (need.scope, CLUSTER)
        and grant.name in (None, need.name)
    )


def used_by(grant: Permission, need: Permission) -> bool:
    # Exact scope: a cluster-wide grant that only namespaced requests used is broader than needed.
    return grants_it(grant, need) and grant.scope == need.scope


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return render()


def run_instance_lifecycle(cluster: Cluster) -> None:
    """Create → Ready → legacy Services removed → peer TLS repaired → a spec change that drops a
    route, scales to one replica and turns cross-region peering on → delete."""
    kube = cluster.kube
    cluster.seed_regional_class()
    manifest = instance_manifest(44, "rbac", extensionScript="-- hooks\n")
    name = manifest["metadata"]["name"]
    peers = "kura-rbac-peers"
    created = kube.put_object(manifest)
    # Upstream's old per-customer LB Service of this instance: owned by it, made by kura.
    owner = {
        "apiVersion": "kura.tuist.dev/v1alpha1",
        "kind": "KuraInstance",
        "name": name,
        "uid": created["metadata"]["uid"],
    }
    kube.put_object(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": f"{name}-grpc",
                "namespace": NAMESPACE,
                "labels": {"app.kubernetes.io/managed-by": "kura-controller"},
                "ownerReferences": [owner],
            },
            "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]},
        }
    )
    cluster.make_instance_ready(name)
    cluster.wait_instance_phase(name, "Ready")
    assert kube.get("services", NAMESPACE, f"{name}-grpc") is None

    secret = kube.get("secrets", NAMESPACE, f"{name}-peer-tls")
    assert secret is not None
    kube.put_object({**secret, "data": {**secret["data"], "tls.key": ""}})
    cluster.patch_instance(name, {"metadata": {"labels": {"example.com/touched": "yes"}}})
    cluster.wait(
        lambda: (kube.get("secrets", NAMESPACE, f"{name}-peer-tls") or {})["data"]["tls.key"] != "",
        "the peer TLS Secret to be repaired",
    )

    kube.put_object(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "kura-rbac-peer-tls", "namespace": NAMESPACE},
            "type": "Opaque",
        }
    )
    cluster.patch_instance(
        name,
        {
            "spec": {
                "grpcPublicHost": None,
                "replicas": 1,
                "peerTLSSecretName": "kura-rbac-peer-tls",
            }
        },
    )
    cluster.wait(
        lambda: (
            kube.get("ingresses", NAMESPACE, f"{name}-grpc") is None
            and kube.get("certificates", NAMESPACE, f"{name}-grpc-tls") is None
            and kube.get("poddisruptionbudgets", NAMESPACE, name) is None
            and kube.get("services", NAMESPACE, peers) is not None
            and (kube.get("statefulsets", NAMESPACE, name) or {})["spec"]["replicas"] == 1
        ),
        "the spec change",
    )
    cluster.make_instance_ready(name)
    cluster.wait_instance_phase(name, "Ready")

    kube.delete("kurainstances", NAMESPACE, name)
    cluster.wait(
        lambda: cluster.instance(name) is None and kube.get("services", NAMESPACE, peers) is None,
        "the instance and its account's peer Service to go",
    )


def run_lifecycle(cluster: Cluster, rendered: list[dict[str, Any]]) -> None:
    """A gateway: create → Ready → replicas and class rename → a child deleted by hand → delete;
    then an instance's lifecycle."""
    kube = cluster.kube
    # No Lease yet: the operator creates it, with the deploy base's permission.
    deployment = find(rendered, "Deployment", OPERATOR_ACCOUNT)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    # The deploy base's args, in the test's namespace.
    args = [cluster.operator_namespace if a == NAMESPACE else a for a in container["args"]]
    operator = cluster.start_operator(*args, standalone=False)

    manifest = gateway_manifest(42, replicas=2)
    name = manifest["metadata"]["name"]
    workload = f"{name}-controller"
    old_class = manifest["spec"]["ingressClassName"]
    kube.put_object(manifest)
    cluster.make_ready(name)
    cluster.wait_phase(name, "Ready")
    lease = kube.get("leases", NAMESPACE, LEADER_ELECTION_ID) or {}
    assert (lease.get("spec") or {}).get("holderIdentity"), "the operator never held the Lease"
    # The gateway pods run as the ingress-nginx account this deploy base defines.
    gateway_pods = (kube.get("deployments", NAMESPACE, workload) or {})["spec"]["template"]
    account = find(rendered, "ServiceAccount", gateway_pods["spec"]["serviceAccountName"])
    assert account["metadata"]["name"] == DEFAULT_GATEWAY_SERVICE_ACCOUNT

    new_class = f"{old_class}-b"
    cluster.patch_gateway(name, {"spec": {"replicas": 3, "ingressClassName": new_class}})
    cluster.wait(
        lambda: (
            (kube.get("deployments", NAMESPACE, workload) or {}).get("spec", {}).get("replicas")
            == 3
            and kube.get("ingressclasses", None, old_class) is None
            and kube.get("ingressclasses", None, new_class) is not None
        ),
        "the new replicas and class",
    )
    cluster.make_ready(name)
    cluster.wait_phase(name, "Ready")

    kube.delete("configmaps", NAMESPACE, workload)
    cluster.wait(lambda: kube.get("configmaps", NAMESPACE, workload) is not None, "the ConfigMap")

    kube.delete("kuragateways", NAMESPACE, name)
    cluster.wait(lambda: cluster.gateway(name) is None, "the gateway to go")
    assert kube.objects("ingressclasses") == []

    run_instance_lifecycle(cluster)
    # On a clean stop the operator releases the Lease (one more read and update).
    assert operator.stop() == 0
    released = (kube.get("leases", NAMESPACE, LEADER_ELECTION_ID) or {})["spec"]
    assert (released["holderIdentity"], released["leaseDurationSeconds"]) == ("", 1)
    # No 403 fallbacks, no lease conflicts: nothing above info.
    noisy = [line for line in operator.logs() if line.get("severity") not in ("debug", "info")]
    assert noisy == []


@pytest.mark.e2e
@pytest.mark.real
def test_the_operator_gets_exactly_the_permissions_it_uses(
    cluster: Cluster, rendered: list[dict[str, Any]]
) -> None:
    assert isinstance(cluster, RealCluster)
    run_lifecycle(cluster, rendered)
    # Non-resource requests (/api, /apis, /version: discovery) and the self-check's rules review
    # are open to every authenticated user (system:discovery, system:public-info-viewer and
    # system:basic-user).
    requests = [
        r
        for r in cluster.real.requests
        if r.resource is not None and r.group != "authorization.k8s.io"
    ]
    assert [str(r) for r in requests if r.status == 403] == [], "the API server refused"
    # The audit log's records name the test's namespace ``kura``, as the deploy base does.
    required = {need for record in requests for need in needs(record, cluster.real.client.resource)}
    granted = grants(rendered, OPERATOR_ACCOUNT)

    missing = sorted(str(n) for n in required if not any(grants_it(g, n) for g in granted))
    unused = sorted(str(g) for g in granted if not any(used_by(g, n) for n in required))
    assert missing == [], "requested but not granted"
    assert unused == [], "granted but never requested"
    # The Lease and the cluster-scoped class were really exercised.
    assert {(p.verb, p.resource) for p in required if p.group == "coordination.k8s.io"} == {
        ("get", "leases"),
        ("create", "leases"),
        ("update", "leases"),
    }
    assert {p.resource for p in required if p.scope == CLUSTER} == {"ingressclasses"}
    # What the operator watches it reads from its cache: no GET of any of it.
    watched = {(p.group, p.resource) for p in required if p.verb == "watch"}
    assert {(p.group, p.resource) for p in required if p.verb == "get"} & watched == set()


def test_the_self_checks_table_is_what_the_deploy_base_grants(
    rendered: list[dict[str, Any]],
) -> None:
    # The operator asks the API server for exactly these at start; the deploy base grants them.
    table = {
        Permission(
            CLUSTER if access.scope == access_scope.CLUSTER else NAMESPACE,
            access.verb,
            access.group,
            access.resource,
            access.name,
        )
        for access in access_scope.required(LEADER_ELECTION_ID)
    }
    assert table == grants(rendered, OPERATOR_ACCOUNT)


def test_missing_and_unused_permissions_are_both_found(rendered: list[dict[str, Any]]) -> None:
    granted = grants(rendered, OPERATOR_ACCOUNT)
    pod_read = Permission(NAMESPACE, "get", "", "pods", "x")
    assert not any(grants_it(g, pod_read) for g in granted)
    elsewhere = Permission("default", "get", "", "configmaps", "x")
    assert not any(grants_it(g, elsewhere) for g in granted)
    other_lease = Permission(NAMESPACE, "update", "coordination.k8s.io", "leases", "someone-else")
    assert not any(grants_it(g, other_lease) for g in granted)
    own_lease = Permission(NAMESPACE, "update", "coordination.k8s.io", "leases", LEADER_ELECTION_ID)
    assert any(grants_it(g, own_lease) for g in granted)
    # A ClusterRole rule on a namespaced kind would be granted but counts as unused.
    broad = Permission(CLUSTER, "get", "", "configmaps")
    assert grants_it(broad, Permission(NAMESPACE, "get", "", "configmaps", "x"))
    assert not used_by(broad, Permission(NAMESPACE, "get", "", "configmaps", "x"))


def test_the_operator_account_is_bound_only_as_expected(rendered: list[dict[str, Any]]) -> None:
    granted = grants(rendered, OPERATOR_ACCOUNT)
    assert {g.scope for g in granted} == {NAMESPACE, CLUSTER}
    cluster_wide = {(g.group, g.resource) for g in granted if g.scope == CLUSTER}
    # Only the gateway's own class, cluster-wide.
    assert cluster_wide == {("networking.k8s.io", "ingressclasses")}


def test_gateway_ingress_nginx_account(rendered: list[dict[str, Any]]) -> None:
    """ingress-nginx with --watch-namespace: reads in kura, few writes, cluster-wide reads only."""
    granted = grants(rendered, DEFAULT_GATEWAY_SERVICE_ACCOUNT)
    namespaced = {g for g in granted if g.scope == NAMESPACE}
    cluster_wide = {g for g in granted if g.scope == CLUSTER}
    assert all(g.name is None for g in granted)
    reads = {(g.group, g.resource) for g in namespaced if g.verb in READ}
    assert reads >= {
        ("", "configmaps"),
        ("", "endpoints"),
        ("", "pods"),
        ("", "secrets"),
        ("", "services"),
        ("discovery.k8s.io", "endpointslices"),
        ("networking.k8s.io", "ingresses"),
    }
    for group, resource in reads - {("coordination.k8s.io", "leases")}:
        assert {g.verb for g in namespaced if (g.group, g.resource) == (group, resource)} == READ
    writes = {(g.verb, g.group, g.resource) for g in namespaced if g.verb not in READ}
    assert writes == {
        ("update", "networking.k8s.io", "ingresses/status"),
        ("create", "coordination.k8s.io", "leases"),
        ("update", "coordination.k8s.io", "leases"),
        ("create", "", "events"),
        ("patch", "", "events"),
    }
    assert {(g.verb, g.group, g.resource) for g in cluster_wide} == {
        (verb, group, resource) for verb in READ for group, resource in GATEWAY_CLUSTER_READS
    }
