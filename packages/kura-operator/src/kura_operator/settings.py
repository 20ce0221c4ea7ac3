"""How one operator process runs: scope, ports, leader election, resync."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, IPvAnyAddress, model_validator

from kura_core import DEFAULT_GATEWAY_SERVICE_ACCOUNT, DNS_LABEL_PATTERN, is_dns_subdomain

FIELD_MANAGER = "kura-operator"
# Upstream's controller's field managers: its server-side applies name it kura-controller, and
# controller-runtime names its other writes after the binary, manager. Taking over a child
# makes their fields the operator's (kura_operator.ownership).
PREVIOUS_FIELD_MANAGERS = ("kura-controller", "manager")
# The platform's DNS-01 ClusterIssuer (Cloudflare): upstream's --grpc-cluster-issuer in production.
DEFAULT_CLUSTER_ISSUER = "letsencrypt-cloudflare"
# Upstream's controller (controller-runtime) holds this Lease in its namespace: sharing it keeps
# the two from reconciling at the same time.
LEADER_ELECTION_ID = "kura-controller.kura.tuist.dev"


def _object_name(value: str) -> str:
    if not is_dns_subdomain(value):
        raise ValueError(f"{value!r} is not a Kubernetes object name (a DNS subdomain)")
    return value


class OperatorSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: str = Field(default="kura", pattern=DNS_LABEL_PATTERN)
    all_namespaces: bool = False
    env: str = "production"
    catalog_file: Path | None = None
    # Every address by default: kubelet probes and Prometheus reach the pod on its own IP.
    bind_address: IPvAnyAddress = IPv4Address("0.0.0.0")
    metrics_port: int = Field(default=8080, ge=0, le=65535)
    health_port: int = Field(default=8081, ge=0, le=65535)
    dry_run: bool = False
    # Reconcile only while holding the Lease ``leader_election_id`` in ``namespace``.
    leader_elect: bool = True
    leader_election_id: Annotated[str, AfterValidator(_object_name)] = LEADER_ELECTION_ID
    resync_seconds: float = Field(default=300.0, gt=0)
    self_check_seconds: float = Field(default=60.0, gt=0)
    # A reconcile the API server refused for good (403, 422, a kind not served) is tried again
    # this often, in case an admin fixes the cluster; transient errors back off from 1 s to 60 s.
    permanent_error_retry_seconds: float = Field(default=300.0, gt=0)
    request_timeout: float = Field(default=30.0, gt=0)
    gateway_service_account: str = DEFAULT_GATEWAY_SERVICE_ACCOUNT
    # cert-manager ClusterIssuer of the instances' public TLS Certificates; "" renders none.
    cluster_issuer: str = DEFAULT_CLUSTER_ISSUER
    # Where the Kura pods send their traces (KURA_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); "": none.
    otlp_traces_endpoint: str = ""
    field_manager: str = FIELD_MANAGER
    take_over_field_managers: tuple[str, ...] = PREVIOUS_FIELD_MANAGERS
    # Namespaces whose pods may scrape the Kura pods' HTTP port (/metrics): besides these, the
    # NetworkPolicy admits only the instance's gateway there.
    scraper_namespaces: tuple[Annotated[str, Field(pattern=DNS_LABEL_PATTERN)], ...] = ()
    # Set at start from the catalog: a region's ingress provider is the Gateway API one, so its
    # kinds are watched and its permissions (the deploy/components/gateway-api RBAC) checked.
    gateway_api: bool = False

    @model_validator(mode="after")
    def _ports_apart(self) -> OperatorSettings:
        if self.metrics_port and self.metrics_port == self.health_port:
            raise ValueError(
                f"the metrics and health ports are both {self.metrics_port}: give each its own"
            )
        return self

    @property
    def namespaces(self) -> list[str]:
        """What the operator watches: one namespace, or none (cluster-wide) with
        --all-namespaces."""
        return [] if self.all_namespaces else [self.namespace]
