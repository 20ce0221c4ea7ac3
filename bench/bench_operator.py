"""Converge 1,000 KuraGateways from empty, then resync them, against the Kubernetes double.

Run: ``uv run python bench/bench_operator.py [--gateways N]``.

The real ``kura-operator`` process runs against the HTTP double on loopback; this process plays
the Deployment and Service controllers (ready replicas, LB addresses) as gateways appear.
Prints: convergence wall time, API requests per gateway (mean and max), the operator's peak
RSS; then, for a resync of the Ready gateways, the write requests (target 0) and read requests.
Figures, not assertions.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.operator.harness import NAMESPACE, Cluster, OperatorProcess, cluster, gateway_manifest
from tests.support.kube_double import KubeDouble, RequestRecord


def peak_rss_mib(operator: OperatorProcess) -> float:
    status = Path(f"/proc/{operator.process.pid}/status").read_text()
    (line,) = [line for line in status.splitlines() if line.startswith("VmHWM:")]
    return int(line.split()[1]) / 1024


def play_controllers(kube: KubeDouble, stop: threading.Event) -> None:
    """Mark gateway Deployments ready and give their Services an address, as they appear."""
    done: set[str] = set()
    while not stop.is_set():
        for deployment in kube.objects("deployments", NAMESPACE):
            name = deployment["metadata"]["name"]
            if name in done or kube.get("services", NAMESPACE, name) is None:
                continue
            replicas = deployment["spec"]["replicas"]
            kube.patch_status(
                "deployments", NAMESPACE, name, {"replicas": replicas, "readyReplicas": replicas}
            )
            kube.patch_status(
                "services", NAMESPACE, name, {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}}
            )
            done.add(name)
        stop.wait(1.0)


def wait_quiet(kube: KubeDouble, quiet: float = 1.5, timeout: float = 600.0) -> None:
    """Until no request has arrived for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    seen, since = len(kube.requests), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = len(kube.requests)
        if now != seen:
            seen, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
    raise TimeoutError("the operator never went quiet")


def ready_count(kube: KubeDouble) -> int:
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


def converge(running: Cluster, count: int) -> tuple[OperatorProcess, list[str]]:
    kube = running.kube
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
    # One list a second: per-gateway reads would load the double this bench measures against.
    deadline = time.monotonic() + 1800
    while ready_count(kube) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{ready_count(kube)} of {count} gateways Ready")
        time.sleep(1)
    elapsed = time.perf_counter() - started
    stop.set()
    controllers.join()
    wait_quiet(kube)
    requests = [r for r in kube.requests if r.resource is not None]
    counts = per_gateway(requests, names)
    print(f"converge {count} gateways from empty: {elapsed:.1f} s wall")
    print(f"  {len(requests)} API requests to resources, {len(requests) / count:.1f} per gateway")
    print(f"  per gateway (by name): mean {statistics.mean(counts):.1f}, max {max(counts)}")
    print(f"  operator peak RSS: {peak_rss_mib(operator):.0f} MiB")
    return operator, names


def resync(running: Cluster, first: OperatorProcess, count: int) -> None:
    kube = running.kube
    first.stop()
    kube.clear_requests()
    # Long enough between resyncs for the restart's reads to finish and one resync to stand alone.
    operator = running.start_operator("--resync", "45")
    wait_quiet(kube)
    restart = [r for r in kube.requests if r.resource is not None]
    print(
        f"restart with {count} Ready gateways: {sum(r.is_write for r in restart)} writes, "
        f"{sum(not r.is_write for r in restart)} reads"
    )
    kube.clear_requests()
    running.wait(
        lambda: bool(kube.requests_matching(verb="list", resource="kuragateways")),
        "a resync",
        timeout=60,
    )
    wait_quiet(kube)
    requests = [r for r in kube.requests if r.resource is not None]
    writes = [r for r in requests if r.is_write]
    print(
        f"resync of {count} Ready gateways: {len(writes)} writes, "
        f"{len(requests) - len(writes)} reads ({(len(requests) - len(writes)) / count:.1f} per "
        "gateway)"
    )
    print(f"  operator peak RSS: {peak_rss_mib(operator):.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateways", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir, cluster(Path(workdir)) as running:
        operator, _ = converge(running, args.gateways)
        resync(running, operator, args.gateways)


if __name__ == "__main__":
    main()
