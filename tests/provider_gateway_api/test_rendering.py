"""What the gateway-api provider renders for gateways and instances."""

from __future__ import annotations

import pytest

from kura_core import IngressProvider, InputError, LoadBalancerProvider, Region
from kura_operator.instance_layout import PORTS
from kura_provider_gateway_api import routes
from kura_provider_gateway_api.provider import GatewayApiProvider
from tests.provider_gateway_api.objects import DEDICATED_CLASS, by_kind, gateway, instance


def test_the_plugin_registers_the_provider(provider: IngressProvider) -> None:
    assert isinstance(provider, GatewayApiProvider)
    assert provider.name == "gateway-api"


def test_a_dedicated_gateway_carries_the_load_balancer_annotations(
    provider: IngressProvider, load_balancer: LoadBalancerProvider, region: Region
) -> None:
    kura_gateway = gateway(uid="u-1")
    objects = provider.render_gateway(kura_gateway, region=region, load_balancer=load_balancer)
    assert [o["kind"] for o in objects] == [
        "EnvoyProxy",
        "ClientTrafficPolicy",
        "Gateway",
        "HTTPRoute",
    ]
    (gw,) = by_kind(objects, "Gateway")
    expected = load_balancer.service_annotations(
        region,
        load_balancer_name=f"tuist-{kura_gateway.metadata.name}-ingress",
        node_selector=kura_gateway.spec.node_selector,
        overrides={},
    )
    assert gw["metadata"]["name"] == DEDICATED_CLASS
    assert gw["spec"]["infrastructure"]["annotations"] == expected
    assert gw["spec"]["gatewayClassName"] == "kura-eu-central"
    assert gw["spec"]["allowedListeners"] == {"namespaces": {"from": "Same"}}
    (proxy,) = by_kind(objects, "EnvoyProxy")
    assert gw["spec"]["infrastructure"]["parametersRef"]["name"] == proxy["metadata"]["name"]
    deployment = proxy["spec"]["provider"]["kubernetes"]["envoyDeployment"]
    assert deployment["replicas"] == 3
    pod_patch = deployment["patch"]["value"]["spec"]["template"]["spec"]
    assert pod_patch["automountServiceAccountToken"] is False
    for obj in objects:
        assert obj["metadata"]["ownerReferences"][0]["uid"] == "u-1"


def test_a_preview_has_no_owner_references(
    provider: IngressProvider, load_balancer: LoadBalancerProvider, region: Region
) -> None:
    objects = provider.render_gateway(gateway(), region=region, load_balancer=load_balancer)
    assert all("ownerReferences" not in o["metadata"] for o in objects)


def test_more_annotations_than_a_gateway_holds_are_refused(
    provider: IngressProvider, load_balancer: LoadBalancerProvider, region: Region
) -> None:
    many = {f"example.com/key-{i}": "v" for i in range(16)}
    with pytest.raises(InputError, match="at most 16"):
        provider.render_gateway(
            gateway(annotations=many), region=region, load_balancer=load_balancer
        )


def test_a_gateway_of_another_region_is_refused(
    provider: IngressProvider, load_balancer: LoadBalancerProvider
) -> None:
    other = Region(id="us-east", display_name="US", location="ash", node_pool="p")
    with pytest.raises(InputError, match="not 'us-east'"):
        provider.render_gateway(gateway(), region=other, load_balancer=load_balancer)


def test_a_dedicated_instance_attaches_to_its_gateway_in_its_namespace(
    provider: IngressProvider,
) -> None:
    objects = provider.render_instance_ingress(instance(dedicated=True, namespace="team"))
    (listeners,) = by_kind(objects, "ListenerSet")
    assert listeners["spec"]["parentRef"] == {
        "group": "gateway.networking.k8s.io",
        "kind": "Gateway",
        "name": DEDICATED_CLASS,
        "namespace": "team",
    }
    hosts = {
        (entry["name"], entry["hostname"], entry["tls"]["certificateRefs"][0]["name"])
        for entry in listeners["spec"]["listeners"]
    }
    assert hosts == {
        ("https", "acme-eu-central-1.kura.tuist.dev", "kura-acme-eu-central-1-public-tls"),
        ("grpc", "grpc.acme-eu-central-1.kura.tuist.dev", "kura-acme-eu-central-1-grpc-tls"),
    }


def test_a_shared_instance_attaches_to_the_regional_gateway(provider: IngressProvider) -> None:
    objects = provider.render_instance_ingress(instance(dedicated=False))
    (listeners,) = by_kind(objects, "ListenerSet")
    parent = listeners["spec"]["parentRef"]
    assert (parent["name"], parent["namespace"]) == ("kura-eu-central", "platform")


def test_routes_reach_the_plain_ports_and_refuse_the_private_paths(
    provider: IngressProvider,
) -> None:
    objects = provider.render_instance_ingress(instance(dedicated=True))
    (http,) = by_kind(objects, "HTTPRoute")
    (grpc,) = by_kind(objects, "GRPCRoute")
    assert http["spec"]["parentRefs"][0]["sectionName"] == "https"
    assert grpc["spec"]["parentRefs"][0]["sectionName"] == "grpc"
    private, public = http["spec"]["rules"]
    assert private["matches"] == [{"path": {"type": "PathPrefix", "value": "/metrics"}}]
    assert "backendRefs" not in private
    (refusal,) = by_kind(objects, "HTTPRouteFilter")
    assert private["filters"][0]["extensionRef"]["name"] == refusal["metadata"]["name"]
    assert refusal["spec"]["directResponse"]["statusCode"] == 403
    assert public["backendRefs"] == [{"name": "kura-acme-eu-central-1", "port": 4000}]
    assert grpc["spec"]["rules"][0]["backendRefs"][0]["port"] == 50051
    (policy,) = by_kind(objects, "BackendTrafficPolicy")
    assert {(t["kind"], t["name"]) for t in policy["spec"]["targetRefs"]} == {
        ("HTTPRoute", "kura-acme-eu-central-1"),
        ("GRPCRoute", "kura-acme-eu-central-1-grpc"),
    }


def test_the_backend_ports_are_the_instance_services() -> None:
    assert dict(PORTS)["http"] == routes.HTTP_PORT
    assert dict(PORTS)["grpc"] == routes.GRPC_PORT


def test_an_instance_without_hosts_renders_nothing(provider: IngressProvider) -> None:
    assert (
        provider.render_instance_ingress(instance(dedicated=True, grpc=False, public=False)) == []
    )


def test_an_empty_issuer_renders_no_certificates(provider: IngressProvider) -> None:
    objects = provider.render_instance_ingress(instance(dedicated=True), cluster_issuer="")
    assert by_kind(objects, "Certificate") == []
    assert (
        len(by_kind(provider.render_instance_ingress(instance(dedicated=True)), "Certificate")) == 2
    )


def test_gateway_peers_select_the_assigned_gateways_proxies(
    provider: IngressProvider, region: Region
) -> None:
    label = "gateway.envoyproxy.io/owning-gateway-name"
    (shared,) = provider.gateway_peers(instance(dedicated=False), region=region)
    assert shared["podSelector"]["matchLabels"] == {label: "kura-eu-central"}
    assert shared["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "platform"}
    (dedicated,) = provider.gateway_peers(instance(dedicated=True), region=region)
    assert dedicated == {"podSelector": {"matchLabels": {label: DEDICATED_CLASS}}}


def test_shared_gateway_values_hold_the_class_and_the_gateway(
    provider: IngressProvider, load_balancer: LoadBalancerProvider, region: Region
) -> None:
    values = provider.shared_gateway_values(region, load_balancer=load_balancer)
    (block,) = values.values()
    kinds = [o["kind"] for o in block["objects"]]
    assert kinds[0] == "GatewayClass"
    (gw,) = [o for o in block["objects"] if o["kind"] == "Gateway"]
    assert gw["metadata"]["namespace"] == "platform"
    assert (
        gw["spec"]["infrastructure"]["annotations"]["load-balancer.hetzner.cloud/name"]
        == "tuist-kura-eu-central-ingress"
    )
