"""How public traffic reaches a KuraInstance: through the ingress class its spec names.

A shared account's instance is routed by its region's class (``kura-us-east``, installed by the
platform chart, which the tests seed); an Enterprise account's by the class of its dedicated
KuraGateway. The real operator runs on the real control plane; tests play the Deployment and
StatefulSet controllers.
"""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from kura_core.accounts import Plan
from kura_core.assignment import OVERRIDES_ENV
from kura_core.cli.app import build_cli
from kura_core.plugins import PluginHost
from tests.operator.conftest import REAL
from tests.operator.harness import NAMESPACE, Cluster, instance_manifest
from tests.support.field_cases import account_manifests

pytestmark = REAL

GATEWAY_ANNOTATION = "tuist.dev/kura-gateway"
STREAMING = {
    "nginx.ingress.kubernetes.io/proxy-body-size": "0",
    "nginx.ingress.kubernetes.io/proxy-buffering": "off",
    "nginx.ingress.kubernetes.io/proxy-request-buffering": "off",
}


def ingress_class(cluster: Cluster, name: str) -> str | None:
    ingress = cluster.kube.get("ingresses", NAMESPACE, name)
    return None if ingress is None else ingress["spec"]["ingressClassName"]


def enterprise(account_id: int, handle: str) -> tuple[dict[str, Any], dict[str, Any]]:
    gateway, instance = account_manifests(account_id, handle, plan=Plan.ENTERPRISE)
    assert (gateway["kind"], instance["kind"]) == ("KuraGateway", "KuraInstance")
    return gateway, instance


def test_a_shared_instance_in_us_east_is_routed_by_the_regional_class(cluster: Cluster) -> None:
    cluster.start_operator()
    manifest = instance_manifest(21, "shared")
    name = manifest["metadata"]["name"]
    assert manifest["spec"]["ingressClassName"] == "kura-us-east"
    assert GATEWAY_ANNOTATION not in manifest["metadata"].get("annotations", {})
    cluster.create_instance(manifest)
    cluster.make_instance_ready(name)

    # The platform's class is not installed yet: routed objects exist, the status says why
    # nothing reaches the instance.
    message = (
        "IngressClass 'kura-us-east' does not exist, so no gateway routes to this instance yet; "
        f"3/3 replicas ready on revision {cluster.revision(name)}"
    )
    cluster.wait(
        lambda: (cluster.instance(name) or {}).get("status", {}).get("message") == message,
        "the missing class to be reported",
    )
    instance = cluster.instance(name)
    assert instance is not None
    assert instance["status"]["phase"] == "Pending"
    assert instance["status"]["conditions"][0]["reason"] == "IngressClassNotFound"

    # The class appears (its event, not a resync, brings the instance to Ready).
    cluster.seed_regional_class("us-east")
    cluster.wait_instance_phase(name, "Ready")

    public = cluster.kube.get("ingresses", NAMESPACE, name)
    grpc = cluster.kube.get("ingresses", NAMESPACE, f"{name}-grpc")
    assert public is not None
    assert grpc is not None
    for ingress, host, port, protocol in (
        (public, "shared-us-east-1.kura.tuist.dev", "http", "HTTP"),
        (grpc, "grpc.shared-us-east-1.kura.tuist.dev", "grpc", "GRPC"),
    ):
        spec = ingress["spec"]
        assert spec["ingressClassName"] == "kura-us-east"
        assert spec["tls"][0]["hosts"] == [host]
        (rule,) = spec["rules"]
        assert rule["host"] == host
        backend = rule["http"]["paths"][0]["backend"]["service"]
        assert backend == {"name": name, "port": {"name": port}}
        annotations = ingress["metadata"]["annotations"]
        assert STREAMING.items() <= annotations.items()
        assert annotations["nginx.ingress.kubernetes.io/backend-protocol"] == protocol
    certificate = cluster.kube.get("certificates", NAMESPACE, f"{name}-public-tls")
    assert certificate is not None
    assert certificate["spec"]["issuerRef"]["name"] == "letsencrypt-cloudflare"


def test_an_enterprise_instance_is_routed_by_its_dedicated_gateway_class(
    cluster: Cluster,
) -> None:
    cluster.start_operator()
    cluster.seed_regional_class("us-east")
    gateway, manifest = enterprise(22, "bigcorp")
    gateway_name, name = gateway["metadata"]["name"], manifest["metadata"]["name"]
    dedicated = gateway["spec"]["ingressClassName"]
    assert manifest["spec"]["ingressClassName"] == dedicated
    assert manifest["metadata"]["annotations"][GATEWAY_ANNOTATION] == gateway_name
    cluster.create_gateway(gateway)
    cluster.create_instance(manifest)
    cluster.make_ready(gateway_name)
    cluster.make_instance_ready(name)
    cluster.wait_phase(gateway_name, "Ready")
    cluster.wait_instance_phase(name, "Ready")

    assert ingress_class(cluster, name) == dedicated
    assert ingress_class(cluster, f"{name}-grpc") == dedicated
    # The customer's handle is in its instance, never in its gateway's objects.
    assert "bigcorp" not in json.dumps(cluster.children(gateway_name))


def test_a_move_between_shared_and_dedicated_moves_the_ingress_in_one_reconcile(
    cluster: Cluster,
) -> None:
    cluster.start_operator()
    cluster.seed_regional_class("us-east")
    gateway, dedicated_manifest = enterprise(23, "mover")
    name = dedicated_manifest["metadata"]["name"]
    dedicated = gateway["spec"]["ingressClassName"]
    shared = instance_manifest(23, "mover")
    cluster.create_instance(shared)
    cluster.make_instance_ready(name)
    cluster.wait_instance_phase(name, "Ready")
    cluster.create_gateway(gateway)
    cluster.make_ready(gateway["metadata"]["name"])
    cluster.wait_phase(gateway["metadata"]["name"], "Ready")

    for target, annotation in ((dedicated, gateway["metadata"]["name"]), ("kura-us-east", None)):
        cluster.kube.clear_requests()
        cluster.patch_instance(
            name,
            {
                "metadata": {"annotations": {GATEWAY_ANNOTATION: annotation}},
                "spec": {"ingressClassName": target},
            },
        )

        def moved(target: str = target) -> bool:
            routes = (name, f"{name}-grpc", f"{name}-private")
            return {ingress_class(cluster, n) for n in routes} == {target}

        cluster.wait(moved, f"the Ingresses to move to {target}")
        applies = [
            r
            for r in cluster.kube.requests_matching(method="PATCH", resource="ingresses")
            if r.content_type == "application/apply-patch+yaml"
        ]
        # One apply per Ingress, each carrying the new class: nothing in between routes nowhere.
        assert sorted(str(r.name) for r in applies) == sorted(
            [name, f"{name}-grpc", f"{name}-private"]
        )
        assert {r.body["spec"]["ingressClassName"] for r in applies} == {target}
        assert cluster.kube.requests_matching(verb="delete", resource="ingresses") == []
        ready = cluster.wait_instance_phase(name, "Ready")
        assert ready["status"]["observedGeneration"] == ready["metadata"]["generation"]


def kura_render(account_id: int, handle: str, plan: str) -> list[dict[str, Any]]:
    """``kura render -o json``, as the control plane would run it."""
    result = CliRunner().invoke(
        build_cli(PluginHost(environ={})),
        [
            "render",
            "--hosted",
            "--account-id",
            str(account_id),
            "--handle",
            handle,
            "--plan",
            plan,
            "--region",
            "us-east",
            "--manifest-revision",
            "2026-06-01",
            "-o",
            "json",
        ],
        env={"KURA_ENV": None, OVERRIDES_ENV: None},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    rendered: list[dict[str, Any]] = json.loads(result.stdout)
    return rendered


def test_kura_render_applied_to_the_cluster_is_routed_by_the_right_class(
    cluster: Cluster,
) -> None:
    """Done when: ``kura render`` for a shared and an Enterprise account, applied with the
    operator running, yields an Ingress with the right class for each."""
    cluster.start_operator()
    cluster.seed_regional_class("us-east")
    shared = kura_render(31, "smallco", "air")
    dedicated = kura_render(32, "hugeco", "enterprise")
    assert [m["kind"] for m in shared] == ["KuraInstance"]
    assert [m["kind"] for m in dedicated] == ["KuraGateway", "KuraInstance"]
    for manifest in shared + dedicated:
        cluster.apply(manifest)
    gateway = dedicated[0]["metadata"]["name"]
    cluster.make_ready(gateway)
    cluster.wait_phase(gateway, "Ready")

    expected = {
        shared[0]["metadata"]["name"]: "kura-us-east",
        dedicated[1]["metadata"]["name"]: dedicated[0]["spec"]["ingressClassName"],
    }
    for name, class_name in expected.items():
        cluster.make_instance_ready(name)
        ready = cluster.wait_instance_phase(name, "Ready")
        assert ready["status"]["appliedManifestRevision"] == "2026-06-01"
        assert ingress_class(cluster, name) == class_name
        assert ingress_class(cluster, f"{name}-grpc") == class_name
    assert cluster.kube.get("ingressclasses", None, expected[dedicated[1]["metadata"]["name"]])
