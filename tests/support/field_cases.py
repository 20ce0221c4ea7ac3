"""What the control plane applies (``account_manifests``), and custom resources that break one
field rule each, and good ones, for every layer that checks them: the models
(tests/core/test_field_rules.py), the real API server's admission of the generated CRDs
(tests/operator/test_admission.py) and the operator's own check.

Each bad case names the field that every layer's message must name. The good ones are what the
control plane applies (``kura render``, with every option, for every production region and
plan), the committed golden manifests, upstream's controller-test gateway, and values exactly
at each limit.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from kura_core.accounts import Account, Plan
from kura_core.assignment import assign_gateway
from kura_core.manifests import GatewayOptions, InstanceOptions, render_manifests
from kura_core.plugins import PluginHost
from kura_core.regions import managed_catalogs

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = [
    ROOT / "tests" / "core" / "golden" / "render-enterprise-us-east.yaml",
    ROOT / "tests" / "core" / "golden" / "render-pro-eu-central.yaml",
    ROOT / "tests" / "provider_hetzner" / "data" / "kgw-abc123-us-east.yaml",
]
# A hooks.lua of the kind the Tuist server bundles: a few KiB of plain Lua.
HOOKS = (
    "local http = require('kura.http')\n\n"
    "function authenticate(ctx)\n"
    "  local token = ctx.headers['authorization']\n"
    "  if token == nil then return { status = 401 } end\n"
    "  return http.post(os.getenv('KURA_CONTROL_PLANE_URL') .. '/oauth2/introspect', token)\n"
    "end\n"
) * 20
# The non-secret variables the Tuist server puts in every instance's extraEnv.
UPSTREAM_ENV = {
    "KURA_EXTENSION_FAIL_CLOSED_AUTHENTICATE": "true",
    "KURA_EXTENSION_FAIL_CLOSED_AUTHORIZE": "true",
    "KURA_EXTENSION_HOOK_TIMEOUT_MS": "5000",
    "KURA_CONTROL_PLANE_URL": "https://tuist.dev",
    "KURA_EXTENSION_HTTP_CLIENT_TUIST_BASE_URL": "https://tuist.dev",
    "KURA_EXTENSION_HTTP_CLIENT_TUIST_CONNECT_TIMEOUT_MS": "3000",
    "KURA_EXTENSION_HTTP_CLIENT_TUIST_REQUEST_TIMEOUT_MS": "4000",
    "KURA_CONTROL_PLANE_CLIENT_ID": "7c0b4f7e-3f57-4bd0-9a3e-5c1f0d1c2b3a",
}
IMAGE = "ghcr.io/tuist/kura:0.5.0"
_HOST = PluginHost(environ={})


PLAIN_INSTANCE = InstanceOptions(image=IMAGE)
PLAIN_GATEWAY = GatewayOptions()


def account_manifests(
    account_id: int,
    handle: str,
    *,
    plan: Plan = Plan.AIR,
    region: str = "us-east",
    instance: InstanceOptions = PLAIN_INSTANCE,
    gateway: GatewayOptions = PLAIN_GATEWAY,
) -> list[dict[str, Any]]:
    """What the control plane applies for the account: ``kura render``'s objects, in order."""
    region_obj = managed_catalogs()["production"].get(region)
    account = Account(id=account_id, handle=handle, plan=plan)
    return render_manifests(
        account,
        region_obj,
        assignment=assign_gateway(account, region_obj, hosted=True),
        load_balancer_provider=_HOST.load_balancer_provider(region_obj.load_balancer_provider),
        instance=instance,
        gateway=gateway,
    )


def rendered(account_id: int, handle: str, plan: Plan, region: str) -> list[dict[str, Any]]:
    """``kura render``'s objects for the account, with every option set."""
    return account_manifests(
        account_id,
        handle,
        plan=plan,
        region=region,
        instance=InstanceOptions(
            image=f"{IMAGE}@sha256:" + "0123456789abcdef" * 4,
            manifest_revision="7",
            replicas=5,
            storage_size="400Gi",
            peer_tls_secret_name=f"kura-{handle}-peer-tls",
            extra_env=UPSTREAM_ENV,
            extension_script=HOOKS,
        ),
        gateway=GatewayOptions(replicas=3),
    )


def _of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [obj for obj in objects if obj["kind"] == kind]
    return found


def gateway(**spec: Any) -> dict[str, Any]:
    """A good KuraGateway as the control plane renders it, with ``spec`` merged in."""
    obj = _of_kind(rendered(38, "acme", Plan.ENTERPRISE, "us-east"), "KuraGateway")
    obj["spec"].update(spec)
    return obj


def instance(**spec: Any) -> dict[str, Any]:
    """A good KuraInstance as the control plane renders it, with ``spec`` merged in."""
    obj = _of_kind(rendered(38, "acme", Plan.AIR, "us-east"), "KuraInstance")
    obj["spec"].update(spec)
    return obj


def good_objects() -> list[Any]:
    """Every good object, as pytest params with ids."""
    found: list[Any] = []
    for region in managed_catalogs()["production"]:
        for plan in (Plan.AIR, Plan.ENTERPRISE):
            for obj in rendered(40, "acme-corp", plan, region.id):
                found.append(pytest.param(obj, id=f"render-{plan.value}-{region.id}-{obj['kind']}"))
    for path in GOLDEN:
        for obj in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            found.append(pytest.param(obj, id=f"{path.stem}-{obj['kind']}"))
    at_limits = {
        "host-253": instance(publicHost=".".join(["a" * 63] * 4)[:251] + ".x"),
        "host-label-63": instance(grpcPublicHost="b" * 63 + ".kura.tuist.dev"),
        # Empty means none, as upstream's controller reads it.
        "empty-hosts-and-class": instance(publicHost="", grpcPublicHost="", storageClassName=""),
        "script-64KiB": instance(extensionScript="-" * 65536),
        "script-16Ki-4-byte-characters": instance(extensionScript="\U0001f600" * 16384),
        "env-128": instance(extraEnv=[{"name": f"V{i}", "value": ""} for i in range(128)]),
        "replicas-100": instance(replicas=100),
        "selector-limits": gateway(
            nodeSelector={
                **{f"k{i}": "" for i in range(31)},
                "a" * 253 + "/" + "b" * 63: "c" * 63,
            }
        ),
        "annotations-limits": gateway(
            loadBalancerAnnotations={
                **{f"example.com/k{i}": "v" * 1024 for i in range(31)},
                "load-balancer.hetzner.cloud/type": "lb21",
            }
        ),
        "controller-class": gateway(controllerClassName="example.com/ingress-nginx/v1"),
    }
    found.extend(pytest.param(obj, id=name) for name, obj in at_limits.items())
    return found


@dataclass(frozen=True)
class Bad:
    """An object that breaks one rule of ``field``."""

    id: str
    field: str
    obj: dict[str, Any]


def bad_objects() -> list[Any]:
    """Every bad object, as pytest params with ids."""
    two_mib = "-- " + "x" * (2 * 1024 * 1024)
    cases = [
        # The inputs that once got past both the schema and the operator.
        Bad("selector-key", "spec.nodeSelector", gateway(nodeSelector={"bad key!": "v"})),
        Bad("public-host", "spec.publicHost", instance(publicHost="Bad Host!")),
        Bad("host-300", "spec.publicHost", instance(publicHost=".".join(["a" * 59] * 5) + "a")),
        Bad("script-2MiB", "spec.extensionScript", instance(extensionScript=two_mib)),
        # A few more per field.
        Bad("selector-value", "spec.nodeSelector", gateway(nodeSelector={"pool": "not ok"})),
        Bad("selector-name-64", "spec.nodeSelector", gateway(nodeSelector={"a" * 64: "v"})),
        Bad(
            "selector-prefix-254",
            "spec.nodeSelector",
            gateway(nodeSelector={"a" * 254 + "/b": "v"}),
        ),
        Bad("selector-two-slashes", "spec.nodeSelector", gateway(nodeSelector={"a/b/c": "v"})),
        Bad(
            "selector-33",
            "spec.nodeSelector",
            gateway(nodeSelector={f"k{i}": "v" for i in range(33)}),
        ),
        Bad(
            "instance-selector-key",
            "spec.nodeSelector",
            instance(nodeSelector={"Bad_Prefix/pool": "kura"}),
        ),
        Bad(
            "annotation-key",
            "spec.loadBalancerAnnotations",
            gateway(loadBalancerAnnotations={"not a key": "x"}),
        ),
        Bad(
            "annotation-value-1025",
            "spec.loadBalancerAnnotations",
            gateway(loadBalancerAnnotations={"example.com/k": "v" * 1025}),
        ),
        Bad("controller-class", "spec.controllerClassName", gateway(controllerClassName="nginx")),
        Bad("controller-image", "spec.controllerImage", gateway(controllerImage="nginx :1")),
        Bad("gateway-replicas-101", "spec.replicas", gateway(replicas=101)),
        Bad("class-name", "spec.ingressClassName", gateway(ingressClassName="Kura_Class")),
        Bad("host-label-64", "spec.publicHost", instance(publicHost="a" * 64 + ".kura.tuist.dev")),
        Bad("host-dots", "spec.grpcPublicHost", instance(grpcPublicHost="grpc..kura.tuist.dev")),
        Bad("host-upper", "spec.grpcPublicHost", instance(grpcPublicHost="GRPC.kura.tuist.dev")),
        Bad(
            "script-64KiB-and-1",
            "spec.extensionScript",
            instance(extensionScript="-" * 65537),
        ),
        # 40,000 characters (under the length bound) but 80,000 bytes in UTF-8.
        Bad("script-bytes", "spec.extensionScript", instance(extensionScript="é" * 40000)),
        Bad(
            "env-twice",
            "spec.extraEnv",
            instance(extraEnv=[{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]),
        ),
        Bad("env-name", "spec.extraEnv[0].name", instance(extraEnv=[{"name": "1BAD"}])),
        Bad(
            "env-129",
            "spec.extraEnv",
            instance(extraEnv=[{"name": f"V{i}"} for i in range(129)]),
        ),
        Bad("storage-size", "spec.storageSize", instance(storageSize="big")),
        Bad("storage-class", "spec.storageClassName", instance(storageClassName="Bad_Class")),
        Bad("peer-secret", "spec.peerTLSSecretName", instance(peerTLSSecretName="-peer")),
        Bad("handle", "spec.accountHandle", instance(accountHandle="Acme")),
        Bad("tenant", "spec.tenantID", instance(tenantID="not ok")),
        Bad("image", "spec.image", instance(image="ghcr.io/tuist/kura: 1")),
        Bad("instance-replicas-0", "spec.replicas", instance(replicas=0)),
        Bad("instance-replicas-101", "spec.replicas", instance(replicas=101)),
    ]
    return [pytest.param(copy.deepcopy(case), id=case.id) for case in cases]
