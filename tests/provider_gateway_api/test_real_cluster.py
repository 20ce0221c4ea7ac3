"""Every object the gateway-api provider renders, applied with server-side dry run to the real
API server with the official Gateway API and Envoy Gateway CRDs: their schemas and CEL rules."""

from __future__ import annotations

from typing import Any

import pytest

from kura_core import IngressProvider, LoadBalancerProvider, Region
from kura_testing import KubeClient, KubeRequestError
from tests.provider_gateway_api.objects import gateway, instance

pytestmark = [pytest.mark.e2e]
MANAGER = "kura-tests"


def dry_run(admin: KubeClient, objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        admin.apply(obj, field_manager=MANAGER, dry_run=True)


@pytest.fixture
def platform(kube_admin: KubeClient) -> str:
    kube_admin.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "platform"}},
        field_manager=MANAGER,
    )
    return "platform"


def test_every_rendered_object_passes_the_official_crds(
    kube_admin: KubeClient,
    platform: str,
    provider: IngressProvider,
    load_balancer: LoadBalancerProvider,
    region: Region,
) -> None:
    (block,) = provider.shared_gateway_values(region, load_balancer=load_balancer).values()
    rendered = [
        *block["objects"],
        *provider.render_gateway(gateway(uid="u-1"), region=region, load_balancer=load_balancer),
        *provider.render_gateway(gateway(), region=None, load_balancer=load_balancer),
        *provider.render_instance_ingress(instance(dedicated=True, uid="u-2")),
        *provider.render_instance_ingress(instance(dedicated=False, grpc=False)),
        *provider.render_instance_ingress(instance(dedicated=True, public=False)),
    ]
    kinds = {obj["kind"] for obj in rendered}
    assert kinds >= {"GatewayClass", "Gateway", "ListenerSet", "HTTPRoute", "GRPCRoute"}
    dry_run(kube_admin, rendered)


def test_the_crds_cel_rules_are_in_force(
    kube_admin: KubeClient,
    provider: IngressProvider,
    load_balancer: LoadBalancerProvider,
    region: Region,
) -> None:
    """A rule only CEL states (a filter's settings match its type) refuses a bad edit of a
    rendered object: the dry runs above did meet the rules."""
    (redirect,) = [
        o
        for o in provider.render_gateway(gateway(), region=region, load_balancer=load_balancer)
        if o["kind"] == "HTTPRoute"
    ]
    redirect["spec"]["rules"][0]["filters"][0]["type"] = "URLRewrite"
    with pytest.raises(KubeRequestError) as refused:
        dry_run(kube_admin, [redirect])
    assert refused.value.status == 422
    assert "requestRedirect must be nil" in str(refused.value)
