"""Every permission the operator uses: the table its start-up self-check asks the API server
about, and the one the deploy base's RBAC must grant exactly (tests/operator/test_rbac.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Scopes: in the watched namespace, or cluster-wide.
NAMESPACE = "namespace"
CLUSTER = "cluster"
# The cache lists and watches what the operator reads (kura_operator.cache); only kinds it does
# not watch are read with a GET.
WATCH = ("list", "watch")
WRITE = ("create", "patch")
KURA = "kura.tuist.dev"
COORDINATION = "coordination.k8s.io"


@dataclass(frozen=True)
class Access:
    """One verb on one resource (``plural`` or ``plural/subresource``), optionally one object."""

    verb: str
    group: str
    resource: str
    scope: str = NAMESPACE
    name: str | None = None

    def __str__(self) -> str:
        where = "cluster-wide" if self.scope == CLUSTER else "in its namespace"
        named = f" {self.name}" if self.name else ""
        return f"{self.verb} {self.group or 'core'}/{self.resource}{named} {where}"


def _each(
    verbs: Iterable[str], group: str, *resources: str, scope: str = NAMESPACE
) -> list[Access]:
    return [Access(verb, group, resource, scope) for resource in resources for verb in verbs]


GATEWAY_API = "gateway.networking.k8s.io"
ENVOY_GATEWAY = "gateway.envoyproxy.io"


def gateway_api_required() -> tuple[Access, ...]:
    """What a region on the Gateway API provider adds (``deploy/components/gateway-api``): a
    dedicated gateway's Gateway and Envoy Gateway settings, owned and so collected with it, and
    an instance's routes; the operator deletes what is no longer rendered (a class renamed, a host
    taken out, a region moved to this provider from ingress-nginx)."""
    return (
        *_each(
            (*WATCH, *WRITE, "delete"),
            GATEWAY_API,
            "gateways",
            "listenersets",
            "httproutes",
            "grpcroutes",
        ),
        *_each(
            (*WATCH, *WRITE, "delete"),
            ENVOY_GATEWAY,
            "envoyproxies",
            "clienttrafficpolicies",
            "backendtrafficpolicies",
            "httproutefilters",
        ),
        *_each(("delete",), "", "configmaps"),
        *_each(("delete",), "apps", "deployments"),
    )


def required(lease_name: str, *, gateway_api: bool = False) -> tuple[Access, ...]:
    """What the operator needs, with leader election on the Lease ``lease_name``, and with a
    region on the Gateway API provider when ``gateway_api``."""
    return (
        *(gateway_api_required() if gateway_api else ()),
        *_each((*WATCH, "patch"), KURA, "kuragateways", "kurainstances"),
        *_each(("patch",), KURA, "kuragateways/status", "kurainstances/status"),
        # Owner references with blockOwnerDeletion on the children.
        *_each(("update",), KURA, "kuragateways/finalizers", "kurainstances/finalizers"),
        *_each((*WATCH, *WRITE), "", "configmaps"),
        *_each((*WATCH, *WRITE), "apps", "deployments", "statefulsets"),
        *_each((*WATCH, *WRITE), "networking.k8s.io", "networkpolicies"),
        *_each((*WATCH, *WRITE, "delete"), "", "services"),
        *_each((*WATCH, *WRITE, "delete"), "networking.k8s.io", "ingresses"),
        *_each((*WATCH, *WRITE, "delete"), "policy", "poddisruptionbudgets"),
        *_each(("get", "list", *WRITE, "delete"), "cert-manager.io", "certificates"),
        *_each(("get", *WRITE), "", "secrets"),
        *_each(WATCH, "", "pods"),
        *_each(("create",), "", "events"),
        # The leader election's Lease: a create cannot be limited to a name, the rest can.
        Access("create", COORDINATION, "leases"),
        Access("get", COORDINATION, "leases", NAMESPACE, lease_name),
        Access("update", COORDINATION, "leases", NAMESPACE, lease_name),
        # The dedicated gateway's own class.
        *_each((*WATCH, *WRITE, "delete"), "networking.k8s.io", "ingressclasses", scope=CLUSTER),
    )


def _matches(values: Iterable[str], wanted: str) -> bool:
    return any(value in ("*", wanted) for value in values)


def allowed(rules: Iterable[Mapping[str, Any]], access: Access) -> bool:
    """Whether the resource rules of a SelfSubjectRulesReview grant ``access``."""
    for rule in rules:
        names = rule.get("resourceNames") or []
        if (
            _matches(rule.get("verbs") or [], access.verb)
            and _matches(rule.get("apiGroups") or [], access.group)
            and _matches(rule.get("resources") or [], access.resource)
            and (not names or (access.name is not None and access.name in names))
        ):
            return True
    return False
