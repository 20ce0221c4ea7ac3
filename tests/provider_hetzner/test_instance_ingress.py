"""A KuraInstance's ingress objects: Ingresses on its class, cert-manager Certificates."""

from __future__ import annotations

from typing import Any

import pytest

from kura_core.errors import InputError
from kura_core.plugins import PluginHost
from kura_core.providers import IngressProvider
from kura_core.regions import managed_catalogs
from kura_core.resources import GATEWAY_ANNOTATION as GATEWAY
from kura_core.resources import KuraInstance, parse_instance, to_manifest
from tests.provider_hetzner.kube_schemas import assert_valid, certificate_problems
from tests.provider_hetzner.test_gateway_objects import by_kind
from tests.provider_hetzner.test_gateway_objects import gateway as gateway_object
from tests.provider_hetzner.test_gateway_objects import render as render_gateway

HOST = PluginHost(environ={"KURA_LOAD_PLUGINS": "hetzner"})
NAME = "kura-acme-us-east-1"
HOST_NAME = "acme-us-east-1.kura.tuist.dev"
GRPC_HOST = "grpc.acme-us-east-1.kura.tuist.dev"
CLASS = "kura-us-east-kgw-38dbcc9b3c91-us-east"
STREAMING = {
    "nginx.ingress.kubernetes.io/proxy-body-size": "0",
    "nginx.ingress.kubernetes.io/proxy-buffering": "off",
    "nginx.ingress.kubernetes.io/proxy-request-buffering": "off",
    "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
    "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
}
LABELS = {
    "app.kubernetes.io/name": "kura",
    "app.kubernetes.io/instance": NAME,
    "app.kubernetes.io/managed-by": "kura-controller",
    "tuist.dev/account": "acme",
    "tuist.dev/region": "us-east",
}


def ingress_nginx() -> IngressProvider:
    return HOST.ingress_provider("ingress-nginx")


def instance(*, uid: str | None = None, name: str = NAME, **spec: Any) -> KuraInstance:
    metadata: dict[str, Any] = {"name": name, "namespace": "kura"}
    if uid:
        metadata["uid"] = uid
    fields: dict[str, Any] = {
        "accountHandle": "acme",
        "tenantID": "acme",
        "region": "us-east",
        "image": "ghcr.io/tuist/kura:0.1.0",
        "publicHost": HOST_NAME,
        "grpcPublicHost": GRPC_HOST,
        "ingressClassName": CLASS,
    }
    fields.update(spec)
    return parse_instance(
        {
            "apiVersion": "kura.tuist.dev/v1alpha1",
            "kind": "KuraInstance",
            "metadata": metadata,
            "spec": {key: value for key, value in fields.items() if value is not None},
        }
    )


def render(inst: KuraInstance, cluster_issuer: str | None = None) -> list[dict[str, Any]]:
    return ingress_nginx().render_instance_ingress(inst, cluster_issuer=cluster_issuer)


def names(objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(obj["kind"], obj["metadata"]["name"]) for obj in objects]


def test_public_and_grpc_ingresses_then_their_certificates() -> None:
    assert names(render(instance())) == [
        ("Ingress", NAME),
        ("Ingress", f"{NAME}-grpc"),
        ("Ingress", f"{NAME}-private"),
        ("Certificate", f"{NAME}-public-tls"),
        ("Certificate", f"{NAME}-grpc-tls"),
    ]


def test_the_public_ingress() -> None:
    public = render(instance())[0]
    assert public["apiVersion"] == "networking.k8s.io/v1"
    assert public["metadata"]["namespace"] == "kura"
    assert public["metadata"]["labels"] == LABELS
    assert public["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/backend-protocol": "HTTP",
        **STREAMING,
    }
    assert public["spec"] == {
        "ingressClassName": CLASS,
        "tls": [{"hosts": [HOST_NAME], "secretName": f"{NAME}-public-tls"}],
        "rules": [
            {
                "host": HOST_NAME,
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": NAME, "port": {"name": "http"}}},
                        }
                    ]
                },
            }
        ],
    }


def test_the_grpc_ingress() -> None:
    grpc = render(instance())[1]
    assert grpc["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/backend-protocol": "GRPC",
        **STREAMING,
    }
    assert grpc["spec"]["tls"] == [{"hosts": [GRPC_HOST], "secretName": f"{NAME}-grpc-tls"}]
    (rule,) = grpc["spec"]["rules"]
    assert rule["host"] == GRPC_HOST
    assert rule["http"]["paths"][0]["backend"]["service"] == {
        "name": NAME,
        "port": {"name": "grpc"},
    }


def test_the_private_paths_are_refused_to_everyone_on_every_host() -> None:
    private = render(instance())[2]
    assert private["metadata"]["labels"] == LABELS
    # Deny-everyone, IPv4 and IPv6: ingress-nginx writes one `deny` per range into the
    # location of each of this Ingress's paths, ahead of any proxying.
    assert private["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/denylist-source-range": "0.0.0.0/0,::/0"
    }
    assert private["spec"] == {
        "ingressClassName": CLASS,
        "tls": [
            {"hosts": [HOST_NAME], "secretName": f"{NAME}-public-tls"},
            {"hosts": [GRPC_HOST], "secretName": f"{NAME}-grpc-tls"},
        ],
        "rules": [
            {
                "host": HOST_NAME,
                "http": {
                    "paths": [
                        {
                            "path": "/metrics",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": NAME, "port": {"name": "http"}}},
                        }
                    ]
                },
            },
            {
                "host": GRPC_HOST,
                "http": {
                    "paths": [
                        {
                            "path": "/metrics",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": NAME, "port": {"name": "grpc"}}},
                        }
                    ]
                },
            },
        ],
    }
    # Only the hosts the instance has.
    (rule,) = render(instance(grpcPublicHost=None))[1]["spec"]["rules"]
    assert rule["host"] == HOST_NAME


def test_the_certificates() -> None:
    public, grpc = render(instance())[3:]
    assert public["apiVersion"] == "cert-manager.io/v1"
    assert public["metadata"]["labels"] == LABELS
    assert public["spec"] == {
        "secretName": f"{NAME}-public-tls",
        "dnsNames": [HOST_NAME],
        "issuerRef": {
            "name": "letsencrypt-cloudflare",
            "kind": "ClusterIssuer",
            "group": "cert-manager.io",
        },
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
    }
    assert grpc["spec"]["secretName"] == f"{NAME}-grpc-tls"
    assert grpc["spec"]["dnsNames"] == [GRPC_HOST]


def test_every_object_is_valid() -> None:
    objects = render(instance(uid="u-1"))
    for obj in objects:
        assert_valid(obj)
    assert {obj["kind"] for obj in objects} == {"Ingress", "Certificate"}


def test_the_certificate_check_can_fail() -> None:
    broken = render(instance())[3]
    broken["spec"] = {**broken["spec"], "privateKey": {"algorithm": "ECDSA", "size": 2048}}
    assert certificate_problems(broken) == [
        "spec.privateKey.size of an ECDSA key must be 256, 384 or 521",
        "spec.privateKey.rotationPolicy must be Never or Always",
    ]


def test_a_blank_class_falls_back_to_nginx_as_upstream() -> None:
    for obj in render(instance(ingressClassName=None))[:3]:
        assert obj["spec"]["ingressClassName"] == "nginx"


def test_without_a_grpc_host_there_is_no_grpc_ingress_or_certificate() -> None:
    assert names(render(instance(grpcPublicHost=None))) == [
        ("Ingress", NAME),
        ("Ingress", f"{NAME}-private"),
        ("Certificate", f"{NAME}-public-tls"),
    ]


def test_without_hosts_nothing_is_routed() -> None:
    assert render(instance(publicHost=None, grpcPublicHost=None)) == []


def test_the_cluster_issuer_is_the_callers_and_empty_means_no_certificates() -> None:
    objects = render(instance(), cluster_issuer="letsencrypt-staging")
    assert {obj["spec"]["issuerRef"]["name"] for obj in objects[3:]} == {"letsencrypt-staging"}
    assert [obj["kind"] for obj in render(instance(), cluster_issuer="")] == ["Ingress"] * 3


def test_owner_references_only_once_the_instance_has_a_uid() -> None:
    for obj in render(instance()):
        assert "ownerReferences" not in obj["metadata"]
    for obj in render(instance(uid="u-1")):
        assert obj["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "kura.tuist.dev/v1alpha1",
                "kind": "KuraInstance",
                "name": NAME,
                "uid": "u-1",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]


def test_a_name_that_cannot_be_a_label_value_is_refused() -> None:
    # An object name may be longer than a label value; the handle may not (the model's rule).
    with pytest.raises(
        InputError, match=r"app\.kubernetes\.io/instance would not be a valid label value"
    ):
        render(instance(name="kura-" + "a" * 60))


# --- which gateway's pods may reach the instance ------------------------------------------------

US_EAST = managed_catalogs()["production"].get("us-east")


def peers(inst: KuraInstance) -> list[dict[str, Any]]:
    return ingress_nginx().gateway_peers(inst, region=US_EAST)


def test_the_regional_class_admits_only_the_shared_gateway_of_the_platform_release() -> None:
    assert peers(instance(ingressClassName="kura-us-east")) == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "platform"}},
            "podSelector": {
                "matchLabels": {
                    "app.kubernetes.io/name": "kura-us-east-ingress-nginx",
                    "app.kubernetes.io/component": "controller",
                }
            },
        }
    ]
    # The chart labels its pods with the alias the shared gateway's values block is keyed by.
    values = ingress_nginx().shared_gateway_values(
        US_EAST, load_balancer=HOST.load_balancer_provider("hetzner")
    )
    assert list(values) == ["kura-us-east-ingress-nginx"]


def test_a_region_the_catalog_lacks_admits_its_default_shared_gateway() -> None:
    uncatalogued = parse_instance(
        {
            **to_manifest(instance(ingressClassName="kura-eu-far")),
            "spec": {
                **to_manifest(instance())["spec"],
                "region": "eu-far",
                "ingressClassName": "kura-eu-far",
            },
        }
    )
    (peer,) = ingress_nginx().gateway_peers(uncatalogued, region=None)
    assert peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == (
        "kura-eu-far-ingress-nginx"
    )


def test_a_dedicated_class_admits_only_the_pods_of_the_gateway_the_instance_names() -> None:
    gateway = "kgw-38dbcc9b3c91-us-east"
    inst = parse_instance(
        {
            **to_manifest(instance()),
            "metadata": {"name": NAME, "namespace": "kura", "annotations": {GATEWAY: gateway}},
        }
    )
    (peer,) = peers(inst)
    # Same namespace as the instance (no namespaceSelector), and exactly that gateway's pods.
    assert peer == {
        "podSelector": {
            "matchLabels": {
                "app.kubernetes.io/name": "ingress-nginx",
                "app.kubernetes.io/instance": gateway,
                "app.kubernetes.io/component": "controller",
            }
        }
    }
    # ... which are the pods the gateway's Deployment makes.
    deployment = by_kind(render_gateway(gateway_object(gateway)))["Deployment"]
    assert peer["podSelector"]["matchLabels"].items() <= (
        deployment["spec"]["template"]["metadata"]["labels"].items()
    )
    other = parse_instance(
        {
            **to_manifest(instance()),
            "metadata": {
                "name": NAME,
                "namespace": "kura",
                "annotations": {GATEWAY: "kgw-000000000000-us-east"},
            },
        }
    )
    assert peers(other) != peers(inst)


def test_a_class_no_gateway_serves_admits_no_gateway() -> None:
    assert peers(instance()) == []  # dedicated class, but no gateway annotation
    assert peers(instance(ingressClassName=None)) == []  # upstream's `nginx` fallback


def test_a_gateway_annotation_that_cannot_name_a_gateway_is_refused() -> None:
    inst = parse_instance(
        {
            **to_manifest(instance()),
            "metadata": {"name": NAME, "namespace": "kura", "annotations": {GATEWAY: "a b"}},
        }
    )
    with pytest.raises(InputError, match=r"tuist\.dev/kura-gateway 'a b' is not a gateway name"):
        peers(inst)
