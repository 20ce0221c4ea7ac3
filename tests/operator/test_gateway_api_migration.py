"""docs/gateway-api.md, step by step, on the real control plane: region eu-central moves from
ingress-nginx to the Gateway API provider with both gateways side by side.

The region starts as the operator runs it on ingress-nginx: a shared-gateway account on the
platform chart's class ``kura-eu-central`` and a dedicated account with its KuraGateway, every
object Ready. Then the runbook's steps, with its own ``kura`` and ``kubectl`` commands and the jq
programs read from the page itself, so a wrong filter fails here. What a test control plane
cannot run is played, and each step says what:

- Envoy Gateway: its CRDs are installed (``kura_platform_crds``), its controller is played: it
  accepts and programs a Gateway with an address, accepts a ListenerSet its Gateway admits, and
  accepts each route (``status.parents``).
- helm and the platform chart: the ``kura-<region>-gateway-api`` block's objects are applied as
  the chart's template does, and ``helm get values`` is the values files merged as helm merges
  them; the chart's ingress-nginx is not run, only its IngressClass exists.
- DNS: what external-dns's Gateway API sources would publish for each host (the address of the
  Gateway the host's accepted route attaches to, through its ListenerSet), since no DNS server or
  external-dns runs here; its ingress source is not modelled.
- Step 7's rollout: the page's patch is applied to the deploy base's Deployment with
  ``kubectl patch --local``, and the operator is restarted with the patched arguments, the
  ConfigMap's volume being a directory holding its keys, with the deploy base's RBAC plus the
  component's.
- Not run: ``curl`` through the new gateway (Envoy does not run here), ``hcloud`` and
  ``kura lb`` (no Hetzner account), the PromQL of step 6.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kura_core.cli.app import build_cli
from kura_core.plugins import PluginHost
from kura_testing.binaries import require_binary
from kura_testing.client import wait_for
from tests.operator.conftest import REAL
from tests.operator.deploy_base import ROOT, find, render
from tests.operator.harness import NAMESPACE, OperatorProcess
from tests.operator.real_cluster import RealCluster
from tests.operator.test_gateway_api import overlay, program
from tests.operator.test_migration import kubectl, step

pytestmark = REAL

DOC = ROOT / "docs" / "gateway-api.md"
CLUSTER_FILE = ROOT / "docs" / "examples" / "cluster.yaml"
REGION = "eu-central"
PLATFORM = "platform"
SHARED_CLASS = f"kura-{REGION}"
ENVOY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"
LB_NAME = "load-balancer.hetzner.cloud/name"
# Where each gateway is reached: the old ones' load balancers, then the new ones'.
OLD_DEDICATED_ADDRESS = "203.0.113.7"
NEW_SHARED_ADDRESS = "198.51.100.10"
NEW_DEDICATED_ADDRESS = "198.51.100.11"
# What a gateway and an instance are made of on the Gateway API provider.
GATEWAY_API_KINDS = (
    "gateways",
    "envoyproxies",
    "clienttrafficpolicies",
    "listenersets",
    "httproutes",
    "grpcroutes",
    "httproutefilters",
    "backendtrafficpolicies",
)
ROLLOUT = 60.0


# --- the runbook's own programs ------------------------------------------------------------------


def section(number: int) -> str:
    """The text of the runbook's step ``number``, up to the next heading."""
    text = DOC.read_text(encoding="utf-8")
    (found,) = re.findall(rf"\n## {number}\. .*?(?=\n## |\Z)", text, re.S)
    return str(found)


def jq_programs(number: int) -> list[str]:
    """The jq programs step ``number`` runs, in order: each ``jq '…'`` of its shell blocks, and
    for ``jq -f FILE`` the step's own ```jq block, which is that file."""
    text = section(number)
    files = re.findall(r"```jq\n(.*?)```", text, re.S)
    programs = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        lexer = shlex.shlex(block.replace("\\\n", " "), posix=True, punctuation_chars="|&;<>()")
        lexer.whitespace_split = True
        words = list(lexer)
        for at, word in enumerate(words):
            if word != "jq":
                continue
            options = words[at + 1 :]
            if options[0] == "-f":
                (program,) = files
                programs.append(program)
            else:
                programs.append(next(w for w in options if not w.startswith("-")))
    return programs


def jq(program: str, document: str) -> str:
    done = subprocess.run(
        [require_binary("jq"), program],
        input=document,
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.stdout


def kura(*args: str) -> tuple[int, str]:
    """``kura`` as the runbook runs it: exit code and output."""
    result = CliRunner().invoke(
        build_cli(PluginHost(environ={})),
        list(args),
        env={"KURA_ENV": None, "KURA_CATALOG": None},
        catch_exceptions=False,
    )
    return result.exit_code, result.stdout


def kura_ok(*args: str) -> str:
    code, output = kura(*args)
    assert code == 0, output
    return output


def helm_merge(*files: Mapping[str, Any]) -> dict[str, Any]:
    """Values files merged as helm merges ``-f`` files: maps key by key, the last file's
    lists and scalars win."""

    def merge(base: Any, top: Any) -> Any:
        if isinstance(base, Mapping) and isinstance(top, Mapping):
            return {k: merge(base[k], v) if k in base else v for k, v in top.items()} | {
                k: v for k, v in base.items() if k not in top
            }
        return top

    merged: dict[str, Any] = {}
    for values in files:
        merged = merge(merged, values)
    return merged


# --- what the cluster's other controllers do -----------------------------------------------------


def admits(gateway: Mapping[str, Any], namespace: str, cluster: RealCluster) -> bool:
    """Whether a Gateway's ``allowedListeners`` admits ListenerSets of ``namespace``."""
    allowed = (gateway["spec"].get("allowedListeners") or {}).get("namespaces") or {}
    where = allowed.get("from", "None")
    if where == "All":
        return True
    if where == "Same":
        return bool(gateway["metadata"]["namespace"] == namespace)
    if where == "Selector":
        # The test's namespace stands for the runbook's `kura`.
        name = NAMESPACE if namespace == cluster.operator_namespace else namespace
        labels = {"kubernetes.io/metadata.name": name}
        wanted = allowed["selector"].get("matchLabels") or {}
        return all(labels.get(k) == v for k, v in wanted.items())
    return False


def condition(kind: str, generation: int, message: str) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True",
        "reason": kind,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": "2026-12-06T08:00:00Z",
    }


def accept_routes(cluster: RealCluster) -> None:
    """Envoy Gateway with the instances' ListenerSets (accepted where their Gateway admits
    them) and routes (accepted by their ListenerSet's listener)."""
    admin, namespace = cluster.real.client, cluster.operator_namespace
    for listener_set in admin.list("listenersets", namespace):
        parent = listener_set["spec"]["parentRef"]
        gateway = admin.get("gateways", parent.get("namespace", namespace), parent["name"])
        if gateway is None or not admits(gateway, namespace, cluster):
            continue
        generation = listener_set["metadata"]["generation"]
        status = {"conditions": [condition("Accepted", generation, "Accepted")]}
        name = listener_set["metadata"]["name"]
        admin.merge_patch("listenersets", namespace, name, {"status": status}, status=True)
    for plural in ("httproutes", "grpcroutes"):
        for route in admin.list(plural, namespace):
            parents = [
                {
                    "parentRef": ref,
                    "controllerName": ENVOY_CONTROLLER,
                    "conditions": [condition("Accepted", route["metadata"]["generation"], "ok")],
                }
                for ref in route["spec"].get("parentRefs") or []
                if ref.get("kind") == "ListenerSet"
            ]
            if parents:
                name = route["metadata"]["name"]
                admin.merge_patch(
                    plural, namespace, name, {"status": {"parents": parents}}, status=True
                )


def published_records(cluster: RealCluster) -> dict[str, set[str]]:
    """What external-dns's ``gateway-httproute`` and ``gateway-grpcroute`` sources publish:
    each hostname of a route accepted by its parent, at the addresses of the Gateway that
    parent (a ListenerSet) attaches to."""
    admin, namespace = cluster.real.client, cluster.operator_namespace
    records: dict[str, set[str]] = {}
    for plural in ("httproutes", "grpcroutes"):
        for route in admin.list(plural, namespace):
            for parent in (route.get("status") or {}).get("parents") or []:
                accepted = any(
                    c["type"] == "Accepted" and c["status"] == "True" for c in parent["conditions"]
                )
                ref = parent["parentRef"]
                if not accepted or ref.get("kind") != "ListenerSet":
                    continue
                listener_set = admin.get("listenersets", namespace, ref["name"]) or {}
                gateway_ref = listener_set["spec"]["parentRef"]
                gateway = admin.get(
                    "gateways", gateway_ref.get("namespace", namespace), gateway_ref["name"]
                )
                addresses = {
                    a["value"] for a in ((gateway or {}).get("status") or {}).get("addresses") or []
                }
                for host in route["spec"].get("hostnames") or []:
                    records.setdefault(host, set()).update(addresses)
    return records


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["metadata"]["name"]: item for item in items}


def managers(obj: Mapping[str, Any]) -> set[tuple[str, str]]:
    """Who owns fields of the object itself (not its status), by which operation."""
    return {
        (entry["manager"], entry["operation"])
        for entry in obj["metadata"].get("managedFields") or []
        if not entry.get("subresource")
    }


# --- the test --------------------------------------------------------------------------------


@pytest.fixture
def platform(cluster: RealCluster) -> Iterator[str]:
    """Namespace ``platform``, the platform chart's; afterwards it goes with what the test put
    there, and so does the region's GatewayClass (the control plane is the worker's: the next
    test must not seed into a terminating namespace)."""
    admin = cluster.real.client
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": PLATFORM}}
    admin.apply(namespace, field_manager="kura-tests")
    yield PLATFORM
    admin.delete("namespaces", None, PLATFORM)
    wait_for(lambda: admin.get("namespaces", None, PLATFORM) is None, "the platform to go", 60)
    admin.delete("gatewayclasses", None, SHARED_CLASS)


def apply_block(cluster: RealCluster, values: Mapping[str, Any]) -> None:
    """What the platform chart's template does with the region's gateway-api block."""
    block = values[f"kura-{REGION}-gateway-api"]
    assert block["enabled"] is True
    for obj in block["objects"]:
        cluster.real.client.apply(obj, field_manager="helm")


def steady(cluster: RealCluster) -> None:
    """Three resyncs (of the operator started last: its instances reconciled three times more,
    from its cache), and the operator writes nothing."""
    operator = cluster.operators[-1]
    done = {"kind": "KuraInstance", "result": "ok"}
    cluster.real.clear_requests()
    reconciled = operator.metric("kura_operator_reconciles_total", **done)
    cluster.wait(
        lambda: operator.metric("kura_operator_reconciles_total", **done) >= reconciled + 3,
        "three resyncs",
        60,
    )
    assert [str(r) for r in cluster.real.writes()] == []


def patched_operator_args(cluster: RealCluster, work: Path) -> list[str]:
    """kura-operator's arguments once step 7's patch is applied to the deploy base's
    Deployment (``kubectl patch --local``), with the ConfigMap's volume as a directory here."""
    (patch,) = re.findall(
        r"patch deployment kura-operator --type=json -p '(.*?)'", section(7), re.S
    )
    deployment = work / "deployment.json"
    deployment.write_text(json.dumps(find(render(), "Deployment", "kura-operator")))
    patched = json.loads(
        kubectl(cluster, "patch", "--local", "-f", str(deployment), "--type=json", "-p", patch,
                "-o", "json")
    )  # fmt: skip
    pod = patched["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounted = work / "catalog-volume"
    mounted.mkdir()
    mounts = {}
    for mount in container["volumeMounts"]:
        source = volumes[mount["name"]].get("configMap")
        if source is not None:
            data = cluster.real.get("configmaps", NAMESPACE, source["name"]) or {}
            for key, value in data["data"].items():
                (mounted / key).write_text(value)
            mounts[mount["mountPath"]] = str(mounted)
    args = list(container["args"])
    # The harness names the test's namespace itself.
    at = args.index("--namespace")
    del args[at : at + 2]
    for path, local in mounts.items():
        args = [arg.replace(path, local) if arg.startswith(path + "/") else arg for arg in args]
    assert args[args.index("--catalog") + 1] == str(mounted / "catalog.json")
    return args


def start(cluster: RealCluster, *args: str) -> OperatorProcess:
    return cluster.start_operator(*args, "--env", "production", "--resync", "0.5")


def test_the_runbook_moves_a_region_from_ingress_nginx_to_the_gateway_api(
    cluster: RealCluster, platform: str, tmp_path: Path
) -> None:
    kube, admin, namespace = cluster.real, cluster.real.client, cluster.operator_namespace
    work = tmp_path / "runbook"
    work.mkdir()

    # The region as it runs on ingress-nginx: the platform chart's shared class, a dedicated
    # account (KuraGateway and KuraInstance, as `kura render` gives the Tuist server) and a
    # shared one, all Ready under the operator with the built-in catalog.
    cluster.seed_regional_class(REGION)
    dedicated = kura_ok(
        "render", "--account-id", "46", "--handle", "acme", "--plan", "enterprise",
        "--region", REGION, "--hosted", "-o", "json",
    )  # fmt: skip
    shared = kura_ok(
        "render", "--account-id", "47", "--handle", "beta", "--plan", "pro",
        "--region", REGION, "-o", "json",
    )  # fmt: skip
    (kura_gateway, dedicated_instance) = json.loads(dedicated)
    (shared_instance,) = json.loads(shared)
    gateway_name = kura_gateway["metadata"]["name"]
    gateway_class = kura_gateway["spec"]["ingressClassName"]
    instances = [dedicated_instance["metadata"]["name"], shared_instance["metadata"]["name"]]
    old = start(cluster)
    for obj in (kura_gateway, dedicated_instance, shared_instance):
        cluster.apply(obj)
    cluster.make_ready(gateway_name, address=OLD_DEDICATED_ADDRESS)
    cluster.wait_phase(gateway_name, "Ready", ROLLOUT)
    for name in instances:
        cluster.make_instance_ready(name)
        cluster.wait_instance_phase(name, "Ready", ROLLOUT)
    old_children = cluster.children(gateway_name)
    assert all(old_children.values()), old_children
    ingresses = {i["metadata"]["name"] for i in kube.objects("ingresses", NAMESPACE)}
    assert ingresses >= {f"{n}{s}" for n in instances for s in ("", "-grpc", "-private")}
    # The leader's Lease renewals (get, update) go on; its work on the region does not.
    old.wait_quiet(verbs=("create", "patch", "delete"))
    kube.clear_requests()

    with step("1. Install Envoy Gateway"):
        # The test control plane serves the CRDs; the runbook's check finds every kind.
        (command,) = re.findall(r"kubectl get crd (.*?)\n```", section(1), re.S)
        names = command.replace("\\\n", " ").split()
        listed = kubectl(cluster, "get", "crd", *names, "-o", "name")
        assert len(listed.splitlines()) == len(names) == 9

    with step("2. Write the region's new catalog entry"):
        catalog = work / "catalog.json"
        catalog.write_text(kura_ok("regions", "--env", "production", "-o", "json"))
        (next_filter,) = jq_programs(2)
        catalog_next = work / "catalog-next.json"
        catalog_next.write_text(jq(next_filter, catalog.read_text()))
        regions = kura_ok("--catalog", str(catalog_next), "regions", "-o", "json")
        providers = {r["id"]: r["ingress_provider"] for r in json.loads(regions)}
        assert providers == {
            "eu-central": "gateway-api",
            "us-east": "ingress-nginx",
            "us-west": "ingress-nginx",
        }

    with step("3. The shared gateway, beside the old one"):
        values_old = yaml.safe_load(kura_ok("--catalog", str(catalog), "gateway", "values"))
        (next_name,) = jq_programs(3)
        rendered = kura_ok("--catalog", str(catalog_next), "gateway", "values", "-o", "json")
        values_next = json.loads(jq(next_name, rendered))
        apply_block(cluster, values_next)
        shared_gateway = admin.get("gateways", PLATFORM, SHARED_CLASS)
        assert shared_gateway is not None
        annotations = shared_gateway["spec"]["infrastructure"]["annotations"]
        assert annotations[LB_NAME] == f"tuist-kura-{REGION}-ingress-next"
        program(cluster, SHARED_CLASS, namespace=PLATFORM, address=NEW_SHARED_ADDRESS)
        kubectl(
            cluster, "-n", PLATFORM, "wait", f"gateway/{SHARED_CLASS}",
            "--for=condition=Programmed", "--timeout=30s",
        )  # fmt: skip
        address = kubectl(
            cluster, "-n", PLATFORM, "get", "gateway", SHARED_CLASS,
            "-o", 'jsonpath={.status.addresses[0].value}{"\\n"}',
        )  # fmt: skip
        assert address == f"{NEW_SHARED_ADDRESS}\n"
        deployed = work / "values-deployed.yaml"
        deployed.write_text(yaml.safe_dump(helm_merge(values_old, values_next)))
        code, drift = kura(
            "--catalog", str(catalog_next), "drift", "--values", str(deployed),
            "--cluster", str(CLUSTER_FILE), "-o", "json",
        )  # fmt: skip
        assert code == 1
        found = {(d["region"], d["check"], d["actual"]) for d in json.loads(drift)["findings"]}
        assert found == {
            (REGION, "lb-annotation", f"tuist-kura-{REGION}-ingress-next"),
            (REGION, "extra-block", f"kura-{REGION}-ingress-nginx"),
        }

    with step("4. The dedicated gateways, beside theirs"):
        gateways_yaml = kubectl(
            cluster, "get", "kuragateways", "-l", f"tuist.dev/region={REGION}", "-o", "yaml"
        )
        (gateways_file := work / "gateways.yaml").write_text(gateways_yaml)
        (next_names,) = jq_programs(4)
        rendered = kura_ok(
            "--catalog", str(catalog_next), "gateway", "render", str(gateways_file), "-o", "json"
        )
        (gateways_next := work / "gateways-next.json").write_text(jq(next_names, rendered))
        kubectl(
            cluster, "apply", "--server-side", "--field-manager=kura-operator",
            "-f", str(gateways_next),
        )  # fmt: skip
        listed = kubectl(
            cluster, "get", "gateways", "-l", f"tuist.dev/region={REGION}", "-o", "name"
        )
        assert listed.split() == [f"gateway.gateway.networking.k8s.io/{gateway_class}"]
        program(cluster, gateway_class, address=NEW_DEDICATED_ADDRESS)

    with step("5. Every instance's routes, beside its Ingresses"):
        instances_yaml = kubectl(
            cluster, "get", "kurainstances", "-l", f"tuist.dev/region={REGION}", "-o", "yaml"
        )
        (instances_file := work / "instances.yaml").write_text(instances_yaml)
        routes = kura_ok(
            "--catalog", str(catalog_next), "instance", "render", str(instances_file),
            "--cluster-issuer", "",
        )  # fmt: skip
        (routes_next := work / "routes-next.yaml").write_text(routes)
        kubectl(
            cluster, "apply", "--server-side", "--field-manager=kura-operator",
            "-f", str(routes_next),
        )  # fmt: skip
        (policies_program,) = jq_programs(5)
        listed_json = kubectl(
            cluster, "get", "kurainstances", "-l", f"tuist.dev/region={REGION}", "-o", "json"
        )
        (policies := work / "policies-next.json").write_text(jq(policies_program, listed_json))
        kubectl(cluster, "apply", "-f", str(policies))
        accept_routes(cluster)
        accepted = kubectl(
            cluster, "get", "listenersets", "-l", f"tuist.dev/region={REGION}", "-o",
            'jsonpath={range .items[*]}{.metadata.name} '
            '{.status.conditions[?(@.type=="Accepted")].status}{"\\n"}{end}',
        )  # fmt: skip
        assert sorted(accepted.splitlines()) == sorted(f"{n} True" for n in instances)
        # The migration policies admit the Envoy proxies of each instance's new Gateway, on
        # the HTTP and gRPC ports only.
        migration = by_name(kube.objects("networkpolicies", NAMESPACE))
        dedicated_name, shared_name = instances
        owning = "gateway.envoyproxy.io/owning-gateway-name"
        assert migration[f"{dedicated_name}-gateway-api"]["spec"]["ingress"] == [
            {
                "from": [{"podSelector": {"matchLabels": {owning: gateway_class}}}],
                "ports": [
                    {"protocol": "TCP", "port": "http"},
                    {"protocol": "TCP", "port": "grpc"},
                ],
            }
        ]
        assert migration[f"{shared_name}-gateway-api"]["spec"]["ingress"][0]["from"] == [
            {
                "podSelector": {"matchLabels": {owning: SHARED_CLASS}},
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": PLATFORM}},
            }
        ]
        # Side by side: the old gateway and its instances still serve, as they were.
        assert cluster.children(gateway_name).keys() == old_children.keys()
        assert all(cluster.children(gateway_name).values())
        assert cluster.phase(gateway_name) == "Ready"
        for name in instances:
            assert cluster.phase(name, "kurainstances") == "Ready"
        assert {i["metadata"]["name"] for i in kube.objects("ingresses", NAMESPACE)} == ingresses

    with step("6. Move DNS"):
        # What the runbook lists to move the records by hand ...
        hosts = kubectl(
            cluster, "get", "kurainstances", "-l", f"tuist.dev/region={REGION}", "-o",
            'jsonpath={range .items[*]}{.spec.publicHost} {.spec.grpcPublicHost} '
            '{.spec.ingressClassName}{"\\n"}{end}',
        )  # fmt: skip
        addresses = kubectl(
            cluster, "get", "gateways", "-A", "-l", f"tuist.dev/region={REGION}", "-o",
            'jsonpath={range .items[*]}{.metadata.name} {.status.addresses[0].value}{"\\n"}{end}',
        )  # fmt: skip
        gateway_address = dict(line.split() for line in addresses.splitlines())
        by_hand = {
            host: gateway_address[words[-1]]
            for words in (line.split() for line in hosts.splitlines())
            for host in words[:-1]
        }
        # ... is what external-dns's Gateway API sources would publish.
        published = published_records(cluster)
        assert {host: {address} for host, address in by_hand.items()} == published
        spec = {i["metadata"]["name"]: i["spec"] for i in (dedicated_instance, shared_instance)}
        assert published == {
            spec[dedicated_name]["publicHost"]: {NEW_DEDICATED_ADDRESS},
            spec[dedicated_name]["grpcPublicHost"]: {NEW_DEDICATED_ADDRESS},
            spec[shared_name]["publicHost"]: {NEW_SHARED_ADDRESS},
            spec[shared_name]["grpcPublicHost"]: {NEW_SHARED_ADDRESS},
        }
        # Steps 3 to 6 only added objects beside the old ones: the operator, still on the old
        # catalog, wrote nothing.
        assert [str(r) for r in kube.writes()] == []

    hand_applied = {
        (plural, obj["metadata"]["name"]): obj["metadata"]["uid"]
        for plural in GATEWAY_API_KINDS
        for obj in kube.objects(plural, NAMESPACE)
    }
    # The Gateway, EnvoyProxy, ClientTrafficPolicy and redirect of the gateway; each instance's
    # ListenerSet, HTTPRoute, filter, GRPCRoute and BackendTrafficPolicy.
    assert len(hand_applied) == 4 + 2 * 5

    with step("7. Hand the region to the operator"):
        # `kubectl apply -k` of the overlay with the component: its Role and RoleBinding.
        cluster.grant(render(overlay(tmp_path / "overlay")))
        kubectl(
            cluster, "create", "configmap", "kura-catalog",
            f"--from-file=catalog.json={catalog_next}",
        )  # fmt: skip
        # The rollout: the old pod stops, the new one runs as the patched Deployment says.
        assert old.stop() == 0
        start(cluster, *patched_operator_args(cluster, work))
        # The old gateway goes, its load balancer with its Service, and its class.
        cluster.wait(
            lambda: not any(cluster.children(gateway_name).values()),
            "the dedicated gateway's ingress-nginx children to go",
            ROLLOUT,
        )
        cluster.wait(
            lambda: kube.objects("ingresses", NAMESPACE) == [],
            "the instances' Ingresses to go",
            ROLLOUT,
        )
        # The hand-applied objects are the operator's now, as they were: same objects (uids),
        # its field manager alone, and the dedicated load balancer's usual name back.
        cluster.wait(
            lambda: (
                (admin.get("gateways", namespace, gateway_class) or {})["spec"]["infrastructure"][
                    "annotations"
                ][LB_NAME]
                == kura_gateway["spec"]["loadBalancerAnnotations"][LB_NAME]
            ),
            "the dedicated Gateway's load balancer name",
            ROLLOUT,
        )
        program(cluster, gateway_class, address=NEW_DEDICATED_ADDRESS)
        accept_routes(cluster)
        kept = {
            (plural, obj["metadata"]["name"]): obj["metadata"]["uid"]
            for plural in GATEWAY_API_KINDS
            for obj in kube.objects(plural, NAMESPACE)
        }
        assert kept == hand_applied
        for plural, name in kept:
            obj = admin.get(plural, namespace, name) or {}
            assert managers(obj) == {("kura-operator", "Apply")}, (plural, name)
        # The NetworkPolicy of each instance admits its Gateway's Envoy proxies.
        policies_now = by_name(kube.objects("networkpolicies", NAMESPACE))
        for name, peer in (
            (dedicated_name, {"podSelector": {"matchLabels": {owning: gateway_class}}}),
            (
                shared_name,
                {
                    "podSelector": {"matchLabels": {owning: SHARED_CLASS}},
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": PLATFORM}},
                },
            ),
        ):
            rules = policies_now[name]["spec"]["ingress"]
            gateway_rules = [r["from"] for r in rules if len(r.get("ports", [])) == 2]
            assert gateway_rules == [[peer]], name
        # The runbook's clean-up and checks.
        kubectl(cluster, "delete", "networkpolicies", "-l", "kura.tuist.dev/migration=gateway-api")
        kubectl(
            cluster, "wait", "kuragateways", "-l", f"tuist.dev/region={REGION}",
            "--for=condition=Ready", "--timeout=60s",
        )  # fmt: skip
        assert kubectl(cluster, "get", "ingresses", "-l", f"tuist.dev/region={REGION}") == ""
        status = (cluster.gateway(gateway_name) or {})["status"]
        assert status["loadBalancer"] == NEW_DEDICATED_ADDRESS
        assert status["readyReplicas"] == 2
        # No status field names what is gone.
        assert "serviceName" not in status
        for name in instances:
            cluster.wait_instance_phase(name, "Ready", ROLLOUT)

    with step("8. Remove the old shared gateway"):
        values_final = yaml.safe_load(kura_ok("--catalog", str(catalog_next), "gateway", "values"))
        off = {f"kura-{REGION}-ingress-nginx": {"enabled": False}}
        # The chart removes the ingress-nginx alias and its IngressClass.
        admin.delete("ingressclasses", None, SHARED_CLASS)
        apply_block(cluster, values_final)
        program(cluster, SHARED_CLASS, namespace=PLATFORM, address=NEW_SHARED_ADDRESS)
        shared_gateway = admin.get("gateways", PLATFORM, SHARED_CLASS) or {}
        annotations = shared_gateway["spec"]["infrastructure"]["annotations"]
        assert annotations[LB_NAME] == f"tuist-kura-{REGION}-ingress"
        # No IngressClass is left, and no instance needs one.
        assert kube.objects("ingressclasses") == []
        for name in instances:
            cluster.wait_instance_phase(name, "Ready", ROLLOUT)

    with step("9. Check"):
        deployed.write_text(yaml.safe_dump(helm_merge(values_final, off)))
        code, drift = kura(
            "--catalog", str(catalog_next), "drift", "--values", str(deployed),
            "--cluster", str(CLUSTER_FILE), "-o", "json",
        )  # fmt: skip
        assert (code, json.loads(drift)["findings"]) == (0, []), drift
        # Nothing of ours is left behind: of the gateway, its Gateway API objects only; of the
        # instances, their own children and routes on the new provider.
        ours = "app.kubernetes.io/managed-by=kura-controller"
        leftovers = {
            (plural, obj["metadata"]["name"])
            for plural in ("configmaps", "services", "deployments", "ingresses", "networkpolicies")
            for obj in admin.list(plural, namespace, selector=ours)
        }
        assert leftovers == {
            *(("services", f"{n}{s}") for n in instances for s in ("", "-headless")),
            *(("networkpolicies", n) for n in instances),
        }
        steady(cluster)
