"""The labels and owner references every provider stamps on what it renders."""

from __future__ import annotations

from typing import Any

import pytest

from kura_core import (
    GATEWAY_KIND,
    INSTANCE_KIND,
    InputError,
    ObjectMeta,
    child_metadata,
    gateway_labels,
    instance_labels,
    owner_references,
    parse_instance,
)

OWNER = ObjectMeta(name="kgw-abc123-us-east", namespace="kura", uid="0b6f-uid")


def instance(name: str = "acme-us-east-1") -> Any:
    return parse_instance(
        {
            "apiVersion": "kura.tuist.dev/v1alpha1",
            "kind": "KuraInstance",
            "metadata": {"name": name, "namespace": "kura"},
            "spec": {
                "accountHandle": "acme",
                "tenantID": "acme",
                "region": "us-east",
                "image": "ghcr.io/tuist/kura:1",
            },
        }
    )


def test_the_controller_reference_names_the_owner_by_uid() -> None:
    assert owner_references(GATEWAY_KIND, OWNER) == [
        {
            "apiVersion": "kura.tuist.dev/v1alpha1",
            "kind": "KuraGateway",
            "name": "kgw-abc123-us-east",
            "uid": "0b6f-uid",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    # A preview (`kura render`) has no uid: Kubernetes refuses a reference without one.
    assert owner_references(GATEWAY_KIND, ObjectMeta(name="kgw-abc123-us-east")) == []


def test_child_metadata_owns_namespaced_children_only() -> None:
    labels = gateway_labels("kgw-abc123-us-east", "us-east")
    namespaced = child_metadata(
        "svc",
        namespace="kura",
        labels=labels,
        annotations={"a": "b"},
        owner_kind=GATEWAY_KIND,
        owner=OWNER,
    )
    assert list(namespaced) == ["name", "namespace", "labels", "annotations", "ownerReferences"]
    assert namespaced["ownerReferences"][0]["uid"] == "0b6f-uid"
    cluster_scoped = child_metadata(
        "class", namespace=None, labels=labels, owner_kind=GATEWAY_KIND, owner=OWNER
    )
    assert cluster_scoped == {"name": "class", "labels": labels}
    assert child_metadata("x", namespace="kura", labels={}) == {
        "name": "x",
        "namespace": "kura",
        "labels": {},
    }


def test_the_standard_labels() -> None:
    assert gateway_labels("kgw-abc123-us-east", "us-east") == {
        "app.kubernetes.io/managed-by": "kura-controller",
        "tuist.dev/region": "us-east",
        "tuist.dev/kura-gateway": "kgw-abc123-us-east",
    }
    assert instance_labels(instance()) == {
        "app.kubernetes.io/name": "kura",
        "app.kubernetes.io/instance": "acme-us-east-1",
        "app.kubernetes.io/managed-by": "kura-controller",
        "tuist.dev/account": "acme",
        "tuist.dev/region": "us-east",
    }
    assert owner_references(INSTANCE_KIND, OWNER)[0]["kind"] == "KuraInstance"


def test_a_name_that_cannot_be_a_label_value_is_one_error() -> None:
    # An object name may be 253 characters, a label value only 63.
    with pytest.raises(
        InputError, match=r"app\.kubernetes\.io/instance would not be a valid label value"
    ):
        instance_labels(instance("a" * 64))
