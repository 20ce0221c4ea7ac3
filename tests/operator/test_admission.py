"""The generated CRDs on the real API server: it accepts every object the control plane renders
and stores it whole, and refuses each bad field at create, naming the field (the models refuse
the same cases: tests/core/test_field_rules.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kura_testing.client import KubeClient, KubeRequestError
from tests.operator.conftest import REAL
from tests.support.field_cases import Bad, bad_objects, good_objects, instance

pytestmark = REAL


def placed(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    """``obj`` in the test's namespace, without what only the server sets."""
    local = copy.deepcopy(obj)
    metadata = local["metadata"]
    metadata["namespace"] = namespace
    for owned in ("uid", "generation", "resourceVersion"):
        metadata.pop(owned, None)
    return local


@pytest.mark.parametrize("obj", good_objects())
def test_what_the_control_plane_renders_is_admitted_whole(
    kube_admin: KubeClient, kube_namespace: str, obj: dict[str, Any]
) -> None:
    created = kube_admin.create(placed(obj, kube_namespace))
    # Nothing pruned: every field is in the schema, with the type sent.
    assert created["spec"] == obj["spec"]


@pytest.mark.parametrize("case", bad_objects())
def test_a_bad_field_is_refused_at_create_naming_it(
    kube_admin: KubeClient, kube_namespace: str, case: Bad
) -> None:
    with pytest.raises(KubeRequestError) as refused:
        kube_admin.create(placed(case.obj, kube_namespace))
    assert refused.value.status == 422, refused.value
    assert f"{case.field}" in refused.value.message
    plural = {"KuraGateway": "kuragateways", "KuraInstance": "kurainstances"}[case.obj["kind"]]
    assert kube_admin.get(plural, kube_namespace, case.obj["metadata"]["name"]) is None


def test_an_env_entry_with_value_from_is_not_refused(
    kube_admin: KubeClient, kube_namespace: str
) -> None:
    # Upstream's EnvVar is Kubernetes's; no rule here may refuse its other fields.
    entry = {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}
    kube_admin.create(placed(instance(extraEnv=[entry]), kube_namespace))


@pytest.mark.parametrize(
    ("obj", "field", "message"),
    [
        pytest.param(
            instance(publicHost="Bad Host!"),
            "spec.publicHost",
            "spec.publicHost in body should match",
            id="pattern",
        ),
        pytest.param(
            instance(nodeSelector={"bad key!": "v", "ok": "v"}),
            "spec.nodeSelector",
            "every key must be a label key (an optional DNS-subdomain prefix and '/', then at "
            "most 63 letters, digits, '-', '_' or '.', alphanumeric at both ends; 317 characters "
            "in all); 'bad key!' is not",
            id="label-keys",
        ),
        pytest.param(
            instance(extensionScript="é" * 40000),
            "spec.extensionScript",
            "must be at most 65536 bytes in UTF-8",
            id="bytes",
        ),
        pytest.param(
            instance(extraEnv=[{"name": "A"}, {"name": "A"}]),
            "spec.extraEnv",
            "names must be unique",
            id="unique-names",
        ),
    ],
)
def test_the_messages_say_what_is_wrong(
    kube_admin: KubeClient, kube_namespace: str, obj: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(KubeRequestError) as refused:
        kube_admin.create(placed(obj, kube_namespace))
    assert f"{field}: Invalid value: " in refused.value.message
    assert message in refused.value.message
