"""Playing the kubelet: there are no nodes in the test control plane, so tests mark pods Ready.

The real Deployment, ReplicaSet and StatefulSet controllers create the pods and compute every
replica count and revision from them; only the pods' own status, which a kubelet would report,
is written here.
"""

from __future__ import annotations

import datetime
from typing import Any

from kura_testing.client import KubeClient, wait_for


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod_status(pod: dict[str, Any], *, ready: bool, address: str) -> dict[str, Any]:
    """A Running pod's status as a kubelet reports it: every container started, ready or not."""
    now = _now()
    flag = "True" if ready else "False"
    containers = pod["spec"]["containers"]
    return {
        "phase": "Running",
        "podIP": address,
        "podIPs": [{"ip": address}],
        "hostIP": "127.0.0.1",
        "startTime": now,
        "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
            {"type": "Initialized", "status": "True", "lastTransitionTime": now},
            {"type": "ContainersReady", "status": flag, "lastTransitionTime": now},
            {"type": "Ready", "status": flag, "lastTransitionTime": now},
        ],
        "containerStatuses": [
            {
                "name": container["name"],
                "image": container["image"],
                "imageID": "",
                "ready": ready,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": now}},
            }
            for container in containers
        ],
    }


def _is_ready(pod: dict[str, Any]) -> bool | None:
    conditions = (pod.get("status") or {}).get("conditions") or []
    found = [c["status"] == "True" for c in conditions if c["type"] == "Ready"]
    return found[0] if found else None


def report_pods(
    client: KubeClient,
    namespace: str,
    selector: str,
    *,
    count: int | None = None,
    ready: int | None = None,
) -> int:
    """One kubelet pass: the first ``ready`` (default: all) of the first ``count`` (default: all)
    pods matching ``selector``, by name, report Running and Ready, the rest Running and not
    Ready. Returns how many pods there were (the controllers may not have made them all yet)."""
    pods = sorted(
        (
            p
            for p in client.list("pods", namespace, selector=selector)
            if not p["metadata"].get("deletionTimestamp")
        ),
        key=lambda p: p["metadata"]["name"],
    )
    count = len(pods) if count is None else count
    ready = count if ready is None else ready
    for index, pod in enumerate(pods[:count]):
        want = index < ready
        if _is_ready(pod) is not want:
            client.merge_patch(
                "pods",
                namespace,
                pod["metadata"]["name"],
                {"status": pod_status(pod, ready=want, address=f"10.244.0.{10 + index}")},
                status=True,
            )
    return len(pods)


def run_pods(
    client: KubeClient,
    namespace: str,
    selector: str,
    *,
    count: int,
    ready: int | None = None,
    timeout: float = 30.0,
) -> None:
    """Wait for ``count`` pods matching ``selector`` and report them as :func:`report_pods` does."""
    wait_for(
        lambda: report_pods(client, namespace, selector, count=count, ready=ready) >= count,
        f"{count} pods matching {selector} in {namespace}",
        timeout,
    )


def selector_of(workload: dict[str, Any]) -> str:
    """A Deployment's or StatefulSet's ``matchLabels`` as a label selector."""
    labels = workload["spec"]["selector"]["matchLabels"]
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
