"""The pods kura renders pass the real API server's Pod Security admission at ``restricted``.

Each pod template (a Kura StatefulSet's, a dedicated gateway Deployment's, the operator's own)
becomes a Pod applied with ``dryRun=All`` into a namespace that enforces the ``restricted``
profile: kube-apiserver's PodSecurity plugin refuses it with 403 when any rule of the profile is
broken (a root user, privilege escalation, a capability other than NET_BIND_SERVICE, no seccomp
profile, ...).
"""

from __future__ import annotations

from typing import Any

import pytest

from kura_operator.instance_workload import ClaimTemplate, render_stateful_set
from kura_testing.client import KubeClient, KubeRequestError
from tests.operator.conftest import REAL
from tests.operator.deploy_base import OPERATOR_ACCOUNT, find
from tests.operator.deploy_base import render as render_deploy_base
from tests.operator.test_instance_objects import instance
from tests.provider_hetzner.test_gateway_objects import by_kind, gateway, render

pytestmark = REAL
MANAGER = "kura-tests"


@pytest.fixture
def restricted(kube_admin: KubeClient, kube_namespace: str) -> str:
    kube_admin.merge_patch(
        "namespaces",
        None,
        kube_namespace,
        {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
    )
    return kube_namespace


def pod_of(template: dict[str, Any], namespace: str, *, volumes: list[Any]) -> dict[str, Any]:
    """The Pod a controller would create from ``template`` (plus claim-backed volumes)."""
    spec = dict(template["spec"])
    spec["volumes"] = [*spec.get("volumes", []), *volumes]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "probe",
            "namespace": namespace,
            "labels": template["metadata"]["labels"],
        },
        "spec": spec,
    }


def admit(admin: KubeClient, pod: dict[str, Any]) -> None:
    admin.apply(pod, field_manager=MANAGER, dry_run=True)


def service_account(admin: KubeClient, namespace: str, name: str) -> None:
    """Admission looks a pod's ServiceAccount up: it must exist."""
    admin.create(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": namespace},
        }
    )


def test_a_kura_pod_is_admitted_under_the_restricted_profile(
    kube_admin: KubeClient, restricted: str
) -> None:
    stateful_set = render_stateful_set(
        instance(), deployment_environment="production", claim=ClaimTemplate("200Gi")
    )
    claim = {"name": "data", "persistentVolumeClaim": {"claimName": "data-kura-acme-us-east-1-0"}}
    admit(kube_admin, pod_of(stateful_set["spec"]["template"], restricted, volumes=[claim]))


def test_a_dedicated_gateway_pod_is_admitted_under_the_restricted_profile(
    kube_admin: KubeClient, restricted: str
) -> None:
    deployment = by_kind(render(gateway()))["Deployment"]
    template = deployment["spec"]["template"]
    service_account(kube_admin, restricted, template["spec"]["serviceAccountName"])
    admit(kube_admin, pod_of(template, restricted, volumes=[]))


def test_the_operator_pod_is_admitted_under_the_restricted_profile(
    kube_admin: KubeClient, restricted: str
) -> None:
    template = find(render_deploy_base(), "Deployment", OPERATOR_ACCOUNT)["spec"]["template"]
    service_account(kube_admin, restricted, template["spec"]["serviceAccountName"])
    admit(kube_admin, pod_of(template, restricted, volumes=[]))


def test_the_profile_is_enforced_here(kube_admin: KubeClient, restricted: str) -> None:
    # The same Kura pod as root is refused: the admission really runs on a dry run.
    stateful_set = render_stateful_set(
        instance(), deployment_environment="production", claim=ClaimTemplate("200Gi")
    )
    template = stateful_set["spec"]["template"]
    template["spec"]["securityContext"] = {"runAsUser": 0}
    claim = {"name": "data", "persistentVolumeClaim": {"claimName": "data-kura-acme-us-east-1-0"}}
    with pytest.raises(KubeRequestError) as refused:
        admit(kube_admin, pod_of(template, restricted, volumes=[claim]))
    assert refused.value.status == 403
    assert "restricted" in refused.value.message
