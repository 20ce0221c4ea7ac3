"""The resource table: REST paths, kinds of objects, and each entry as the server serves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kura_core import (
    CERTIFICATE,
    CONFIG_MAP,
    DEPLOYMENT,
    ENVOY_PROXY,
    EVENT,
    GATEWAY,
    INGRESS_CLASS,
    KINDS,
    KURA_GATEWAY,
    KURA_INSTANCE,
    POD,
    SECRET,
    Kind,
    kind_of,
    object_key,
)
from kura_kube import requests
from kura_kube.client import KubeClient
from kura_testing.control_plane import ControlPlane
from kura_testing.crds import kura_platform_crds


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (KURA_GATEWAY.path("kura"), "/apis/kura.tuist.dev/v1alpha1/namespaces/kura/kuragateways"),
        (
            KURA_GATEWAY.path("kura", "gw", "status"),
            "/apis/kura.tuist.dev/v1alpha1/namespaces/kura/kuragateways/gw/status",
        ),
        # A namespaced kind with no namespace: its list across all namespaces.
        (KURA_GATEWAY.path(None), "/apis/kura.tuist.dev/v1alpha1/kuragateways"),
        (CONFIG_MAP.path("kura", "cm"), "/api/v1/namespaces/kura/configmaps/cm"),
        (EVENT.path("kura"), "/api/v1/namespaces/kura/events"),
        (DEPLOYMENT.path("kura", "d"), "/apis/apps/v1/namespaces/kura/deployments/d"),
        (INGRESS_CLASS.path(None, "c"), "/apis/networking.k8s.io/v1/ingressclasses/c"),
        (INGRESS_CLASS.path(None), "/apis/networking.k8s.io/v1/ingressclasses"),
        (POD.path("kura"), "/api/v1/namespaces/kura/pods"),
        (
            KURA_INSTANCE.path("kura", "i", "status"),
            "/apis/kura.tuist.dev/v1alpha1/namespaces/kura/kurainstances/i/status",
        ),
        (CONFIG_MAP.path("kura", None, "status"), "/api/v1/namespaces/kura/configmaps"),
    ],
)
def test_rest_paths(path: str, expected: str) -> None:
    assert path == expected


def test_a_named_namespaced_object_needs_its_namespace() -> None:
    with pytest.raises(ValueError, match="Deployment is namespaced: a namespace is required"):
        DEPLOYMENT.path(None, "d")


def test_the_table_has_one_entry_per_kind_and_kind_of_finds_each() -> None:
    assert len({(k.api_version, k.kind) for k in KINDS}) == len(KINDS)
    assert len({(k.group, k.plural) for k in KINDS}) == len(KINDS)
    for kind in KINDS:
        assert kind_of({"apiVersion": kind.api_version, "kind": kind.kind}) is kind
    for unknown in ("apps/v1/DaemonSet", "extensions/v1beta1/Deployment"):
        api_version, _, name = unknown.rpartition("/")
        with pytest.raises(ValueError, match=f"kura does not manage {unknown} objects"):
            kind_of({"apiVersion": api_version, "kind": name})
    assert object_key(INGRESS_CLASS, "ignored", "c") == "IngressClass c"
    assert object_key(SECRET, "kura", "s") == "Secret kura/s"


def crd_entry(crd: dict[str, Any]) -> Kind:
    spec = crd["spec"]
    (version,) = [v["name"] for v in spec["versions"] if v.get("storage")]
    return Kind(
        spec["group"],
        version,
        spec["names"]["plural"],
        spec["names"]["kind"],
        namespaced=spec["scope"] == "Namespaced",
    )


def test_custom_kinds_are_as_their_crds_declare_them() -> None:
    # kura's own CRDs are generated from the table; the others are vendored as released.
    declared = {(k.group, k.kind): k for k in map(crd_entry, kura_platform_crds())}
    groups = {group for group, _ in declared}
    custom = [k for k in KINDS if k.group in groups]
    assert {KURA_GATEWAY, KURA_INSTANCE, GATEWAY, ENVOY_PROXY, CERTIFICATE} <= set(custom)
    for kind in custom:
        assert declared[(kind.group, kind.kind)] == kind


def test_every_kind_is_as_the_api_server_serves_it(
    kube_control_plane: ControlPlane, tmp_path: Path
) -> None:
    kubeconfig = kube_control_plane.write_kubeconfig(tmp_path / "kubeconfig")
    with KubeClient.from_kubeconfig(kubeconfig) as kube:
        for kind in KINDS:
            resources = kube.send(requests.discover(kind))["resources"]
            (served,) = [r for r in resources if r["name"] == kind.plural]
            assert (served["kind"], served["namespaced"]) == (kind.kind, kind.namespaced), kind
