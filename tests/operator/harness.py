"""The operator as users run it: the ``kura-operator`` process against the Kubernetes double.

The double cannot run controllers, so tests play them: :meth:`Cluster.make_ready` sets a
gateway Deployment's ready replicas and its Service's load-balancer address,
:meth:`Cluster.make_instance_ready` creates an instance's pods and rolls its StatefulSet out, and
:meth:`Cluster.seed_regional_class` installs a region's shared IngressClass as the platform
chart does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from kura_core.accounts import Account, Plan
from kura_core.assignment import assign_gateway
from kura_core.manifests import render_gateway
from kura_core.plugins import PluginHost
from kura_core.regions import managed_catalogs
from kura_testing.kube_double import KubeDouble
from kura_testing.ports import free_port
from tests.support.field_cases import IMAGE, account_manifests

NAMESPACE = "kura"
GATEWAYS = "kuragateways"
INSTANCES = "kurainstances"
OPERATOR = Path(sys.executable).parent / "kura-operator"
HOST = PluginHost(environ={})


def gateway_manifest(account_id: int, region: str = "us-east", **spec: Any) -> dict[str, Any]:
    """A KuraGateway as the control plane applies it, with ``spec`` overrides."""
    region_obj = managed_catalogs()["production"].get(region)
    account = Account(id=account_id, handle=f"acct{account_id}", plan=Plan.ENTERPRISE)
    assignment = assign_gateway(account, region_obj, hosted=True)
    gateway = render_gateway(
        region_obj,
        assignment=assignment,
        load_balancer_provider=HOST.load_balancer_provider(region_obj.load_balancer_provider),
    ).model_dump(mode="json", by_alias=True, exclude_none=True)
    gateway["spec"].update(spec)
    return gateway


def lab_catalog(directory: Path) -> Path:
    """Env ``lab``: us-east, and lab-east, whose ingress provider no plugin provides."""
    region = {"display_name": "Lab", "location": "ash", "node_pool": "kura-lab"}
    catalog = directory / "catalog.yaml"
    regions = [
        {**region, "id": "us-east", "node_pool": "kura-us-east"},
        {**region, "id": "lab-east", "ingress_provider": "traefik"},
    ]
    catalog.write_text(yaml.safe_dump({"environments": {"lab": regions}}))
    return catalog


def instance_manifest(
    account_id: int, handle: str, *, plan: Plan = Plan.AIR, region: str = "us-east", **spec: Any
) -> dict[str, Any]:
    """The account's KuraInstance as the control plane applies it, with ``spec`` overrides."""
    (instance,) = [
        m
        for m in account_manifests(account_id, handle, plan=plan, region=region)
        if m["kind"] == "KuraInstance"
    ]
    instance["spec"].update(spec)
    return instance


@dataclass
class OperatorProcess:
    process: subprocess.Popen[bytes]
    health_port: int
    metrics_port: int
    log_path: Path

    def get(self, port: int, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
                return int(answer.status), answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def metrics(self) -> str:
        return self.get(self.metrics_port, "/metrics")[1]

    def metric(self, name: str, *, scrape: str | None = None, **labels: str) -> float:
        """One sample of ``/metrics``, or of an earlier ``scrape`` of it; 0 if absent."""
        for family in text_string_to_metric_families(scrape or self.metrics()):
            for sample in family.samples:
                wanted = all(sample.labels.get(k) == v for k, v in labels.items())
                if sample.name == name and wanted:
                    return float(sample.value)
        return 0.0

    def readiness(self) -> tuple[int, str]:
        return self.get(self.health_port, "/readyz")

    def requests_sent(self, verbs: Collection[str] = ()) -> float:
        """The API requests the operator has sent (of ``verbs``, or all), by its own count."""
        family = "kura_operator_api_requests"
        return sum(
            sample.value
            for metric in text_string_to_metric_families(self.metrics())
            if metric.name == family
            for sample in metric.samples
            if sample.name == f"{family}_total" and (not verbs or sample.labels["verb"] in verbs)
        )

    def wait_quiet(
        self, quiet: float = 2.0, timeout: float = 60.0, verbs: Collection[str] = ()
    ) -> None:
        """Until the operator has sent no request (of ``verbs``) for ``quiet`` seconds: a status
        write's Event follows it, so a phase reached is not yet the end of the operator's work."""
        deadline = time.monotonic() + timeout
        seen, since = self.requests_sent(verbs), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.25)
            now = self.requests_sent(verbs)
            if now != seen:
                seen, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
        raise TimeoutError(f"the operator still sent requests after {timeout:g}s")

    def state(self) -> str:
        """The one ``kura_operator_state`` that is 1: active, standby or paused."""
        scrape = self.metrics()
        states = ("active", "standby", "paused")
        (current,) = [
            s for s in states if self.metric("kura_operator_state", scrape=scrape, state=s)
        ]
        return current

    def logs(self) -> list[dict[str, Any]]:
        lines = self.log_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return int(self.process.returncode)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(5)


@dataclass
class Cluster:
    kube: KubeDouble
    workdir: Path
    operators: list[OperatorProcess] = field(default_factory=list)

    @property
    def operator_namespace(self) -> str:
        """The namespace the operator really watches (tests name it NAMESPACE throughout)."""
        return NAMESPACE

    def operator_kubeconfig(self) -> Path:
        return self.kube.write_kubeconfig(self.workdir / "kubeconfig", namespace=NAMESPACE)

    def start_operator(
        self, *args: str, ready_timeout: float = 30.0, standalone: bool = True, ready: bool = True
    ) -> OperatorProcess:
        """Start an operator; wait until ``/readyz`` answers 200 (with ``ready=False``, until it
        answers at all: the operator may be kept unready by a missing piece). ``standalone``:
        without leader election (``--leader-elect=false``)."""
        kubeconfig = self.operator_kubeconfig()
        health, metrics = free_port(), free_port()
        log_path = self.workdir / f"operator-{len(self.operators)}.log"
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("KUBERNETES_SERVICE")
        }
        env["KUBECONFIG"] = str(kubeconfig)
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [
                    str(OPERATOR),
                    *(["--leader-elect=false"] if standalone else []),
                    "--namespace",
                    self.operator_namespace,
                    "--health-port",
                    str(health),
                    "--metrics-port",
                    str(metrics),
                    *args,
                ],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        operator = OperatorProcess(process, health, metrics, log_path)
        self.operators.append(operator)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"operator exited early:\n{log_path.read_text()}")
            try:
                if operator.get(health, "/readyz")[0] == 200 or not ready:
                    return operator
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"operator never became ready:\n{log_path.read_text()}")

    # --- the API, as a client sees it ---------------------------------------------------------

    def request(self, method: str, path: str, body: object = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.kube.url + path,
            data=data,
            method=method,
            headers={
                "Content-Type": "application/merge-patch+json"
                if method == "PATCH"
                else "application/json"
            },
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return dict(json.loads(answer.read() or b"{}"))

    def apply(self, obj: Mapping[str, Any], manager: str = "tuist-server") -> dict[str, Any]:
        """Server-side apply, as the control plane applies ``kura render``'s objects."""
        metadata = obj["metadata"]
        group, _, version = str(obj["apiVersion"]).rpartition("/")
        base = f"/apis/{group}/{version}" if group else f"/api/{version}"
        plural = self.kube.store.resource_for(obj["apiVersion"], obj["kind"]).plural
        path = f"{base}/namespaces/{metadata['namespace']}/{plural}/{metadata['name']}"
        request = urllib.request.Request(
            f"{self.kube.url}{path}?fieldManager={manager}&force=true",
            data=json.dumps(obj).encode(),
            method="PATCH",
            headers={"Content-Type": "application/apply-patch+yaml"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return dict(json.loads(answer.read()))

    def create_gateway(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        return self.request(
            "POST", f"/apis/kura.tuist.dev/v1alpha1/namespaces/{NAMESPACE}/{GATEWAYS}", manifest
        )

    def patch_gateway(self, name: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        return self.request(
            "PATCH",
            f"/apis/kura.tuist.dev/v1alpha1/namespaces/{NAMESPACE}/{GATEWAYS}/{name}",
            patch,
        )

    def delete_gateway(self, name: str) -> None:
        self.request(
            "DELETE", f"/apis/kura.tuist.dev/v1alpha1/namespaces/{NAMESPACE}/{GATEWAYS}/{name}"
        )

    def gateway(self, name: str) -> dict[str, Any] | None:
        return self.kube.get(GATEWAYS, NAMESPACE, name)

    def phase(self, name: str, plural: str = GATEWAYS) -> str | None:
        found = self.kube.get(plural, NAMESPACE, name)
        return None if found is None else (found.get("status") or {}).get("phase")

    def create_instance(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        return self.request(
            "POST", f"/apis/kura.tuist.dev/v1alpha1/namespaces/{NAMESPACE}/{INSTANCES}", manifest
        )

    def patch_instance(self, name: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        return self.request(
            "PATCH",
            f"/apis/kura.tuist.dev/v1alpha1/namespaces/{NAMESPACE}/{INSTANCES}/{name}",
            patch,
        )

    def delete_instance(self, name: str) -> None:
        self.request(
            "DELETE", f"/apis/kura.tuist.dev/v1alpha1/namespaces/{NAMESPACE}/{INSTANCES}/{name}"
        )

    def instance(self, name: str) -> dict[str, Any] | None:
        return self.kube.get(INSTANCES, NAMESPACE, name)

    def wait_instance_phase(self, name: str, phase: str, timeout: float = 20.0) -> dict[str, Any]:
        """The instance once its status says ``phase`` about its current generation."""

        def current() -> bool:
            instance = self.instance(name) or {"metadata": {}}
            status = instance.get("status") or {}
            return status.get("phase") == phase and (
                status.get("observedGeneration") == instance["metadata"].get("generation")
            )

        self.wait(current, f"{name} to be {phase}", timeout)
        instance = self.instance(name)
        assert instance is not None
        return instance

    def wait(self, predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
        # wait_until wakes on writes; short slices also catch conditions about reads.
        deadline = time.monotonic() + timeout
        while not self.kube.wait_until(predicate, 0.05):
            if time.monotonic() > deadline:
                break
        else:
            return
        if not predicate():
            logs = "\n".join(o.log_path.read_text()[-4000:] for o in self.operators)
            raise AssertionError(f"timed out waiting for {what}\n--- operator logs ---\n{logs}")

    def wait_phase(
        self, name: str, phase: str, timeout: float = 20.0, *, plural: str = GATEWAYS
    ) -> dict[str, Any]:
        self.wait(lambda: self.phase(name, plural) == phase, f"{name} to be {phase}", timeout)
        found = self.kube.get(plural, NAMESPACE, name)
        assert found is not None
        return found

    def make_ready(self, name: str, *, address: str = "203.0.113.7") -> None:
        """Play the Deployment and Service controllers for one gateway."""
        workload = f"{name}-controller"
        self.wait(
            lambda: self.kube.get("deployments", NAMESPACE, workload) is not None,
            f"deployment {workload}",
        )
        deployment = self.kube.get("deployments", NAMESPACE, workload)
        assert deployment is not None
        replicas = deployment["spec"]["replicas"]
        self.kube.patch_status(
            "deployments", NAMESPACE, workload, {"replicas": replicas, "readyReplicas": replicas}
        )
        self.kube.patch_status(
            "services", NAMESPACE, workload, {"loadBalancer": {"ingress": [{"ip": address}]}}
        )

    def make_instance_ready(self, name: str, *, ready: int | None = None) -> None:
        """Play the StatefulSet controller: ``ready`` (default: all) Ready pods, rolled out."""
        self.wait(
            lambda: self.kube.get("statefulsets", NAMESPACE, name) is not None,
            f"statefulset {name}",
        )
        stateful_set = self.kube.get("statefulsets", NAMESPACE, name)
        assert stateful_set is not None
        replicas = stateful_set["spec"]["replicas"]
        ready = replicas if ready is None else ready
        labels = stateful_set["spec"]["template"]["metadata"]["labels"]
        for ordinal in range(replicas):
            pod = f"{name}-{ordinal}"
            self.kube.put_object(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": pod,
                        "namespace": NAMESPACE,
                        "labels": {**labels, "statefulset.kubernetes.io/pod-name": pod},
                    },
                    "spec": {"containers": [{"name": "kura", "image": IMAGE}]},
                    "status": {
                        "phase": "Running",
                        "conditions": [
                            {"type": "Ready", "status": "True" if ordinal < ready else "False"}
                        ],
                    },
                }
            )
        generation = stateful_set["metadata"]["generation"]
        revision = f"{name}-{generation}"
        self.kube.patch_status(
            "statefulsets",
            NAMESPACE,
            name,
            {
                "observedGeneration": generation,
                "replicas": replicas,
                "readyReplicas": ready,
                "currentReplicas": replicas,
                "updatedReplicas": replicas,
                "currentRevision": revision,
                "updateRevision": revision,
            },
        )

    def revision(self, name: str) -> str:
        """The instance StatefulSet's current revision, as its controller named it."""
        stateful_set = self.kube.get("statefulsets", NAMESPACE, name)
        assert stateful_set is not None
        return str(stateful_set["status"]["updateRevision"])

    def seed_regional_class(self, region: str = "us-east") -> dict[str, Any]:
        """The region's shared IngressClass, as the platform chart's ingress-nginx installs it."""
        return self.kube.put_object(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "IngressClass",
                "metadata": {
                    "name": f"kura-{region}",
                    "labels": {
                        "app.kubernetes.io/name": "ingress-nginx",
                        "app.kubernetes.io/instance": "platform",
                        "app.kubernetes.io/component": "controller",
                        "app.kubernetes.io/managed-by": "Helm",
                    },
                },
                "spec": {"controller": f"k8s.io/kura-{region}-ingress-nginx"},
            }
        )

    def put_ingress_class(self, name: str, controller: str) -> dict[str, Any]:
        """An IngressClass made by hand: no labels, only its controller."""
        return self.kube.put_object(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "IngressClass",
                "metadata": {"name": name},
                "spec": {"controller": controller},
            }
        )

    def children(self, name: str) -> dict[str, dict[str, Any] | None]:
        workload = f"{name}-controller"
        gateway = self.gateway(name) or {}
        class_name = (gateway.get("spec") or {}).get("ingressClassName", "")
        return {
            "ConfigMap": self.kube.get("configmaps", NAMESPACE, workload),
            "Service": self.kube.get("services", NAMESPACE, workload),
            "Deployment": self.kube.get("deployments", NAMESPACE, workload),
            "IngressClass": self.kube.get("ingressclasses", None, class_name),
        }

    def events(self, name: str, namespace: str = NAMESPACE) -> list[dict[str, Any]]:
        """The core Events about the kura object ``name``, oldest first (a StatefulSet of the
        same name has its own, from its controller)."""
        found = [
            event
            for event in self.kube.objects("events", namespace)
            if event["involvedObject"]["name"] == name
            and event["involvedObject"].get("apiVersion", "").startswith("kura.tuist.dev/")
        ]
        return sorted(found, key=lambda event: int(event["metadata"]["resourceVersion"]))


@contextmanager
def cluster(workdir: Path) -> Iterator[Cluster]:
    with KubeDouble.in_thread() as kube:
        kube.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        running = Cluster(kube, workdir)
        try:
            yield running
        finally:
            for operator in running.operators:
                operator.stop()


def as_rendered(spec: dict[str, Any] | None) -> dict[str, Any] | None:
    """A spec without what the API server allocates anew for a re-created Service."""
    if spec is None or "ports" not in spec:
        return spec
    allocated = {"clusterIP", "clusterIPs", "healthCheckNodePort"}
    kept = {key: value for key, value in spec.items() if key not in allocated}
    kept["ports"] = [{k: v for k, v in p.items() if k != "nodePort"} for p in spec["ports"]]
    return kept


PUBLIC_TLS_ENV = ("KURA_PUBLIC_TLS_", "KURA_GRPC_TLS_")


def assert_no_public_tls(pod_template: Mapping[str, Any]) -> None:
    """No public or gRPC TLS in a Kura pod (env, ports, mounts, Secrets): the gateway ends it."""
    pod_spec = pod_template["spec"]
    for container in pod_spec["containers"]:
        names = [entry["name"] for entry in container.get("env", [])]
        assert not [n for n in names if n.startswith(PUBLIC_TLS_ENV) or n == "KURA_HTTPS_PORT"]
        ports = container.get("ports", [])
        assert not [p for p in ports if p.get("name") == "https" or p["containerPort"] == 443]
        paths = [m["mountPath"] for m in container.get("volumeMounts", [])]
        assert not [p for p in paths if "public" in p or "grpc-tls" in p]
    # The only Secret a Kura pod mounts is its peer mTLS material, whatever that Secret is named.
    secrets = [v["name"] for v in pod_spec.get("volumes", []) if "secret" in v]
    assert secrets in ([], ["peer-tls"]), secrets
