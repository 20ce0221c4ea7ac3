"""The operator's end-to-end tests on the real control plane (kube-apiserver, etcd and
kube-controller-manager from kura-testing), with the same ``Cluster`` API as on the double.

Each test gets a namespace of its own. The tests are written for namespace ``kura``, the
operator's default, so :class:`RealKube` maps ``kura`` to the test's namespace in both
directions; the operator itself is started with ``--namespace <the test's namespace>``. The
operator runs as the ``kura-operator`` ServiceAccount with the deploy base's Roles and
ClusterRoles (applied with ``kubectl apply -k``), so a permission the base lacks is a real 403.

The request log the double keeps is the API server's audit log here, filtered to the operator's
ServiceAccount. There is no kubelet: :meth:`RealCluster.make_ready` and
:meth:`RealCluster.make_instance_ready` report the pods that the real Deployment and
StatefulSet controllers created as Running and Ready, and set the LoadBalancer Service's
address as a cloud controller would.
"""

from __future__ import annotations

import copy
import json
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kura_testing.client import APPLY, MERGE_PATCH, KubeClient, KubeRequestError
from kura_testing.control_plane import ControlPlane
from kura_testing.crds import kura_platform_crds
from kura_testing.kube_double import RequestMatch, RequestRecord
from kura_testing.kubelet import report_pods, selector_of
from kura_testing.pytest_plugin import install_platform
from kura_testing.release import Binaries
from tests.operator.deploy_base import DEPLOY, KUBECTL, OPERATOR_ACCOUNT, find, render
from tests.operator.harness import NAMESPACE, Cluster

TEST_MANAGER = "kura-tests"
_METHODS = {"create": "POST", "update": "PUT", "patch": "PATCH", "delete": "DELETE"}
# What a test namespace gets from the deploy base (cluster-scoped parts are applied once).
_NAMESPACED = ("ServiceAccount", "Role", "RoleBinding")


def install_deploy_base(plane: ControlPlane) -> None:
    """``kubectl apply -k packages/kura-operator/deploy``, as a cluster admin would run it."""
    kubeconfig = plane.write_kubeconfig(plane.workdir / "admin.kubeconfig")
    subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(kubeconfig), "apply", "-k", str(DEPLOY)],
        check=True,
        capture_output=True,
        timeout=120,
    )


class RealKube:
    """The reads, seeds and request log of ``KubeDouble``, on the real API server."""

    def __init__(self, admin: KubeClient, namespace: str, audit_log: Path, user: str) -> None:
        self.client = admin
        self.namespace = namespace
        self.audit_log = audit_log
        self.user = user
        self._audit_offset = audit_log.stat().st_size if audit_log.exists() else 0

    # --- the namespace alias -------------------------------------------------------------------

    def ns(self, namespace: str | None) -> str | None:
        return self.namespace if namespace == NAMESPACE else namespace

    def _unalias(self, namespace: str | None) -> str | None:
        return NAMESPACE if namespace == self.namespace else namespace

    def localize(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``obj`` in the test's namespace, without server-owned metadata."""
        local = copy.deepcopy(dict(obj))
        metadata = local["metadata"]
        for owned in ("resourceVersion", "uid", "creationTimestamp", "managedFields", "generation"):
            metadata.pop(owned, None)
        if "namespace" in metadata:
            metadata["namespace"] = self.ns(metadata["namespace"])
        return local

    # --- reads and seeds -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.client.server

    def get(self, resource: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self.client.get(resource, self.ns(namespace), name)

    def objects(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Namespaced kinds in the test's namespace (or ``namespace``); cluster-scoped ones all.

        Each carries its apiVersion and kind, as the double's do (a list's items do not)."""
        found = self.client.resource_named(resource)
        where = (self.ns(namespace) or self.namespace) if found.namespaced else None
        return [
            {"apiVersion": found.group_version, "kind": found.kind, **item}
            for item in self.client.list(resource, where)
        ]

    def put_object(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Create, or replace as given (status too), as the double's seed does."""
        local = self.localize(obj)
        metadata = local["metadata"]
        resource = self.client.resource(local["apiVersion"], local["kind"])
        live = self.client.get(resource.plural, metadata.get("namespace"), metadata["name"])
        path = resource.path(metadata.get("namespace"), metadata["name"])
        if live is None:
            stored = self.client.create(local)
        else:
            metadata["resourceVersion"] = live["metadata"]["resourceVersion"]
            stored = self.client.request("PUT", path, local)
        if "status" in local and stored.get("status") != local["status"]:
            body = {**local, "metadata": {**metadata, **stored["metadata"]}}
            try:
                stored = self.client.request("PUT", f"{path}/status", body)
            except KubeRequestError as exc:
                if exc.status != 404:  # kinds without a status subresource stored it already
                    raise
        return stored

    def patch_status(
        self, resource: str, namespace: str | None, name: str, status: Mapping[str, Any]
    ) -> dict[str, Any]:
        return self.client.merge_patch(
            resource, self.ns(namespace), name, {"status": dict(status)}, status=True
        )

    def delete(self, resource: str, namespace: str | None, name: str) -> None:
        self.client.delete(resource, self.ns(namespace), name)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    # --- the request log: the audit log, the operator's requests only --------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        with self.audit_log.open("rb") as log:
            start = self._audit_offset
            if start:
                log.seek(start - 1)
                if log.read(1) != b"\n":
                    # The log was cleared while the API server was writing a line: that
                    # request came before, and the rest of its line is not JSON on its own.
                    log.readline()
            # The API server may be writing the last line as it is read: complete lines only.
            lines = [line for line in log if line.endswith(b"\n") and line.strip()]
        entries = [json.loads(line) for line in lines]
        return [self._record(e) for e in entries if e["user"]["username"] == self.user]

    def clear_requests(self) -> None:
        self._audit_offset = self.audit_log.stat().st_size

    def writes(self) -> list[RequestRecord]:
        return [record for record in self.requests if record.is_write]

    def requests_matching(
        self,
        *,
        method: str | None = None,
        verb: str | None = None,
        resource: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
    ) -> list[RequestRecord]:
        return RequestMatch(method, verb, resource, namespace, name).select(self.requests)

    def _record(self, entry: Mapping[str, Any]) -> RequestRecord:
        ref = entry.get("objectRef") or {}
        path, _, query_text = str(entry["requestURI"]).partition("?")
        query = dict(p.split("=", 1) for p in query_text.split("&") if "=" in p)
        method = _METHODS.get(entry["verb"], "GET")
        # The audit log has no content type; only server-side apply takes ``force``.
        patch_type = APPLY if "force" in query else MERGE_PATCH
        return RequestRecord(
            method=method,
            path=path,
            query=query,
            verb=entry["verb"],
            group=ref.get("apiGroup", "") if ref else None,
            version=ref.get("apiVersion"),
            resource=ref.get("resource"),
            subresource=ref.get("subresource"),
            namespace=self._unalias(ref.get("namespace")),
            name=ref.get("name"),
            status=int((entry.get("responseStatus") or {}).get("code", 0)),
            content_type=patch_type if method == "PATCH" else None,
            body=entry.get("requestObject"),
            agent=entry.get("userAgent"),
        )


@dataclass
class RealCluster(Cluster):
    """``Cluster`` on the real control plane; ``kube`` is a :class:`RealKube`."""

    plane: ControlPlane | None = None

    @property
    def real(self) -> RealKube:
        assert isinstance(self.kube, RealKube)
        return self.kube

    @property
    def operator_namespace(self) -> str:
        return self.real.namespace

    def operator_kubeconfig(self) -> Path:
        assert self.plane is not None
        token = self.real.client.create_token(self.real.namespace, OPERATOR_ACCOUNT)
        return self.plane.write_kubeconfig(
            self.workdir / "kubeconfig", token=token, namespace=self.real.namespace
        )

    def grant(self, rendered: list[dict[str, Any]]) -> None:
        """The operator's RBAC of ``rendered`` (a kustomization's output) in the test's
        namespace, as ``kubectl apply -k`` of it would give it."""
        _grant_namespace(self.real.client, rendered, self.real.namespace)

    def request(self, method: str, path: str, body: object = None) -> dict[str, Any]:
        local = path.replace(f"/namespaces/{NAMESPACE}/", f"/namespaces/{self.real.namespace}/")
        if isinstance(body, Mapping) and "metadata" in body:
            body = self.real.localize(body)
        content_type = "application/merge-patch+json" if method == "PATCH" else "application/json"
        return self.real.client.request(method, local, body, content_type=content_type)

    def apply(self, obj: Mapping[str, Any], manager: str = "tuist-server") -> dict[str, Any]:
        return self.real.client.apply(self.real.localize(obj), field_manager=manager)

    def wait(self, predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
        if not self.kube.wait_until(predicate, timeout):
            logs = "\n".join(o.log_path.read_text()[-4000:] for o in self.operators)
            raise AssertionError(f"timed out waiting for {what}\n--- operator logs ---\n{logs}")

    def make_ready(self, name: str, *, address: str = "203.0.113.7") -> None:
        """The kubelet for the gateway's pods, and a cloud controller for its Service."""
        workload = f"{name}-controller"
        self.wait(lambda: self.kube.get("deployments", NAMESPACE, workload) is not None, workload)

        def rolled_out() -> bool:
            deployment = self.kube.get("deployments", NAMESPACE, workload) or {}
            replicas = deployment["spec"]["replicas"]
            # Every pod, old and new ReplicaSet's alike: a rollout replaces them.
            report_pods(self.real.client, self.real.namespace, selector_of(deployment))
            status = deployment.get("status") or {}
            return bool(
                status.get("observedGeneration") == deployment["metadata"]["generation"]
                and status.get("readyReplicas") == replicas
                and status.get("updatedReplicas") == replicas
            )

        self.wait(rolled_out, f"{workload} to roll out", 60)
        self.kube.patch_status(
            "services", NAMESPACE, workload, {"loadBalancer": {"ingress": [{"ip": address}]}}
        )

    def make_instance_ready(self, name: str, *, ready: int | None = None) -> None:
        """The kubelet for the instance's pods: ``ready`` (default: all) of them Ready."""
        self.wait(lambda: self.kube.get("statefulsets", NAMESPACE, name) is not None, name)

        def rolled_out() -> bool:
            stateful_set = self.kube.get("statefulsets", NAMESPACE, name) or {}
            replicas = stateful_set["spec"]["replicas"]
            want = replicas if ready is None else ready
            selector = selector_of(stateful_set)
            report_pods(self.real.client, self.real.namespace, selector, count=replicas, ready=want)
            status = stateful_set.get("status") or {}
            rolled = want < replicas or (
                status.get("updatedReplicas") == replicas
                and status.get("currentRevision") == status.get("updateRevision")
            )
            return bool(
                status.get("observedGeneration") == stateful_set["metadata"]["generation"]
                and status.get("readyReplicas", 0) == want
                and rolled
            )

        self.wait(rolled_out, f"statefulset {name} to roll out", 60)


Keep = Callable[[dict[str, Any]], dict[str, Any] | None]


def _kept(rules: list[dict[str, Any]], keep: Keep) -> list[dict[str, Any]]:
    return [kept for rule in copy.deepcopy(rules) if (kept := keep(rule)) is not None]


def without_rule(cluster: RealCluster, keep: Keep) -> Callable[[], None]:
    """The deploy base's Role in the test's namespace with ``keep`` applied to each rule (None
    drops it); returns what puts the deploy base's Role back."""
    role = find(render(), "Role", OPERATOR_ACCOUNT)
    original = {**copy.deepcopy(role), "metadata": {**role["metadata"], "namespace": NAMESPACE}}
    cluster.kube.put_object({**original, "rules": _kept(original["rules"], keep)})

    def restore() -> None:
        cluster.kube.put_object(original)

    return restore


def without_cluster_rule(cluster: RealCluster, keep: Keep) -> Callable[[], None]:
    """The deploy base's ClusterRole with ``keep`` applied to each rule, for the test's
    ServiceAccount only: its ClusterRoleBinding is bound to such a copy instead (a binding's
    roleRef cannot change, so it is made anew). Returns what binds the deploy base's again."""
    admin, namespace = cluster.real.client, cluster.real.namespace
    rendered = render()
    role = find(rendered, "ClusterRole", OPERATOR_ACCOUNT)
    binding = find(rendered, "ClusterRoleBinding", OPERATOR_ACCOUNT)
    name = _restricted_role(namespace)
    restricted = {**role, "metadata": {"name": name}, "rules": _kept(role["rules"], keep)}
    admin.apply(restricted, field_manager=TEST_MANAGER)
    admin.delete("clusterrolebindings", None, name)
    bound = {**binding, "roleRef": {**binding["roleRef"], "name": name}}
    _grant_namespace(admin, [bound], namespace)

    def restore() -> None:
        admin.delete("clusterrolebindings", None, name)
        _grant_namespace(admin, [binding], namespace)
        admin.delete("clusterroles", None, name)

    return restore


def _restricted_role(namespace: str) -> str:
    # The name of the test namespace's ClusterRoleBinding too (another kind).
    return f"{OPERATOR_ACCOUNT}-{namespace}"


def _grant_namespace(admin: KubeClient, rendered: list[dict[str, Any]], namespace: str) -> None:
    """The deploy base's namespaced accounts and Roles, and its ClusterRoleBindings, for
    ``namespace``, exactly as rendered but for the namespace."""
    for obj in rendered:
        if obj["kind"] in _NAMESPACED:
            local = copy.deepcopy(obj)
            local["metadata"]["namespace"] = namespace
        elif obj["kind"] == "ClusterRoleBinding":
            local = copy.deepcopy(obj)
            local["metadata"]["name"] = f"{obj['metadata']['name']}-{namespace}"
        else:
            continue
        for subject in local.get("subjects", []):
            if subject.get("namespace") == NAMESPACE:
                subject["namespace"] = namespace
        admin.apply(local, field_manager=TEST_MANAGER)


@contextmanager
def own_cluster(
    workdir: Path,
    namespace: str,
    *,
    node_ports: str,
    audit_reads: bool = False,
    controller_qps: int | None = None,
) -> Iterator[RealCluster]:
    """A control plane of its own (another NodePort range than the shared one's), with kura's
    CRDs, namespace and deploy base, and a RealCluster in ``namespace``."""
    with ControlPlane(
        Binaries.cached(),
        audit_log=workdir / "audit.jsonl",
        audit_reads=audit_reads,
        crds=kura_platform_crds(),
        workdir=workdir / "control-plane",
        node_ports=node_ports,
        controller_qps=controller_qps,
    ) as plane:
        install_platform(plane.admin)
        install_deploy_base(plane)
        plane.admin.create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        )
        with real_cluster(plane, workdir, namespace) as running:
            yield running


@contextmanager
def real_cluster(
    plane: ControlPlane,
    workdir: Path,
    namespace: str,
    rendered: list[dict[str, Any]] | None = None,
) -> Iterator[RealCluster]:
    """A RealCluster in ``namespace`` with the operator's RBAC of ``rendered`` (the deploy base
    by default); afterwards whatever would outlive the namespace's deletion (finalizers,
    cluster-scoped objects) is removed."""
    admin = plane.admin
    rendered = render() if rendered is None else rendered
    _grant_namespace(admin, rendered, namespace)
    assert plane.audit_log is not None
    user = f"system:serviceaccount:{namespace}:{OPERATOR_ACCOUNT}"
    kube = RealKube(admin, namespace, plane.audit_log, user)
    running = RealCluster(kube, workdir, plane=plane)  # type: ignore[arg-type]
    try:
        yield running
    finally:
        for operator in running.operators:
            operator.stop()
        _clean_up(admin, rendered, namespace)


def _clean_up(admin: KubeClient, rendered: list[dict[str, Any]], namespace: str) -> None:
    # No operator runs any more: finalizers would keep the namespace terminating for ever.
    for plural in ("kuragateways", "kurainstances"):
        for obj in admin.list(plural, namespace):
            if obj["metadata"].get("finalizers"):
                admin.merge_patch(
                    plural, namespace, obj["metadata"]["name"], {"metadata": {"finalizers": None}}
                )
    # Cluster-scoped leftovers: this worker's control plane runs one test at a time.
    for ingress_class in admin.list("ingressclasses"):
        admin.delete("ingressclasses", None, ingress_class["metadata"]["name"])
    for obj in rendered:
        if obj["kind"] == "ClusterRoleBinding":
            admin.delete("clusterrolebindings", None, f"{obj['metadata']['name']}-{namespace}")
    admin.delete("clusterroles", None, _restricted_role(namespace))
