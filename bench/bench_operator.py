"""Converge 1,000 KuraGateways from empty, then restart and resync the operator.

Run: ``uv run python bench/bench_operator.py [--gateways N] [--real] [--json FILE]``.

The real ``kura-operator`` process runs against the Kubernetes double on loopback, or with
``--real`` against the real control plane (``uv run kura-envtest install`` first) as its own
ServiceAccount with the deploy base's RBAC, where requests are counted from the API server's audit
log. This process plays what the double lacks (Deployment readiness) or what the control plane
lacks (the kubelet's pod status), and the cloud controller's LB addresses. Prints: convergence wall
time, API requests and writes per gateway (mean and max), the operator's peak RSS; then, for a
restart and a resync of the Ready gateways, their writes (target 0) and reads. Figures, not
assertions.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._figures import add_json_option, write
from kura_testing.kube_double import KubeDouble, RequestRecord
from kura_testing.kubelet import pod_status
from tests.operator.harness import NAMESPACE, Cluster, OperatorProcess, cluster, gateway_manifest
from tests.operator.real_cluster import RealKube, own_cluster

Kube = KubeDouble | RealKube


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
        # One list per kind a round: reads per gateway would load the server being measured.
        services = {s["metadata"]["name"] for s in kube.objects("services", NAMESPACE)}
        for deployment in kube.objects("deployments", NAMESPACE):
            name = deployment["metadata"]["name"]
            if name in done or name not in services:
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


def requests_made(operator: OperatorProcess) -> float:
    """The operator's own count of its API requests (cheap on both backends)."""
    scrape = operator.metrics()
    return sum(
        operator.metric("kura_operator_api_requests_total", scrape=scrape, verb=verb, code=code)
        for verb in ("get", "list", "create", "patch", "update", "delete")
        for code in ("200", "201", "404", "409", "422", "0")
    )


def wait_quiet(operator: OperatorProcess, quiet: float = 3.0, timeout: float = 1800.0) -> None:
    """Until the operator has sent no request for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    seen, since = requests_made(operator), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = requests_made(operator)
        if now != seen:
            seen, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
    raise TimeoutError("the operator never went quiet")


def ready_count(kube: Kube) -> int:
    gateways = kube.objects("kuragateways", NAMESPACE)
    return sum((g.get("status") or {}).get("phase") == "Ready" for g in gateways)


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
    manifests = [gateway_manifest(10_000 + i) for i in range(count)]
    names = [m["metadata"]["name"] for m in manifests]
    kube.clear_requests()
    stop = threading.Event()
    controllers = threading.Thread(target=play_controllers, args=(kube, stop), daemon=True)
    controllers.start()
    started = time.perf_counter()
    for manifest in manifests:
        running.create_gateway(manifest)
    # One list a second: per-gateway reads would load the server this bench measures against.
    deadline = time.monotonic() + 3600
    while ready_count(kube) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{ready_count(kube)} of {count} gateways Ready")
        time.sleep(1)
    elapsed = time.perf_counter() - started
    stop.set()
    controllers.join()
    wait_quiet(operator)
    requests = [r for r in kube.requests if r.resource is not None]
    writes = [r for r in requests if r.is_write]
    counts = per_gateway(requests, names)
    write_counts = per_gateway(writes, names)
    figures.update(
        converge_seconds=round(elapsed, 1),
        requests_per_gateway=round(len(requests) / count, 1),
        writes_per_gateway=round(len(writes) / count, 1),
        max_requests_by_name=max(counts),
        max_writes_by_name=max(write_counts),
        converge_peak_rss_mib=round(peak_rss_mib(operator)),
    )
    print(f"converge {count} gateways from empty: {elapsed:.1f} s wall")
    print(
        f"  {len(requests)} API requests to resources, {len(requests) / count:.1f} per gateway, "
        f"{len(writes) / count:.1f} of them writes"
    )
    print(
        f"  per gateway (by name): mean {statistics.mean(counts):.1f}, max {max(counts)}; "
        f"writes mean {statistics.mean(write_counts):.1f}, max {max(write_counts)}"
    )
    print(f"  operator peak RSS: {peak_rss_mib(operator):.0f} MiB")
    return operator


def restart_and_resync(
    running: Cluster, first: OperatorProcess, count: int, figures: dict[str, float]
) -> None:
    kube: Kube = running.kube
    first.stop()
    kube.clear_requests()
    # Long enough between resyncs for the restart's reads to finish and one resync to stand alone.
    operator = running.start_operator("--resync", "45")
    wait_quiet(operator)
    restart = [r for r in kube.requests if r.resource is not None]
    restart_writes = sum(r.is_write for r in restart)
    print(
        f"restart with {count} Ready gateways: {restart_writes} writes, "
        f"{len(restart) - restart_writes} reads"
    )
    kube.clear_requests()
    running.wait(
        lambda: bool(kube.requests_matching(verb="list", resource="kuragateways")),
        "a resync",
        timeout=120,
    )
    wait_quiet(operator)
    requests = [r for r in kube.requests if r.resource is not None]
    writes = [r for r in requests if r.is_write]
    reads = len(requests) - len(writes)
    print(
        f"resync of {count} Ready gateways: {len(writes)} writes, {reads} reads "
        f"({reads / count:.1f} per gateway)"
    )
    print(f"  operator peak RSS: {peak_rss_mib(operator):.0f} MiB")
    figures.update(
        restart_writes=restart_writes,
        restart_reads=len(restart) - restart_writes,
        resync_writes=len(writes),
        resync_reads_per_gateway=round(reads / count, 1),
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
    with own_cluster(workdir, "bench", node_ports="30000-60000", audit_reads=True) as running:
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
    write(
        args.json, "bench_operator", args, {"backend": "real" if args.real else "double", **figures}
    )


if __name__ == "__main__":
    main()
