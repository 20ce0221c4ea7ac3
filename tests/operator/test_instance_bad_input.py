"""KuraInstances the operator must refuse: phase Error, a clear message, a Warning Event, and
nothing applied, while every other instance is still served.

Some of these pass any CRD schema (a secret value in extraEnv, a region whose provider no plugin
provides): only the operator can catch them. A region the catalog lacks and upstream's legacy
variables are accepted (tests/operator/test_upstream_objects.py).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from kura_core.crds import KURA_INSTANCE, custom_resource_definition
from kura_testing.client import KubeClient, KubeRequestError
from tests.operator.conftest import REAL
from tests.operator.harness import NAMESPACE, Cluster, instance_manifest, lab_catalog

pytestmark = REAL

SECRET_VALUE = "s3cr3t-do-not-log"


def serves_a_good_instance(cluster: Cluster) -> None:
    manifest = instance_manifest(60, "good")
    name = manifest["metadata"]["name"]
    cluster.create_instance(manifest)
    cluster.make_instance_ready(name)
    cluster.wait_instance_phase(name, "Ready")


def assert_refused(cluster: Cluster, name: str, message: str) -> None:
    instance = cluster.instance(name)
    assert instance is not None
    status = instance["status"]
    assert status["phase"] == "Error"
    assert message in status["message"]
    assert SECRET_VALUE not in status["message"]
    (condition,) = status["conditions"]
    assert (condition["type"], condition["status"], condition["reason"]) == (
        "Ready",
        "False",
        "InvalidSpec",
    )
    # No finalizer: nothing was created that would need cleaning up.
    assert "finalizers" not in instance["metadata"]
    cluster.wait(lambda: len(cluster.events(name)) == 1, "the Error event")
    (event,) = cluster.events(name)
    assert (event["type"], event["reason"]) == ("Warning", "Error")
    # Nothing of the instance's was made, and the only write about it is its status.
    for resource in ("services", "statefulsets", "ingresses", "certificates", "secrets"):
        names = [o["metadata"]["name"] for o in cluster.kube.objects(resource, NAMESPACE)]
        assert not [n for n in names if n.startswith(name)], resource
    writes = [(w.verb, w.resource, w.subresource) for w in cluster.kube.writes() if w.name == name]
    assert writes == [("patch", "kurainstances", "status")]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"extraEnv": [{"name": "KURA_CONTROL_PLANE_CLIENT_SECRET", "value": SECRET_VALUE}]},
            "comes only from the kura-shared-secrets Secret",
        ),
        ({"extraEnv": [{"name": "KURA_NODE_URL", "value": "x"}]}, "set by the operator"),
        # Only the double stores what the CRD schema forbids (tests/operator/test_admission.py):
        # an object stored before the schema tightened, or with validation off.
        pytest.param(
            {"storageSize": "big"},
            "spec.storageSize: 'big' is not a quantity such as 200Gi",
            marks=pytest.mark.double,
        ),
        pytest.param(
            {"replicas": 0},
            "spec.replicas: Input should be greater than or equal to 1",
            marks=pytest.mark.double,
        ),
        pytest.param(
            {"publicHost": "Bad Host!"},
            "spec.publicHost: 'Bad Host!' is not empty or a DNS name",
            marks=pytest.mark.double,
        ),
        pytest.param(
            {"nodeSelector": {"bad key!": "v"}},
            "spec.nodeSelector: every key must be a label key",
            marks=pytest.mark.double,
        ),
        pytest.param(
            {"extensionScript": "x" * 100_000},
            "spec.extensionScript: must be at most 65536 bytes in UTF-8, not 100000",
            marks=pytest.mark.double,
        ),
    ],
    ids=[
        "secret",
        "reserved",
        "storage",
        "zero-replicas",
        "public-host",
        "node-selector",
        "extension-script",
    ],
)
def test_an_invalid_instance_is_refused_and_the_others_are_served(
    cluster: Cluster, spec: dict[str, Any], message: str
) -> None:
    operator = cluster.start_operator()
    cluster.seed_regional_class()
    manifest = instance_manifest(61, "bad")
    manifest["spec"].update(spec)
    name = manifest["metadata"]["name"]
    cluster.create_instance(manifest)
    cluster.wait_instance_phase(name, "Error")

    serves_a_good_instance(cluster)
    assert_refused(cluster, name, message)
    assert SECRET_VALUE not in operator.log_path.read_text()


def test_the_api_server_refuses_what_the_crd_schema_forbids(cluster: Cluster) -> None:
    manifest = instance_manifest(61, "bad", replicas=0)
    with pytest.raises(KubeRequestError) as refused:
        cluster.create_instance(manifest)
    assert refused.value.status == 422
    assert "spec.replicas in body should be greater than or equal to 1" in refused.value.message
    assert cluster.instance(manifest["metadata"]["name"]) is None


def test_a_region_whose_provider_no_plugin_provides(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_operator("--catalog", str(lab_catalog(tmp_path)), "--env", "lab")
    cluster.seed_regional_class()
    manifest = instance_manifest(62, "lab", region="us-east")
    manifest["spec"]["region"] = "lab-east"
    name = manifest["metadata"]["name"]
    cluster.create_instance(manifest)
    cluster.wait_instance_phase(name, "Error")

    serves_a_good_instance(cluster)
    assert_refused(
        cluster,
        name,
        "no plugin provides the ingress provider 'traefik' (loaded: gateway-api, ingress-nginx)",
    )


def test_fixing_the_spec_brings_an_invalid_instance_to_ready(cluster: Cluster) -> None:
    cluster.start_operator()
    cluster.seed_regional_class()
    secret = [{"name": "KURA_CONTROL_PLANE_CLIENT_SECRET", "value": SECRET_VALUE}]
    manifest = instance_manifest(63, "fixme", extraEnv=secret)
    name = manifest["metadata"]["name"]
    cluster.create_instance(manifest)
    cluster.wait_instance_phase(name, "Error")

    canonical = [{"name": "KURA_CONTROL_PLANE_CLIENT_ID", "value": "id"}]
    cluster.patch_instance(name, {"spec": {"extraEnv": canonical}})
    cluster.wait_instance_phase(name, "Pending")
    cluster.make_instance_ready(name)
    ready = cluster.wait_instance_phase(name, "Ready")
    (condition,) = ready["status"]["conditions"]
    assert (condition["status"], condition["reason"]) == ("True", "RolloutComplete")
    cluster.wait(lambda: len(cluster.events(name)) == 3, "three phase events")
    assert [e["reason"] for e in cluster.events(name)] == ["Error", "Pending", "Ready"]


def test_an_instance_stored_before_the_schema_tightened_gets_its_error_status(
    cluster: Cluster, kube_admin: KubeClient, kube_namespace: str
) -> None:
    # An object the API server took under an older, looser CRD: the operator still refuses it,
    # and its status write passes the tightened CRD (whose rules ratchet: an unchanged spec is
    # not checked again on a status update).
    crd = custom_resource_definition(KURA_INSTANCE)
    loose = copy.deepcopy(crd)
    spec = loose["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    del spec["properties"]["nodeSelector"]["x-kubernetes-validations"]
    manifest = instance_manifest(64, "old", nodeSelector={"bad key!": "kura"})
    name = manifest["metadata"]["name"]
    probe = instance_manifest(65, "probe", nodeSelector={"bad key!": "kura"})
    probe["metadata"]["namespace"] = kube_namespace

    def admitted() -> bool:
        try:
            kube_admin.apply(probe, field_manager="kura-tests", dry_run=True)
        except KubeRequestError:
            return False
        return True

    kube_admin.apply(loose, field_manager="kura-envtest")
    try:
        cluster.wait(admitted, "the looser schema")
        cluster.create_instance(manifest)
    finally:
        kube_admin.apply(crd, field_manager="kura-envtest")
    cluster.wait(lambda: not admitted(), "the tightened schema again")

    cluster.start_operator()
    cluster.seed_regional_class()
    cluster.wait_instance_phase(name, "Error")
    assert_refused(cluster, name, "spec.nodeSelector: every key must be a label key")
