"""The cluster steps against the Kubernetes double: platform, provision, waits, clean-up.

There is no operator here: a thread plays its part, creating the children the ingress provider
renders and patching statuses, as the test says. The endpoint steps still go through the test
bed's nginx, pinned with ``--resolve``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from click.testing import Result

from kura_core.resources import GROUP
from kura_smoke.report import Mode
from kura_smoke.testbed.bed import TestBed
from kura_testing.kube_double import KubeDouble
from tests.smoke.conftest import InvokeKura
from tests.smoke.smoke_support import FAST, events, statuses, step

NS = "kura"
REGIONAL_GATEWAY = "platform-kura-eu-central-ingress-nginx-controller"
ALL_PASSED = {
    "platform": "passed",
    "provision": "passed",
    "wait-instance": "passed",
    "wait-ingress": "passed",
    "dns": "passed",
    "ready": "passed",
    "cas-roundtrip": "passed",
    "gradle-roundtrip": "passed",
    "auth-no-token": "passed",
    "auth-bogus-token": "passed",
    "cleanup": "passed",
}


def deployment(namespace: str, name: str, replicas: int, ready: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "generation": 1},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": 1,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": ready,
            "availableReplicas": ready,
        },
    }


def seed_platform(kube: KubeDouble, bed: TestBed, *, ingress_class: bool = True) -> None:
    if ingress_class:
        kube.put_object(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "IngressClass",
                "metadata": {"name": "kura-eu-central"},
                "spec": {"controller": "k8s.io/kura-eu-central-ingress-nginx"},
            }
        )
    kube.put_object(deployment("platform", REGIONAL_GATEWAY, 2, 2))
    kube.put_object(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": REGIONAL_GATEWAY, "namespace": "platform"},
            "spec": {"type": "LoadBalancer"},
            "status": {"loadBalancer": {"ingress": [{"ip": bed.address(Mode.REGIONAL)}]}},
        }
    )
    kube.put_object(deployment(NS, "kura-operator", 1, 1))
    kube.put_object(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "kura-shared-secrets", "namespace": NS},
            "type": "Opaque",
        }
    )


def children(
    bed: TestBed, modes: tuple[Mode, ...], *, ingress_class: str | None = None
) -> list[dict[str, Any]]:
    """What the operator creates for ``modes``: gateway children, then the Ingresses."""
    names = [bed.accounts[m].instance for m in modes]
    names += [g for m in modes if (g := bed.accounts[m].assignment.gateway) is not None]
    found = []
    for obj in bed.manifests:
        name = obj["metadata"]["name"]
        if obj["apiVersion"].startswith(GROUP) or not any(n in name for n in names):
            continue
        obj = {**obj}
        if obj["kind"] == "Service":
            address = bed.address(Mode.DEDICATED)
            obj["status"] = {"loadBalancer": {"ingress": [{"ip": address}]}}
        if obj["kind"] == "Ingress" and ingress_class is not None:
            obj["spec"] = {**obj["spec"], "ingressClassName": ingress_class}
        found.append(obj)
    return found


def ready_statuses(kube: KubeDouble, bed: TestBed, modes: tuple[Mode, ...], gateway: bool) -> None:
    for mode in modes:
        smoke = bed.accounts[mode]
        if smoke.assignment.gateway is not None and gateway:
            kube.patch_status(
                "kuragateways",
                NS,
                smoke.assignment.gateway,
                {
                    "phase": "Ready",
                    "message": "2/2 gateway replicas ready",
                    "loadBalancer": bed.address(Mode.DEDICATED),
                    "serviceName": f"{smoke.assignment.gateway}-controller",
                    "ingressClassName": smoke.assignment.ingress_class,
                },
            )
        kube.patch_status("kurainstances", NS, smoke.instance, {"phase": "Ready"})


@contextmanager
def operator(
    kube: KubeDouble,
    bed: TestBed,
    modes: tuple[Mode, ...],
    *,
    gateway: bool = True,
    ingress_class: str | None = None,
) -> Iterator[None]:
    """Once the smoke applied its instances, create the children and mark everything Ready."""

    def applied(instance: str) -> Callable[[], bool]:
        return lambda: kube.get("kurainstances", NS, instance) is not None

    def work() -> None:
        # Modes run one after the other: serve each instance as the smoke applies it.
        for mode in modes:
            if not kube.wait_until(applied(bed.accounts[mode].instance), timeout=20):
                return
            for obj in children(bed, (mode,), ingress_class=ingress_class):
                kube.put_object(obj)
            ready_statuses(kube, bed, (mode,), gateway)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    yield
    thread.join(timeout=30)


def run(
    kura: InvokeKura,
    bed: TestBed,
    kubeconfig: Path,
    *extra: str,
    modes: tuple[Mode, ...] = tuple(Mode),
) -> Result:
    return kura(
        "smoke", "run", "--kubeconfig", str(kubeconfig), *bed.smoke_args(modes), *FAST,
        "-o", "json", *extra,
    )  # fmt: skip


def test_provision_wait_roundtrip_and_clean_up_both_modes(
    kura: InvokeKura, bed: TestBed, kube: KubeDouble, tmp_path: Path
) -> None:
    seed_platform(kube, bed)
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    with operator(kube, bed, tuple(Mode)):
        result = run(kura, bed, kubeconfig, "--check-gateway-address")
    assert result.exit_code == 0, result.output
    found = events(result)
    assert statuses(found, "regional") == {**ALL_PASSED, "wait-gateway": "skipped"}
    assert statuses(found, "dedicated") == {**ALL_PASSED, "wait-gateway": "passed"}
    assert "the gateway's address" in step(found, "dedicated", "dns")["message"]
    dedicated = bed.accounts[Mode.DEDICATED]
    assert dedicated.assignment.gateway is not None
    assert step(found, "dedicated", "wait-ingress")["message"] == (
        f"Ingress {dedicated.instance} uses class {dedicated.assignment.ingress_class}, "
        f"tuist.dev/kura-gateway={dedicated.assignment.gateway}"
    )
    # Created under kura-smoke, gateway first, then the instance, labelled with the run id.
    run_id = found[-1]["run_id"]
    creates = [r for r in kube.writes() if r.method == "POST"]
    assert [(r.resource, r.name or r.body["metadata"]["name"]) for r in creates] == [
        ("kurainstances", bed.accounts[Mode.REGIONAL].instance),
        ("kuragateways", dedicated.assignment.gateway),
        ("kurainstances", dedicated.instance),
    ]
    for record in creates:
        assert record.query["fieldManager"] == "kura-smoke"
        labels = record.body["metadata"]["labels"]
        assert labels["tuist.dev/kura-smoke"] == "true"
        assert labels["tuist.dev/kura-smoke-run"] == run_id
    assert not [r for r in kube.writes() if r.content_type == "application/apply-patch+yaml"]
    # The created instance is what `kura render` renders.
    applied = creates[-1].body
    (rendered,) = [
        m
        for m in bed.manifests
        if m["kind"] == "KuraInstance" and m["metadata"]["name"] == dedicated.instance
    ]
    assert applied["spec"] == rendered["spec"]
    assert applied["metadata"]["annotations"] == {
        "tuist.dev/kura-gateway": dedicated.assignment.gateway
    }
    # Clean-up: the gateway, then the instance, each by the uid it was created with.
    deletes = [r for r in kube.writes() if r.method == "DELETE"]
    assert [(r.resource, r.name) for r in deletes] == [
        ("kurainstances", bed.accounts[Mode.REGIONAL].instance),
        ("kuragateways", dedicated.assignment.gateway),
        ("kurainstances", dedicated.instance),
    ]
    for record in deletes:
        assert list(record.body["preconditions"]) == ["uid"]
        assert record.body["preconditions"]["uid"]
    assert step(found, "dedicated", "cleanup")["message"] == (
        f"KuraGateway {dedicated.assignment.gateway} deleted, KuraInstance {dedicated.instance} "
        "deleted"
    )
    assert kube.objects("kurainstances") == []
    assert kube.objects("kuragateways") == []


def test_no_provision_uses_the_existing_instance_and_leaves_it(
    kura: InvokeKura, bed: TestBed, kube: KubeDouble, tmp_path: Path
) -> None:
    seed_platform(kube, bed)
    for obj in bed.manifests:
        if obj["kind"] in ("KuraGateway", "KuraInstance"):
            kube.put_object(obj)
    for obj in children(bed, tuple(Mode)):
        kube.put_object(obj)
    ready_statuses(kube, bed, tuple(Mode), gateway=True)
    kube.clear_requests()
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    result = run(kura, bed, kubeconfig, "--no-provision")
    assert result.exit_code == 0, result.output
    found = events(result)
    for mode in ("regional", "dedicated"):
        assert step(found, mode, "provision")["status"] == "skipped"
        assert step(found, mode, "cleanup")["message"] == "nothing provisioned by this run"
    assert kube.writes() == []


def test_a_gateway_that_is_never_ready_fails_the_wait_and_is_still_cleaned_up(
    kura: InvokeKura, bed: TestBed, kube: KubeDouble, tmp_path: Path
) -> None:
    seed_platform(kube, bed)
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    modes = (Mode.DEDICATED,)
    with operator(kube, bed, modes, gateway=False):
        result = run(kura, bed, kubeconfig, "--wait-timeout", "0.5", modes=modes)
    assert result.exit_code == 1
    found = events(result)
    wait = step(found, "dedicated", "wait-gateway")
    gateway = bed.accounts[Mode.DEDICATED].assignment.gateway
    assert wait["message"] == f"KuraGateway kura/{gateway} did not become Ready within 0.5s"
    assert wait["got"].startswith("last seen: ")
    assert "loadBalancer=none" in wait["got"]
    assert step(found, "dedicated", "ready")["message"] == "not run: wait-gateway failed"
    assert step(found, "dedicated", "cleanup")["status"] == "passed"
    assert kube.objects("kuragateways") == []


def test_an_ingress_on_the_wrong_class_fails_the_ingress_wait(
    kura: InvokeKura, bed: TestBed, kube: KubeDouble, tmp_path: Path
) -> None:
    seed_platform(kube, bed)
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    modes = (Mode.REGIONAL,)
    with operator(kube, bed, modes, ingress_class="nginx"):
        result = run(kura, bed, kubeconfig, "--wait-timeout", "0.3", modes=modes)
    wait = step(events(result), "regional", "wait-ingress")
    assert wait["status"] == "failed"
    assert "Ingress class is 'nginx', policy expects 'kura-eu-central'" in wait["got"]


def test_a_missing_ingress_class_fails_the_platform_check(
    kura: InvokeKura, bed: TestBed, kube: KubeDouble, tmp_path: Path
) -> None:
    seed_platform(kube, bed, ingress_class=False)
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    result = run(kura, bed, kubeconfig, modes=(Mode.REGIONAL,))
    assert result.exit_code == 1
    found = events(result)
    platform = step(found, "regional", "platform")
    assert platform["message"] == "IngressClass kura-eu-central is missing"
    assert step(found, "regional", "provision")["message"] == "not run: platform failed"
    assert kube.writes() == []


def test_an_unreachable_api_fails_the_platform_check(
    kura: InvokeKura, bed: TestBed, tmp_path: Path
) -> None:
    with KubeDouble.in_thread() as gone:
        kubeconfig = gone.write_kubeconfig(tmp_path / "kubeconfig")
    result = run(kura, bed, kubeconfig, "--timeout", "0.5", modes=(Mode.REGIONAL,))
    platform = step(events(result), "regional", "platform")
    assert platform["message"] == "the Kubernetes API does not answer"
    assert "no answer" in platform["got"]


def test_a_pin_to_another_gateway_fails_the_dns_check(
    kura: InvokeKura, bed: TestBed, kube: KubeDouble, tmp_path: Path
) -> None:
    seed_platform(kube, bed)
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    host = bed.accounts[Mode.REGIONAL].host
    args = bed.smoke_args((Mode.REGIONAL,))
    assert args[-2:] == ["--resolve", f"{host}:{bed.port}:{bed.address(Mode.REGIONAL)}"]
    wrong = f"{host}:{bed.port}:{bed.address(Mode.DEDICATED)}"
    modes = (Mode.REGIONAL,)
    with operator(kube, bed, modes):
        result = kura(
            "smoke", "run", "--kubeconfig", str(kubeconfig), *args[:-2], "--resolve", wrong, *FAST,
            "-o", "json", "--check-gateway-address",
        )  # fmt: skip
    dns = step(events(result), "regional", "dns")
    assert dns["status"] == "failed"
    assert dns["expected"] == f"{host} resolves to the gateway address {bed.address(Mode.REGIONAL)}"
    assert dns["got"].endswith(
        f"pinned to {bed.address(Mode.DEDICATED)} by --resolve (DNS not consulted)"
    )


def test_account_ids_are_required_with_the_cluster_steps(kura: InvokeKura) -> None:
    result = kura("smoke", "run", "--mode", "dedicated", env={"KURA_SMOKE_TOKEN": "t"})
    assert result.exit_code == 2
    assert "--dedicated-account-id is required with the cluster steps" in result.stderr


def rendered(bed: TestBed, kind: str, name: str) -> dict[str, Any]:
    (found,) = [m for m in bed.manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    return found


def test_a_customer_instance_or_gateway_is_refused_before_anything_is_written(
    kura: InvokeKura, bed: TestBed, kube: KubeDouble, tmp_path: Path
) -> None:
    seed_platform(kube, bed)
    regional, dedicated = bed.accounts[Mode.REGIONAL], bed.accounts[Mode.DEDICATED]
    assert dedicated.assignment.gateway is not None
    # A customer's objects under the names the smoke accounts would get: no smoke label.
    kube.put_object(rendered(bed, "KuraInstance", regional.instance))
    kube.put_object(rendered(bed, "KuraGateway", dedicated.assignment.gateway))
    before = kube.objects("kurainstances") + kube.objects("kuragateways")
    kube.clear_requests()
    result = run(kura, bed, kube.write_kubeconfig(tmp_path / "kubeconfig"))
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("kura: error: refusing to provision over objects the smoke did not")
    assert f"KuraInstance kura/{regional.instance} exists" in line
    assert f"KuraGateway kura/{dedicated.assignment.gateway} exists" in line
    assert kube.writes() == []
    assert kube.objects("kurainstances") + kube.objects("kuragateways") == before


def test_a_leftover_of_an_earlier_run_is_re_applied_and_left_to_its_run(
    kura: InvokeKura, bed: TestBed, kube: KubeDouble, tmp_path: Path
) -> None:
    seed_platform(kube, bed)
    regional = bed.accounts[Mode.REGIONAL]
    leftover = rendered(bed, "KuraInstance", regional.instance)
    smoke_labels = {"tuist.dev/kura-smoke": "true", "tuist.dev/kura-smoke-run": "earlier"}
    leftover["metadata"]["labels"] = {**leftover["metadata"]["labels"], **smoke_labels}
    render = leftover["spec"]
    leftover["spec"] = {**render, "image": "kura:from-an-earlier-run"}
    kube.put_object(leftover)
    modes = (Mode.REGIONAL,)
    with operator(kube, bed, modes):
        result = run(kura, bed, kube.write_kubeconfig(tmp_path / "kubeconfig"), modes=modes)
    assert result.exit_code == 0, result.output
    found = events(result)
    assert step(found, "regional", "provision")["message"] == (
        f"re-applied KuraInstance kura/{regional.instance} (left by smoke run earlier)"
    )
    assert step(found, "regional", "cleanup")["message"] == (
        f"KuraInstance {regional.instance} left (smoke run earlier's)"
    )
    (kept,) = kube.objects("kurainstances")
    assert kept["spec"] == render
    assert kept["metadata"]["labels"]["tuist.dev/kura-smoke-run"] == "earlier"
    assert [r for r in kube.writes() if r.method in ("POST", "DELETE")] == []


def test_a_half_provisioned_run_deletes_only_what_it_created(
    kura: InvokeKura, bed: TestBed, kube: KubeDouble, tmp_path: Path
) -> None:
    seed_platform(kube, bed)
    dedicated = bed.accounts[Mode.DEDICATED]
    kube.inject(status=403, method="POST", resource="kurainstances")
    modes = (Mode.DEDICATED,)
    result = run(kura, bed, kube.write_kubeconfig(tmp_path / "kubeconfig"), modes=modes)
    assert result.exit_code == 1
    found = events(result)
    assert step(found, "dedicated", "provision")["message"] == (
        f"provisioning KuraInstance kura/{dedicated.instance} failed"
    )
    assert step(found, "dedicated", "cleanup")["message"] == (
        f"KuraGateway {dedicated.assignment.gateway} deleted, "
        f"KuraInstance {dedicated.instance} already gone"
    )
    assert kube.objects("kuragateways") == []


def test_an_object_replaced_between_read_and_delete_is_left(
    kura: InvokeKura, bed: TestBed, kube: KubeDouble, tmp_path: Path
) -> None:
    seed_platform(kube, bed)
    regional = bed.accounts[Mode.REGIONAL]
    modes = (Mode.REGIONAL,)
    # The uid precondition's answer when the name holds another object by now.
    kube.inject(status=409, method="DELETE", resource="kurainstances")
    with operator(kube, bed, modes):
        result = run(kura, bed, kube.write_kubeconfig(tmp_path / "kubeconfig"), modes=modes)
    cleanup = step(events(result), "regional", "cleanup")
    assert cleanup["status"] == "passed"
    assert (
        cleanup["message"] == f"KuraInstance {regional.instance} left (replaced since it was read)"
    )
    (delete,) = [r for r in kube.requests if r.method == "DELETE"]
    (kept,) = kube.objects("kurainstances")
    assert delete.body == {"preconditions": {"uid": kept["metadata"]["uid"]}}


def test_a_customer_instance_that_appears_during_the_run_is_not_overwritten(
    kura: InvokeKura, bed: TestBed, kube: KubeDouble, tmp_path: Path
) -> None:
    seed_platform(kube, bed)
    regional, dedicated = bed.accounts[Mode.REGIONAL], bed.accounts[Mode.DEDICATED]
    customer = rendered(bed, "KuraInstance", dedicated.instance)

    def appear() -> None:
        if kube.wait_until(lambda: kube.get("kurainstances", NS, regional.instance) is not None):
            kube.put_object(customer)

    thread = threading.Thread(target=appear, daemon=True)
    thread.start()
    with operator(kube, bed, (Mode.REGIONAL,)):
        result = run(kura, bed, kube.write_kubeconfig(tmp_path / "kubeconfig"))
    thread.join(10)
    assert result.exit_code == 1
    found = events(result)
    provision = step(found, "dedicated", "provision")
    assert provision["message"] == f"refusing to overwrite KuraInstance kura/{dedicated.instance}"
    assert step(found, "dedicated", "cleanup")["message"] == (
        f"KuraGateway {dedicated.assignment.gateway} deleted, "
        f"KuraInstance {dedicated.instance} left (not a smoke object)"
    )
    (kept,) = kube.objects("kurainstances")
    assert kept["metadata"]["labels"] == customer["metadata"]["labels"]
    assert kept["spec"] == customer["spec"]
