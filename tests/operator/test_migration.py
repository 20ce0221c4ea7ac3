"""docs/migration.md, step by step, on the real control plane: kura's operator takes over a
dedicated gateway and an instance from upstream Tuist's controller.

The cluster starts as upstream's controller leaves it (``tests/operator/upstream_controller.py``:
the same names, labels, owner references, finalizers and status, written by server-side apply
under its field manager ``kura-controller``), with the Lease held and renewed by upstream's
controller. The steps below carry the runbook's numbers. Nothing here measures time: the test
follows the Lease, the objects and the audit log, with generous timeouts.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kura_core.cli.app import build_cli
from kura_core.plugins import PluginHost
from kura_operator.cli import run_command
from tests.operator.deploy_base import KUBECTL, ROOT, find, render
from tests.operator.harness import NAMESPACE, Cluster, OperatorProcess
from tests.operator.leases import (
    TAKEOVER,
    UPSTREAM,
    held_by_upstream,
    holder,
    identity,
    lease_name,
    lease_spec,
)
from tests.operator.real_cluster import RealCluster
from tests.operator.upstream_controller import (
    API_VERSION,
    CLUSTER_ISSUER,
    GATEWAY_FINALIZER,
    GATEWAY_SERVICE_ACCOUNT,
    INSTANCE_FINALIZER,
    LOAD_BALANCER_ADDRESS,
    OTLP_ENDPOINT,
    SERVER_MANAGER,
    UPSTREAM_MANAGER,
    Account,
    finalizer,
    gateway_children,
    gateway_status,
    instance_children,
    instance_status,
    server_gateway,
    server_instance,
)

ACCOUNT = Account(id=4242, handle="acme")
OVERLAY = ROOT / "docs" / "examples" / "migration"
# What upstream's controller ran with, as the overlay carries it over.
OVERLAY_SETTINGS = {
    "namespace": "kura",
    "env": "production",
    "gateway_service_account": GATEWAY_SERVICE_ACCOUNT,
    "cluster_issuer": CLUSTER_ISSUER,
    "otlp_traces_endpoint": OTLP_ENDPOINT,
    "leader_elect": True,
}
ROLLOUT = 120.0
OPERATOR_MANAGER = "kura-operator"
# Where kura's pod templates legitimately differ from upstream's (docs/migration.md says why):
# taking over rolls the pods once, for exactly these fields.
GATEWAY_TEMPLATE_CHANGES = {
    # Upstream's template has none; kura's holds kura.tuist.dev/config-sha256 only: a change of
    # the nginx ConfigMap rolls the gateway pods.
    "metadata.annotations",
    # Non-root, no privilege escalation, every capability dropped but NET_BIND_SERVICE.
    "spec.containers[controller].securityContext",
}
INSTANCE_TEMPLATE_CHANGES = {
    # A new extension script rolls the Kura pods, which read it when they start.
    "metadata.annotations.kura.tuist.dev/extension-sha256",
    # No environment variable per Service of the namespace in every Kura pod.
    "spec.enableServiceLinks",
    # The drain signal also reaches a Kura that runs as PID 1, not only under an init.
    "spec.containers[kura].lifecycle.preStop.exec.command",
    # Restricted pods: no API token, a fixed non-root uid and gid that own the data volume...
    "spec.automountServiceAccountToken",
    "spec.securityContext.runAsNonRoot",
    "spec.securityContext.runAsUser",
    "spec.securityContext.runAsGroup",
    "spec.securityContext.fsGroup",
    "spec.securityContext.fsGroupChangePolicy",
    "spec.securityContext.seccompProfile",
    # ...no capabilities, and a read-only root filesystem with a scratch volume at /tmp.
    "spec.containers[kura].securityContext",
    "spec.volumes[scratch]",
    "spec.containers[kura].volumeMounts[scratch]",
}


def gateway_objects(account: Account) -> list[tuple[str, str]]:
    workload = account.workload
    return [
        ("configmaps", workload),
        ("services", workload),
        ("ingressclasses", account.ingress_class),
        ("deployments", workload),
    ]


def instance_objects(account: Account) -> list[tuple[str, str]]:
    name = account.instance
    return [
        ("configmaps", f"{name}-extension"),
        ("services", f"{name}-headless"),
        ("services", name),
        ("ingresses", name),
        ("ingresses", f"{name}-grpc"),
        ("certificates", f"{name}-public-tls"),
        ("certificates", f"{name}-grpc-tls"),
        ("secrets", f"{name}-peer-tls"),
        ("networkpolicies", name),
        ("poddisruptionbudgets", name),
        ("statefulsets", name),
    ]


def every_object(account: Account) -> list[tuple[str, str]]:
    return [
        ("kuragateways", account.gateway),
        ("kurainstances", account.instance),
        *gateway_objects(account),
        *instance_objects(account),
    ]


def peer_secret(account: Account) -> tuple[str, str]:
    return ("secrets", f"{account.instance}-peer-tls")


def live(cluster: Cluster, resource: str, name: str) -> dict[str, Any]:
    namespace = None if resource == "ingressclasses" else NAMESPACE
    found = cluster.kube.get(resource, namespace, name)
    assert found is not None, f"{resource}/{name} is missing"
    return found


def uids(cluster: Cluster, account: Account) -> dict[str, str]:
    return {
        f"{resource}/{name}": live(cluster, resource, name)["metadata"]["uid"]
        for resource, name in every_object(account)
    }


def field_managers(obj: Mapping[str, Any]) -> set[tuple[str, str]]:
    """Who owns fields of the object itself (not of its status), and by which operation."""
    return {
        (entry["manager"], entry["operation"])
        for entry in obj["metadata"].get("managedFields") or []
        if not entry.get("subresource")
    }


_MISSING = object()


def _by_name(items: list[Any]) -> dict[str, Any] | None:
    if items and all(isinstance(i, Mapping) and "name" in i for i in items):
        return {i["name"]: i for i in items}
    return None


def template_changes(old: Any, new: Any, path: str = "") -> set[str]:
    """The paths where two pod templates differ; named list items (containers, volumes, env)
    are matched by name, other lists compared whole."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        found: set[str] = set()
        for key in old.keys() | new.keys():
            where = f"{path}.{key}" if path else str(key)
            found |= template_changes(old.get(key, _MISSING), new.get(key, _MISSING), where)
        return found
    if isinstance(old, list) and isinstance(new, list):
        named_old, named_new = _by_name(old), _by_name(new)
        if named_old is not None and named_new is not None:
            common = named_old.keys() & named_new.keys()
            moved = [n for n in named_old if n in common] != [n for n in named_new if n in common]
            found = {f"{path} order"} if moved else set()
            for name in named_old.keys() | named_new.keys():
                where = f"{path}[{name}]"
                found |= template_changes(
                    named_old.get(name, _MISSING), named_new.get(name, _MISSING), where
                )
            return found
    return set() if old == new else {path}


def replica_sets(cluster: Cluster, account: Account) -> list[dict[str, Any]]:
    return [
        rs
        for rs in cluster.kube.objects("replicasets", NAMESPACE)
        if rs["metadata"]["name"].startswith(f"{account.workload}-")
    ]


def revisions(cluster: Cluster, account: Account) -> list[str]:
    return sorted(
        rev["metadata"]["name"]
        for rev in cluster.kube.objects("controllerrevisions", NAMESPACE)
        if rev["metadata"]["name"].startswith(f"{account.instance}-")
    )


def applied_anew(cluster: Cluster, resource: str, old: Mapping[str, Any]) -> None:
    """Wait until kura-operator has applied a new spec of the workload ``old`` was."""
    name, generation = old["metadata"]["name"], old["metadata"]["generation"]
    cluster.wait(
        lambda: live(cluster, resource, name)["metadata"]["generation"] > generation,
        f"kura-operator to apply {resource}/{name}",
        60,
    )


@contextmanager
def step(title: str) -> Iterator[None]:
    """One step of the runbook: a failure inside names it."""
    try:
        yield
    except AssertionError as exc:
        raise AssertionError(f"step {title}: {exc}") from exc


class Upstream:
    """The Tuist server and upstream's controller, writing what they write, as they write it."""

    def __init__(self, cluster: RealCluster, account: Account) -> None:
        self.cluster = cluster
        self.account = account
        self.written: dict[str, dict[str, Any]] = {}

    def write(
        self, obj: Mapping[str, Any], *, manager: str = UPSTREAM_MANAGER, subresource: str = ""
    ) -> dict[str, Any]:
        return self.cluster.real.client.apply(
            self.cluster.real.localize(obj), field_manager=manager, subresource=subresource
        )

    def status(self, live: Mapping[str, Any], status: dict[str, Any]) -> None:
        metadata = {"name": live["metadata"]["name"], "namespace": NAMESPACE}
        self.written[live["kind"]] = status
        self.write(
            {
                "apiVersion": API_VERSION,
                "kind": live["kind"],
                "metadata": metadata,
                "status": status,
            },
            subresource="status",
        )

    def reconcile(self) -> None:
        """Everything upstream's controller has done for one dedicated account: both objects
        reconciled, their pods running, their status Ready."""
        cluster, account = self.cluster, self.account
        gateway = self.write(server_gateway(account), manager=SERVER_MANAGER)
        instance = self.write(server_instance(account), manager=SERVER_MANAGER)
        # What upstream's chart installs: the gateway pods' ServiceAccount and the shared Secret
        # (the control-plane client credentials).
        cluster.kube.put_object(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": GATEWAY_SERVICE_ACCOUNT, "namespace": NAMESPACE},
            }
        )
        shared = cluster.kube.put_object(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "kura-shared-secrets", "namespace": NAMESPACE},
                "stringData": {"KURA_CONTROL_PLANE_CLIENT_SECRET": "not-a-real-secret"},
            }
        )
        self.write(finalizer(gateway, GATEWAY_FINALIZER))
        for child in gateway_children(account, gateway):
            self.write(child)
        self.write(finalizer(instance, INSTANCE_FINALIZER))
        children = instance_children(
            account,
            instance,
            namespace=cluster.operator_namespace,
            shared_secrets=shared["metadata"]["resourceVersion"],
        )
        for child in children:
            self.write(child)
        now = datetime.now(UTC)
        cluster.make_ready(account.gateway, address=LOAD_BALANCER_ADDRESS)
        self.status(gateway, gateway_status(account, ready=2, now=now))
        cluster.make_instance_ready(account.instance)
        revision = live(cluster, "statefulsets", account.instance)["status"]["currentRevision"]
        self.status(instance, instance_status(account, ready=2, revision=revision, now=now))


def kura(*args: str, input: str | None = None) -> str:
    """``kura`` as the runbook runs it; its output."""
    result = CliRunner().invoke(
        build_cli(PluginHost(environ={})),
        list(args),
        input=input,
        env={"KURA_ENV": None, "KURA_CATALOG": None},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def kubectl(cluster: RealCluster, *args: str) -> str:
    """``kubectl`` as the runbook runs it, as a cluster admin, in the test's namespace."""
    assert cluster.plane is not None
    kubeconfig = cluster.plane.write_kubeconfig(
        cluster.workdir / "admin.kubeconfig", namespace=cluster.operator_namespace
    )
    done = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(kubeconfig), *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout


def overlay_args() -> list[str]:
    """kura-operator's arguments in the runbook's overlay (docs/examples/migration)."""
    operator = find(render(OVERLAY), "Deployment", "kura-operator")
    (container,) = operator["spec"]["template"]["spec"]["containers"]
    return list(container["args"])


def test_the_overlay_carries_upstreams_settings_over_as_kura_operator_flags() -> None:
    args = overlay_args()
    context = run_command.make_context("kura-operator", list(args))
    assert {key: context.params[key] for key in OVERLAY_SETTINGS} == OVERLAY_SETTINGS


def start_kura(cluster: Cluster) -> tuple[OperatorProcess, str]:
    """kura-operator with the overlay's flags (the harness names the test's namespace), and
    frequent resyncs, so the test sees them."""
    args = [a for a in overlay_args() if not a.startswith(("--namespace", "--watch-namespace"))]
    operator = cluster.start_operator(*args, "--resync", "2", standalone=False)
    return operator, identity(cluster, operator)


# The runbook's records: each custom resource's spec, and each child's uid, one line per object.
SPECS = '{range .items[*]}{.kind}/{.metadata.name} {.spec}{"\\n"}{end}'
UIDS = '{range .items[*]}{.kind}/{.metadata.name} {.metadata.uid}{"\\n"}{end}'
CHILD_KINDS = "deployments,statefulsets,services,ingresses,configmaps,secrets"


def specs(lines: str) -> dict[str, Any]:
    """The specs the runbook records, by kind and name."""
    return {
        key: json.loads(spec) for key, spec in (line.split(" ", 1) for line in lines.splitlines())
    }


@pytest.mark.e2e
@pytest.mark.real
def test_the_runbook_moves_a_dedicated_account_from_upstreams_controller_to_kura(
    cluster: Cluster,
) -> None:
    assert isinstance(cluster, RealCluster)
    account = ACCOUNT
    upstream = Upstream(cluster, account)
    with held_by_upstream(cluster, transitions=4):
        upstream.reconcile()
        before = uids(cluster, account)
        deployment = live(cluster, "deployments", account.workload)
        stateful_set = live(cluster, "statefulsets", account.instance)
        secret = live(cluster, *peer_secret(account))
        assert len(replica_sets(cluster, account)) == 1
        assert len(revisions(cluster, account)) == 1
        # Upstream's controller holds the Lease and has finalized and reconciled both objects.
        assert holder(cluster) == UPSTREAM
        for resource, name, final in (
            ("kuragateways", account.gateway, GATEWAY_FINALIZER),
            ("kurainstances", account.instance, INSTANCE_FINALIZER),
        ):
            found = live(cluster, resource, name)
            assert found["metadata"]["finalizers"] == [final]
            assert found["status"]["phase"] == "Ready"

        with step("1. Back up"):
            saved = kubectl(cluster, "get", "kuragateways,kurainstances", "--output", "yaml")
            specs_before = kubectl(
                cluster, "get", "kuragateways,kurainstances", "--output", f"jsonpath={SPECS}"
            )
            uids_before = kubectl(cluster, "get", CHILD_KINDS, "--output", f"jsonpath={UIDS}")
            assert specs(specs_before) == {
                f"KuraGateway/{account.gateway}": server_gateway(account)["spec"],
                f"KuraInstance/{account.instance}": server_instance(account)["spec"],
            }
            assert f"StatefulSet/{account.instance} " in uids_before

        with step("2. Check that kura reads every object"):
            assert account.workload in kura("gateway", "render", "-", "-o", "table", input=saved)
            rendered = kura("instance", "render", "-", "-o", "table", input=saved)
            assert f"{account.instance}-grpc" in rendered

        with step("3. Install kura's CRDs"):
            crds = cluster.workdir / "kura-crds"
            kura("crds", "--write", str(crds))
            kubectl(cluster, "replace", "--filename", str(crds))
            # Nothing the server or upstream's controller wrote was lost.
            specs_after = kubectl(
                cluster, "get", "kuragateways,kurainstances", "--output", f"jsonpath={SPECS}"
            )
            assert specs_after == specs_before
            after = kubectl(cluster, "get", "kuragateways,kurainstances", "--output", "yaml")
            for item in yaml.safe_load(after)["items"]:
                assert item["status"] == upstream.written[item["kind"]]

        with step("4. Install and start kura-operator"):
            cluster.real.clear_requests()
            operator, own = start_kura(cluster)
            standby = (200, f"standby: {UPSTREAM} holds the lease {lease_name(cluster)}\n")
            cluster.wait(lambda: operator.readiness() == standby, "kura-operator to stand by")
            assert operator.state() == "standby"
            looks = len(cluster.real.requests_matching(verb="get", resource="leases"))
            cluster.wait(
                lambda: (
                    len(cluster.real.requests_matching(verb="get", resource="leases")) >= looks + 3
                ),
                "three more looks at the Lease",
                60,
            )
            # A standby writes nothing, not even to the Lease.
            assert cluster.real.writes() == []

    with step("5. Stop upstream's controller"):
        # Its renewals stopped: the Lease expires and kura-operator takes it.
        cluster.wait(lambda: holder(cluster) == own, "kura-operator to take the Lease", TAKEOVER)
        assert lease_spec(cluster)["leaseTransitions"] == 5
        cluster.wait(lambda: operator.readiness() == (200, "ready\n"), "kura-operator to lead")

    with step("6. Verify"):
        # The pods whose template kura changes roll once; the test plays their kubelet.
        applied_anew(cluster, "deployments", deployment)
        applied_anew(cluster, "statefulsets", stateful_set)
        cluster.make_ready(account.gateway, address=LOAD_BALANCER_ADDRESS)
        cluster.make_instance_ready(account.instance)
        cluster.wait_instance_phase(account.instance, "Ready", ROLLOUT)
        cluster.wait(
            lambda: (
                (cluster.gateway(account.gateway) or {}).get("status", {}).get("observedGeneration")
                is not None
            ),
            "kura's status of the gateway",
        )
        # Taken over, not re-created: every object keeps its uid; nothing was deleted.
        assert uids(cluster, account) == before
        uids_after = kubectl(cluster, "get", CHILD_KINDS, "--output", f"jsonpath={UIDS}")
        assert set(uids_before.splitlines()) - set(uids_after.splitlines()) == set()
        writes = [r for r in cluster.real.writes() if r.resource != "leases"]
        assert [r for r in writes if r.verb == "delete"] == []
        assert {r.resource for r in writes if r.verb == "create"} <= {"events"}
        # One rollout each, for the fields kura's pod templates legitimately change.
        rolled = live(cluster, "deployments", account.workload)
        assert rolled["metadata"]["generation"] == deployment["metadata"]["generation"] + 1
        assert (
            template_changes(deployment["spec"]["template"], rolled["spec"]["template"])
            == GATEWAY_TEMPLATE_CHANGES
        )
        assert list(rolled["spec"]["template"]["metadata"]["annotations"]) == [
            "kura.tuist.dev/config-sha256"
        ]
        assert len(replica_sets(cluster, account)) == 2
        rolled = live(cluster, "statefulsets", account.instance)
        assert rolled["metadata"]["generation"] == stateful_set["metadata"]["generation"] + 1
        assert (
            template_changes(stateful_set["spec"]["template"], rolled["spec"]["template"])
            == INSTANCE_TEMPLATE_CHANGES
        )
        assert len(revisions(cluster, account)) == 2
        # Every child kura applies is kura's now: upstream's field manager owns nothing of it.
        applied = [*gateway_objects(account), *instance_objects(account)]
        applied.remove(peer_secret(account))
        for resource, name in applied:
            managers = field_managers(live(cluster, resource, name))
            assert managers == {(OPERATOR_MANAGER, "Apply")}, f"{resource}/{name}: {managers}"
        # The peer TLS material upstream generated is valid, so it is kept as it is.
        kept = live(cluster, *peer_secret(account))
        assert kept["metadata"]["resourceVersion"] == secret["metadata"]["resourceVersion"]
        # Status as upstream's tools read it: the printer columns (phase, class, ready, load
        # balancer; phase and host) and upstream's fields, in upstream's wording.
        listed = kubectl(cluster, "get", "kuragateways,kurainstances")
        table = [line.split() for line in listed.splitlines()]
        rows = {cells[0]: cells[1:] for cells in table if cells and "/" in cells[0]}
        assert rows[f"kuragateway.kura.tuist.dev/{account.gateway}"][:4] == [
            "Ready",
            account.ingress_class,
            "2",
            LOAD_BALANCER_ADDRESS,
        ]
        assert rows[f"kurainstance.kura.tuist.dev/{account.instance}"][:2] == [
            "Ready",
            account.public_host,
        ]
        status = live(cluster, "kuragateways", account.gateway)["status"]
        assert {key: status[key] for key in upstream.written["KuraGateway"]} | {
            "lastReconciledAt": None
        } == {
            "phase": "Ready",
            "ingressClassName": account.ingress_class,
            "serviceName": account.workload,
            "readyReplicas": 2,
            "loadBalancer": LOAD_BALANCER_ADDRESS,
            "message": "2/2 gateway replicas ready",
            "lastReconciledAt": None,
        }
        revision = rolled["status"]["currentRevision"]
        status = live(cluster, "kurainstances", account.instance)["status"]
        assert {key: status[key] for key in upstream.written["KuraInstance"]} | {
            "lastReconciledAt": None
        } == {
            "phase": "Ready",
            "publicURL": f"https://{account.public_host}",
            "grpcPublicURL": f"grpcs://{account.grpc_host}",
            "observedImage": account.image,
            "readyReplicas": 2,
            "message": f"2/2 replicas ready on revision {revision}",
            "lastReconciledAt": None,
        }
        # Taken over for good: resyncs over the migrated objects write nothing more.
        cluster.real.clear_requests()
        done = {"kind": "KuraInstance", "result": "ok"}
        reconciled = operator.metric("kura_operator_reconciles_total", **done)
        cluster.wait(
            lambda: operator.metric("kura_operator_reconciles_total", **done) >= reconciled + 3,
            "three resyncs",
            60,
        )
        assert [r for r in cluster.real.writes() if r.resource != "leases"] == []
        # What kura stops applying goes, like anything it made itself: a variable the Tuist
        # server takes out of extraEnv leaves the pods' template.
        manifest = server_instance(account)
        dropped = manifest["spec"]["extraEnv"].pop()
        upstream.write(manifest, manager=SERVER_MANAGER)
        applied_anew(cluster, "statefulsets", rolled)
        (container,) = live(cluster, "statefulsets", account.instance)["spec"]["template"]["spec"][
            "containers"
        ]
        names = [entry["name"] for entry in container["env"]]
        assert dropped["name"] not in names
        assert names[-1] == manifest["spec"]["extraEnv"][-1]["name"]

    with step("after the migration, deletion"):
        # The finalizers work: the instance, then the gateway, go with all of their children.
        cluster.delete_instance(account.instance)
        cluster.wait(lambda: cluster.instance(account.instance) is None, "the instance to go", 60)
        cluster.delete_gateway(account.gateway)
        cluster.wait(lambda: cluster.gateway(account.gateway) is None, "the gateway to go", 60)
        children = [*gateway_objects(account), *instance_objects(account)]

        def gone() -> bool:
            return all(
                cluster.kube.get(
                    resource, None if resource == "ingressclasses" else NAMESPACE, name
                )
                is None
                for resource, name in children
            )

        cluster.wait(gone, "every child to go", 60)

    with step("7. Roll back"):
        # Stopping kura-operator gives the Lease up for upstream's controller to take at once.
        assert operator.stop() == 0
        released = lease_spec(cluster)
        assert (released["holderIdentity"], released["leaseDurationSeconds"]) == ("", 1)
