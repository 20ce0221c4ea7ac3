"""What a KuraGateway costs the API server: the requests of its creation, and none after.

Reads come from the operator's cache, so creating a gateway sends only writes, each once; the
cache stays right when its watch cannot resume (410 Gone) and lists again. Counted on the real
control plane from the API server's audit log, and exactly on the double, whose controllers the
test plays in one step.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from kura_testing.kube_double import KubeDouble, RequestRecord
from tests.operator.conftest import REAL
from tests.operator.harness import NAMESPACE, Cluster, gateway_manifest

pytestmark = REAL

AGENT = "kura-operator/"


def operators(records: list[RequestRecord]) -> list[RequestRecord]:
    """The operator's requests to resources, but its watches and its self-check's questions."""
    return [
        r
        for r in records
        if (r.agent or "").startswith(AGENT)
        and r.resource is not None
        and r.verb != "watch"
        and r.group != "authorization.k8s.io"
    ]


def what(record: RequestRecord) -> tuple[str, str]:
    resource = f"{record.resource}/{record.subresource}" if record.subresource else record.resource
    return record.verb, str(resource)


def created_ready(cluster: Cluster, account_id: int) -> str:
    """A new gateway, Ready, with its Pending and Ready events; its name."""
    manifest = gateway_manifest(account_id)
    name = str(manifest["metadata"]["name"])
    cluster.create_gateway(manifest)
    cluster.make_ready(name)
    cluster.wait_phase(name, "Ready")
    cluster.wait(lambda: len(cluster.events(name)) == 2, "the Pending and Ready events")
    # Whatever the last event set off has had its coalescing delay (0.2 s) and run.
    time.sleep(1.0)
    return name


@pytest.mark.double  # its controllers make the gateway ready in one step
def test_creating_a_gateway_sends_its_writes_and_nothing_else(cluster: Cluster) -> None:
    cluster.start_operator()
    cluster.kube.clear_requests()
    created_ready(cluster, 60)

    sent = operators(cluster.kube.requests)
    assert Counter(what(r) for r in sent) == {
        ("patch", "kuragateways"): 1,  # the finalizer
        ("patch", "configmaps"): 1,
        ("patch", "services"): 1,
        ("patch", "ingressclasses"): 1,
        ("patch", "deployments"): 1,
        ("patch", "kuragateways/status"): 2,  # Pending, with the class; Ready
        ("create", "events"): 2,  # Pending, Ready
    }
    # Seven writes to the gateway and its children, two Events; no read at all.
    assert len(sent) == 9


def test_creating_a_gateway_reads_nothing_and_writes_each_thing_once(cluster: Cluster) -> None:
    cluster.start_operator()
    cluster.kube.clear_requests()
    name = created_ready(cluster, 61)

    sent = operators(cluster.kube.requests)
    assert [what(r) for r in sent if not r.is_write] == []
    children = Counter(what(r) for r in sent if r.subresource is None and r.verb != "create")
    assert children == {
        ("patch", "kuragateways"): 1,
        ("patch", "configmaps"): 1,
        ("patch", "services"): 1,
        ("patch", "ingressclasses"): 1,
        ("patch", "deployments"): 1,
    }
    # The status follows the gateway's progress (the real Deployment controller counts its pods
    # up one by one): never the same status twice.
    statuses = [str(r.body) for r in sent if r.subresource == "status"]
    assert len(statuses) >= 2
    assert len(set(statuses)) == len(statuses)
    assert {r.name for r in sent if r.name} <= {
        name,
        f"{name}-controller",
        gateway_manifest(61)["spec"]["ingressClassName"],
    }


@pytest.mark.double  # only the double forgets its watch history on demand
def test_a_child_deleted_while_the_watch_could_not_resume_is_restored(cluster: Cluster) -> None:
    kube = cluster.kube
    assert isinstance(kube, KubeDouble)
    cluster.start_operator()
    name = created_ready(cluster, 62)
    workload = f"{name}-controller"
    before = kube.get("configmaps", NAMESPACE, workload)
    assert before is not None

    # The watches go, and stay away for a second; meanwhile the ConfigMap is deleted and the
    # history a watch would resume from is lost: the resume gets 410 Gone, and only a new list
    # shows that the ConfigMap is gone.
    kube.hang(1.0, verb="watch", times=None)
    kube.drop_watches()
    kube.delete("configmaps", NAMESPACE, workload)
    kube.compact()
    kube.clear_requests()
    cluster.wait(
        lambda: (
            (kube.get("configmaps", NAMESPACE, workload) or before)["metadata"]["uid"]
            != before["metadata"]["uid"]
        ),
        "the ConfigMap to come back",
    )
    lists = [r.resource for r in operators(kube.requests) if r.verb == "list"]
    assert "configmaps" in lists


@pytest.mark.double  # fails the Deployment's apply on demand
def test_a_new_gateways_class_is_on_record_when_its_deployment_cannot_be_applied(
    cluster: Cluster,
) -> None:
    """A new gateway's class goes into its first status write, after the Deployment; when that
    apply fails, the class is put on record before the retry, so a rename finds it."""
    cluster.kube.inject(status=500, method="PATCH", resource="deployments", times=None)
    cluster.start_operator()
    manifest = gateway_manifest(63)
    name, class_name = manifest["metadata"]["name"], manifest["spec"]["ingressClassName"]
    cluster.create_gateway(manifest)
    cluster.wait(
        lambda: (
            ((cluster.gateway(name) or {}).get("status") or {}).get("ingressClassName")
            == class_name
        ),
        "the class on record",
        60,
    )
    assert cluster.kube.get("ingressclasses", None, class_name) is not None
    assert cluster.children(name)["Deployment"] is None
