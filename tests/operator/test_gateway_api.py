"""A region on the Gateway API provider, end to end on the real control plane.

The official Gateway API CRDs and Envoy Gateway's are installed (``kura_platform_crds``), so every
object the operator applies passes their schemas and CEL rules. The operator runs as its
ServiceAccount with the deploy base plus ``deploy/components/gateway-api``; the test plays Envoy
Gateway, which would accept the Gateway, program it and give it an address.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kura_operator import access as access_scope
from kura_testing.control_plane import ControlPlane
from tests.operator.conftest import REAL
from tests.operator.deploy_base import DEPLOY, NAMESPACE, OPERATOR_ACCOUNT, render
from tests.operator.harness import gateway_manifest, instance_manifest
from tests.operator.real_cluster import RealCluster, real_cluster
from tests.operator.test_rbac import CLUSTER, Permission, grants, grants_it, needs, used_by

pytestmark = REAL

COMPONENT = DEPLOY / "components" / "gateway-api"
REGION = "lab-west"
ADDRESS = "203.0.113.44"
GATEWAY_API = "gateway.networking.k8s.io"
ENVOY = "gateway.envoyproxy.io"


def overlay(directory: Path) -> Path:
    """An overlay of the deploy base with the gateway-api component, as a cluster admin writes
    one."""
    directory.mkdir()
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(DEPLOY, directory)],
        "components": [os.path.relpath(COMPONENT, directory)],
    }
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    return directory


def lab_catalog(directory: Path, provider: str = "gateway-api") -> Path:
    """Env ``lab``: us-east on ingress-nginx, lab-west on ``provider``."""
    region = {"display_name": "Lab", "location": "hil"}
    regions = [
        {**region, "id": "us-east", "location": "ash", "node_pool": "kura-us-east"},
        {**region, "id": REGION, "node_pool": "kura-lab", "ingress_provider": provider},
    ]
    directory.mkdir(parents=True, exist_ok=True)
    catalog = directory / "catalog.yaml"
    catalog.write_text(yaml.safe_dump({"environments": {"lab": regions}}))
    return catalog


@pytest.fixture
def rendered(tmp_path: Path) -> list[dict[str, Any]]:
    return render(overlay(tmp_path / "overlay"))


@pytest.fixture
def cluster(
    operator_control_plane: ControlPlane,
    kube_namespace: str,
    tmp_path: Path,
    rendered: list[dict[str, Any]],
) -> Iterator[RealCluster]:
    with real_cluster(operator_control_plane, tmp_path, kube_namespace, rendered) as running:
        yield running


def program(
    cluster: RealCluster, gateway: str, *, namespace: str = NAMESPACE, address: str = ADDRESS
) -> None:
    """What Envoy Gateway does with an accepted Gateway: programs it and gives it an address."""
    cluster.wait(lambda: cluster.kube.get("gateways", namespace, gateway) is not None, gateway)
    live = cluster.kube.get("gateways", namespace, gateway) or {}
    generation = live["metadata"]["generation"]
    conditions = [
        {
            "type": kind,
            "status": "True",
            "reason": kind,
            "message": "Address assigned to the Gateway, 2/2 envoy replicas available"
            if kind == "Programmed"
            else "Valid Gateway",
            "observedGeneration": generation,
            "lastTransitionTime": "2026-12-06T08:00:00Z",
        }
        for kind in ("Accepted", "Programmed")
    ]
    cluster.kube.patch_status(
        "gateways",
        namespace,
        gateway,
        {"conditions": conditions, "addresses": [{"type": "IPAddress", "value": address}]},
    )


def ready_on_gateway_api(cluster: RealCluster, name: str, gateway: str) -> dict[str, Any]:
    """Wait for KuraGateway ``name`` to be Ready at the Gateway's address, playing Envoy Gateway
    meanwhile: a Gateway the operator applied again (a new generation) is programmed again, as
    the controller would."""

    def ready() -> bool:
        live = cluster.kube.get("gateways", NAMESPACE, gateway)
        if live is None:
            return False
        seen = {
            c.get("observedGeneration") for c in (live.get("status") or {}).get("conditions") or []
        }
        if seen != {live["metadata"]["generation"]}:
            program(cluster, gateway)
        status = (cluster.gateway(name) or {}).get("status") or {}
        return status.get("phase") == "Ready" and status.get("loadBalancer") == ADDRESS

    cluster.wait(ready, f"{name} to be Ready on its Gateway", 60)
    found = cluster.gateway(name)
    assert found is not None
    return found


def test_a_dedicated_gateway_and_its_instance_run_on_the_gateway_api(
    cluster: RealCluster, tmp_path: Path, rendered: list[dict[str, Any]]
) -> None:
    operator = cluster.start_operator(
        "--catalog", str(lab_catalog(tmp_path)), "--env", "lab", "--resync", "0.5"
    )
    kube = cluster.kube
    manifest = gateway_manifest(46, region="us-east")
    manifest["spec"]["region"] = REGION
    manifest["spec"]["loadBalancerAnnotations"] = {}
    name = manifest["metadata"]["name"]
    gateway_class = manifest["spec"]["ingressClassName"]
    cluster.create_gateway(manifest)

    # The Gateway is named after the class, and nothing of ingress-nginx is made.
    ready = ready_on_gateway_api(cluster, name, gateway_class)
    assert ready["status"]["loadBalancer"] == ADDRESS
    assert ready["status"]["readyReplicas"] == 2
    for plural in ("envoyproxies", "clienttrafficpolicies"):
        assert kube.get(plural, NAMESPACE, gateway_class) is not None, plural
    assert kube.objects("deployments", NAMESPACE) == []
    assert kube.objects("ingressclasses") == []

    account = instance_manifest(46, "gwapi", region="us-east")
    account["spec"]["region"] = REGION
    account["spec"]["ingressClassName"] = gateway_class
    account["metadata"].setdefault("annotations", {})["tuist.dev/kura-gateway"] = name
    instance_name = account["metadata"]["name"]
    cluster.create_instance(account)
    cluster.make_instance_ready(instance_name)
    cluster.wait_instance_phase(instance_name, "Ready")
    listener_set = kube.get("listenersets", NAMESPACE, instance_name) or {}
    assert listener_set["spec"]["parentRef"]["name"] == gateway_class
    assert kube.get("httproutes", NAMESPACE, instance_name) is not None
    assert kube.get("grpcroutes", NAMESPACE, f"{instance_name}-grpc") is not None
    assert kube.objects("ingresses", NAMESPACE) == []
    # Only the Gateway's proxies may reach the instance's HTTP and gRPC ports.
    policy = kube.get("networkpolicies", NAMESPACE, instance_name) or {}
    peers = [rule["from"] for rule in policy["spec"]["ingress"] if len(rule.get("ports", [])) == 2]
    owning = {"gateway.envoyproxy.io/owning-gateway-name": gateway_class}
    assert peers == [[{"podSelector": {"matchLabels": owning}}]]

    # Steady state: resyncs read from the cache, and write nothing.
    before_steady_state = cluster.real.requests
    kube.clear_requests()
    done = {"kind": "KuraInstance", "result": "ok"}
    reconciled = operator.metric("kura_operator_reconciles_total", **done)
    cluster.wait(
        lambda: operator.metric("kura_operator_reconciles_total", **done) >= reconciled + 3,
        "three resyncs",
    )
    assert kube.writes() == []

    # A route deleted by hand comes back.
    kube.delete("grpcroutes", NAMESPACE, f"{instance_name}-grpc")
    cluster.wait(
        lambda: kube.get("grpcroutes", NAMESPACE, f"{instance_name}-grpc") is not None,
        "the GRPCRoute to come back",
    )

    # Hosts taken out: what routed them is pruned, gRPC first, then everything.
    cluster.patch_instance(instance_name, {"spec": {"grpcPublicHost": None}})
    cluster.wait(
        lambda: kube.get("grpcroutes", NAMESPACE, f"{instance_name}-grpc") is None,
        "the GRPCRoute to be pruned",
    )
    assert kube.get("httproutes", NAMESPACE, instance_name) is not None
    cluster.patch_instance(instance_name, {"spec": {"publicHost": None}})
    routes = {
        "listenersets": instance_name,
        "httproutes": instance_name,
        "backendtrafficpolicies": instance_name,
        "httproutefilters": f"{instance_name}-private",
    }
    cluster.wait(
        lambda: all(kube.get(plural, NAMESPACE, route) is None for plural, route in routes.items()),
        "every route of the instance to be pruned",
    )
    # The gateway's own redirect route is not the instance's.
    assert kube.get("httproutes", NAMESPACE, f"{gateway_class}-https-redirect") is not None
    cluster.wait_instance_phase(instance_name, "Ready")

    kube.delete("kurainstances", NAMESPACE, instance_name)
    cluster.wait(lambda: cluster.instance(instance_name) is None, "the instance to go")

    # A class renamed: a new Gateway (named after the class), and the old one's objects go.
    renamed = f"{gateway_class}-b"
    cluster.patch_gateway(name, {"spec": {"ingressClassName": renamed}})
    ready_on_gateway_api(cluster, name, renamed)
    cluster.wait(
        lambda: (
            all(
                kube.get(plural, NAMESPACE, gateway_class) is None
                for plural in ("gateways", "envoyproxies", "clienttrafficpolicies")
            )
            and kube.get("httproutes", NAMESPACE, f"{gateway_class}-https-redirect") is None
        ),
        "the old class's objects to go",
        60,
    )

    kube.delete("kuragateways", NAMESPACE, name)
    cluster.wait(lambda: cluster.gateway(name) is None, "the gateway to go")
    cluster.wait(
        lambda: all(
            kube.objects(plural, NAMESPACE) == []
            for plural in ("gateways", "listenersets", "httproutes", "grpcroutes", "envoyproxies")
        ),
        "their Gateway API objects to be collected",
    )

    # Least privilege, both ways, for the component: what the Gateway API kinds needed is
    # exactly what it grants.
    requests = [
        r
        for r in [*before_steady_state, *cluster.real.requests]
        if r.resource is not None and r.group in (GATEWAY_API, ENVOY)
    ]
    assert [str(r) for r in requests if r.status == 403] == [], "the API server refused"
    required = {need for record in requests for need in needs(record, cluster.real.client.resource)}
    every = grants(rendered, OPERATOR_ACCOUNT)
    granted = {g for g in every if g.group in (GATEWAY_API, ENVOY)}
    # (The component's deletes of an ingress-nginx workload are the next test's.)
    missing = sorted(str(n) for n in required if not any(grants_it(g, n) for g in every))
    unused = sorted(str(g) for g in granted if not any(used_by(g, n) for n in required))
    assert missing == [], "requested but not granted"
    assert unused == [], "granted but never requested"


def test_a_gateway_whose_region_moves_to_the_gateway_api_leaves_no_ingress_nginx_behind(
    cluster: RealCluster, tmp_path: Path
) -> None:
    kube = cluster.kube
    catalog = lab_catalog(tmp_path / "before", provider="ingress-nginx")
    before = cluster.start_operator("--catalog", str(catalog), "--env", "lab")
    manifest = gateway_manifest(47, region="us-east")
    manifest["spec"]["region"] = REGION
    manifest["spec"]["loadBalancerAnnotations"] = {}
    name = manifest["metadata"]["name"]
    gateway_class = manifest["spec"]["ingressClassName"]
    workload = f"{name}-controller"
    cluster.create_gateway(manifest)
    cluster.make_ready(name)
    cluster.wait_phase(name, "Ready")
    assert kube.get("ingressclasses", None, gateway_class) is not None
    assert before.stop() == 0

    # The region moves: the operator restarts with the new catalog.
    cluster.start_operator("--catalog", str(lab_catalog(tmp_path / "after")), "--env", "lab")
    ready = ready_on_gateway_api(cluster, name, gateway_class)
    assert ready["status"]["loadBalancer"] == ADDRESS
    cluster.wait(
        lambda: (
            all(
                kube.get(plural, NAMESPACE, workload) is None
                for plural in ("deployments", "services", "configmaps")
            )
            and kube.get("ingressclasses", None, gateway_class) is None
        ),
        "the ingress-nginx workload and class to go",
        60,
    )
    assert [str(r) for r in cluster.real.requests if r.status == 403] == []


def test_the_self_check_asks_for_exactly_what_the_component_grants() -> None:
    component = [o for o in render(COMPONENT) if o["kind"] == "Role"]
    (role,) = component
    table = {
        Permission(NAMESPACE, access.verb, access.group, access.resource)
        for access in access_scope.gateway_api_required()
    }
    granted = {
        Permission(NAMESPACE, verb, group, resource)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert table == granted
    assert CLUSTER not in {p.scope for p in table}
