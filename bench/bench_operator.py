"""Converge N KuraGateways from empty, then restart and resync the operator.

Run: ``uv run python bench/bench_operator.py [--gateways N] [--real] [--json FILE]``.

The real ``kura-operator`` process runs against the Kubernetes double on loopback, or with
``--real`` against the real control plane (``uv run kura-envtest install`` first) as its own
ServiceAccount with the deploy base's RBAC, where requests are counted from the API server's audit
log. This process plays what the double lacks (Deployment readiness) or what the control plane
lacks (the kubelet's pod status), and the cloud controller's LB addresses. Prints: convergence wall
time, the operator's API requests per gateway (reads, writes, Events; mean and max by name), its
peak RSS; then, for a restart and a resync of the Ready gateways, their lists, reads and writes
(targets: one list per kind, 0 reads per gateway, 0 writes) and how long the operator took to
reconcile every gateway from its cache; the load average at the end. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._figures import add_json_option, write
from kura_smoke.proc import cpu_seconds
from kura_testing.kube_double import KubeDouble, RequestRecord
from kura_testing.kubelet import pod_status
from tests.operator.harness import NAMESPACE, Cluster, OperatorProcess, cluster, gateway_manifest
from tests.operator.real_cluster import RealKube, own_cluster

Kube = KubeDouble | RealKube
AGENT = "kura-operator/"
READS = ("get", "list")


def peak_rss_mib(operator: OperatorProcess) -> float:
    status = Path(f"/proc/{operator.process.pid}/status").read_text()
    (line,) = [line for line in status.splitlines() if line.startswith("VmHWM:")]
    return int(line.split()[1]) / 1024


def play_controllers(kube: Kube, stop: threading.Event) -> None:
    """Make gateway Deployments ready and give their Services an address, as they appear."""
    done: set[str] = set()
    while not stop.is_set():
        if isinstance(kube, RealKube):
            run_pods(kube)
        # One list a round: reads per gateway would load the server being measured. The
        # operator applies a gateway's Service before its Deployment, so the Service is there.
        for deployment in kube.objects("deployments", NAMESPACE):
            name = deployment["metadata"]["name"]
            if name in done:
                continue
            replicas = deployment["spec"]["replicas"]
            if isinstance(kube, KubeDouble):
                kube.patch_status(
                    "deployments",
                    NAMESPACE,
                    name,
                    {"replicas": replicas, "readyReplicas": replicas},
                )
            elif (deployment.get("status") or {}).get("readyReplicas") != replicas:
                continue  # the real Deployment controller has not counted the pods yet
            kube.patch_status(
                "services", NAMESPACE, name, {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}}
            )
            done.add(name)
        stop.wait(1.0)


def run_pods(kube: RealKube) -> None:
    """The kubelet for every pod of the namespace: one list, one status write per new pod."""
    for pod in kube.objects("pods", NAMESPACE):
        if (pod.get("status") or {}).get("phase") != "Running":
            kube.patch_status(
                "pods",
                NAMESPACE,
                pod["metadata"]["name"],
                pod_status(pod, ready=True, address="10.244.0.9"),
            )


def reconciled(operator: OperatorProcess) -> float:
    return operator.metric("kura_operator_reconciles_total", kind="KuraGateway", result="ok")


def wait_reconciled(operator: OperatorProcess, count: float, timeout: float = 1800.0) -> None:
    """Until the operator has reconciled gateways ``count`` times since it started."""
    deadline = time.monotonic() + timeout
    while reconciled(operator) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{reconciled(operator):.0f} of {count:.0f} reconciles")
        time.sleep(0.5)


def operators_requests(kube: Kube) -> list[RequestRecord]:
    """The operator's requests to resources (not the bench's own), watches left out: each is one
    long request per kind, not a per-gateway cost."""
    return [
        r
        for r in kube.requests
        if r.resource is not None
        and (r.agent or "").startswith(AGENT)
        and r.verb != "watch"
        and r.group != "authorization.k8s.io"
    ]


def phase_counts(operator: OperatorProcess) -> tuple[int, int]:
    """The gateways with a status the operator wrote, and those of them Ready: its own gauges,
    one scrape rather than a list of every gateway (which would load the server measured)."""
    scrape = operator.metrics()
    ready = operator.metric("kura_operator_gateways", scrape=scrape, phase="Ready")
    pending = operator.metric("kura_operator_gateways", scrape=scrape, phase="Pending")
    return int(ready + pending), int(ready)


def create_all(running: Cluster, manifests: list[dict[str, Any]]) -> None:
    """Create the gateways as a client would, over one kept-alive connection on the double."""
    if isinstance(running.kube, RealKube):
        for manifest in manifests:
            running.create_gateway(manifest)
        return
    address = urlsplit(running.kube.url)
    connection = http.client.HTTPConnection(str(address.hostname), address.port, timeout=300)
    path = f"/apis/kura.tuist.dev/v1alpha1/namespaces/{NAMESPACE}/kuragateways"
    try:
        for manifest in manifests:
            body = json.dumps(manifest)
            connection.request("POST", path, body, {"Content-Type": "application/json"})
            answer = connection.getresponse()
            answer.read()
            if answer.status != 201:
                raise RuntimeError(f"creating a gateway: {answer.status} {answer.reason}")
    finally:
        connection.close()


def per_gateway(requests: list[RequestRecord], names: list[str]) -> list[int]:
    """Requests that name one gateway or one of its children (its name is their prefix)."""
    counts: Counter[str] = Counter()
    by_prefix = sorted(names, key=len, reverse=True)
    for request in requests:
        target = request.name or ""
        for name in by_prefix:
            if name in target:
                counts[name] += 1
                break
    return [counts[name] for name in names]


def converge(running: Cluster, count: int, figures: dict[str, float]) -> OperatorProcess:
    kube: Kube = running.kube
    operator = running.start_operator("--resync", "3600")
    # One replica each: the operator's work does not depend on the count, the controllers'
    # (ReplicaSets, pods and their kubelet's status on the real control plane) does.
    manifests = [gateway_manifest(10_000 + i, replicas=1) for i in range(count)]
    names = [m["metadata"]["name"] for m in manifests]
    kube.clear_requests()
    stop = threading.Event()
    controllers = threading.Thread(target=play_controllers, args=(kube, stop), daemon=True)
    controllers.start()
    cpu = cpu_seconds(operator.process.pid)
    started = time.perf_counter()
    create_all(running, manifests)
    created = time.perf_counter() - started
    deadline = time.monotonic() + 3600
    applied = None
    while (phases := phase_counts(operator))[1] < count:
        if applied is None and phases[0] >= count:
            applied = time.perf_counter() - started
        if time.monotonic() > deadline:
            raise TimeoutError(f"{phases[1]} of {count} gateways Ready")
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    applied = elapsed if applied is None else applied
    cpu = cpu_seconds(operator.process.pid) - cpu
    stop.set()
    controllers.join()
    operator.wait_quiet(quiet=3.0, timeout=1800.0)
    requests = operators_requests(kube)
    reads = [r for r in requests if r.verb in READS]
    events = [r for r in requests if r.resource == "events"]
    writes = [r for r in requests if r.is_write and r.resource != "events"]
    counts = per_gateway(requests, names)
    write_counts = per_gateway(writes, names)
    figures.update(
        converge_seconds=round(elapsed, 1),
        created_seconds=round(created, 1),
        applied_seconds=round(applied, 1),
        converge_operator_cpu_seconds=round(cpu, 1),
        requests_per_gateway=round(len(requests) / count, 2),
        reads_per_gateway=round(len(reads) / count, 2),
        writes_per_gateway=round(len(writes) / count, 2),
        events_per_gateway=round(len(events) / count, 2),
        max_requests_by_name=max(counts),
        max_writes_by_name=max(write_counts),
        converge_peak_rss_mib=round(peak_rss_mib(operator)),
    )
    print(
        f"converge {count} gateways from empty: {elapsed:.1f} s wall, "
        f"{cpu:.1f} s of the operator's CPU"
    )
    print(
        f"  created in {created:.1f} s; every gateway's children applied and its status written "
        f"in {applied:.1f} s; the rest is the controllers making them Ready"
    )
    print(
        f"  {len(requests)} API requests ({len(requests) / count:.2f} per gateway): "
        f"{len(reads) / count:.2f} reads, {len(writes) / count:.2f} writes to gateways and "
        f"children, {len(events) / count:.2f} Events per gateway"
    )
    print(
        f"  per gateway (by name, Events have none): mean {statistics.mean(counts):.2f}, "
        f"max {max(counts)}; writes mean {statistics.mean(write_counts):.2f}, "
        f"max {max(write_counts)}"
    )
    print(f"  operator peak RSS: {peak_rss_mib(operator):.0f} MiB")
    return operator


def restart_and_resync(
    running: Cluster, first: OperatorProcess, count: int, figures: dict[str, float]
) -> None:
    kube: Kube = running.kube
    first.stop()
    kube.clear_requests()
    # Long enough between resyncs for the restart to finish and one resync to stand alone.
    started = time.perf_counter()
    operator = running.start_operator("--resync", "60", ready_timeout=600)
    listed = time.perf_counter() - started
    wait_reconciled(operator, count)
    restarted = time.perf_counter() - started
    operator.wait_quiet(quiet=3.0, timeout=1800.0)
    restart = operators_requests(kube)
    restart_writes = sum(r.is_write for r in restart)
    restart_lists = Counter(str(r.resource) for r in restart if r.verb == "list")
    restart_gets = sum(r.verb == "get" for r in restart)
    print(
        f"restart with {count} Ready gateways: ready (every kind listed) in {listed:.1f} s, "
        f"every gateway reconciled in {restarted:.1f} s"
    )
    print(
        f"  {sum(restart_lists.values())} list pages over {len(restart_lists)} kinds "
        f"(most {max(restart_lists.values())} of one kind), {restart_gets} gets, "
        f"{restart_writes} writes"
    )
    kube.clear_requests()
    before = reconciled(operator)
    wait_reconciled(operator, before + count)
    operator.wait_quiet(quiet=3.0, timeout=1800.0)
    requests = operators_requests(kube)
    writes = [r for r in requests if r.is_write]
    reads = len(requests) - len(writes)
    print(
        f"resync of {count} Ready gateways: {len(writes)} writes, {reads} reads "
        f"({reads / count:.2f} per gateway)"
    )
    print(f"  operator peak RSS: {peak_rss_mib(operator):.0f} MiB")
    figures.update(
        restart_ready_seconds=round(listed, 1),
        restart_reconciled_seconds=round(restarted, 1),
        restart_list_pages=sum(restart_lists.values()),
        restart_listed_kinds=len(restart_lists),
        restart_gets=restart_gets,
        restart_writes=restart_writes,
        resync_writes=len(writes),
        resync_reads_per_gateway=round(reads / count, 2),
        resync_peak_rss_mib=round(peak_rss_mib(operator)),
    )


@contextmanager
def backend(real: bool, workdir: Path) -> Iterator[Cluster]:
    """The double with namespace kura, or the real control plane with the deploy base."""
    if not real:
        with cluster(workdir) as running:
            yield running
        return
    # Each gateway's Service takes three NodePorts (http, https, health check): the default
    # range holds about 920 gateways per cluster, so the bench widens it.
    # Its controllers at 200 requests a second rather than 20: thousands of Deployments would
    # otherwise wait on kube-controller-manager's rate limit, not on the operator.
    with own_cluster(
        workdir, "bench", node_ports="30000-60000", audit_reads=True, controller_qps=200
    ) as running:
        yield running


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateways", type=int, default=1000)
    parser.add_argument("--real", action="store_true", help="the real control plane")
    add_json_option(parser)
    args = parser.parse_args()
    figures: dict[str, float] = {"gateways": args.gateways}
    print(f"backend: {'real control plane (kura-envtest)' if args.real else 'Kubernetes double'}")
    with tempfile.TemporaryDirectory() as workdir, backend(args.real, Path(workdir)) as running:
        operator = converge(running, args.gateways, figures)
        restart_and_resync(running, operator, args.gateways, figures)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"load average (1, 5, 15 min): {load}")
    write(
        args.json, "bench_operator", args, {"backend": "real" if args.real else "double", **figures}
    )


if __name__ == "__main__":
    main()
