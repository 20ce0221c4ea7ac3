"""The test bed: a region in miniature, built from the same renderings a cluster gets.

For a regional and a dedicated smoke account it renders, through ``kura_core`` and the region's
ingress provider (reached via the plugin host, never imported): the KuraGateway and KuraInstances,
the dedicated gateway's ConfigMap, the shared gateway's chart config and each instance's Ingress.
Then it runs:

- a control plane answering ``/oauth2/introspect`` for one random token (written to a 0600 file),
- one Kura node per account, with that account as its tenant,
- the real nginx as both gateways: the shared one on ``regional_address``, the dedicated one on
  ``dedicated_address``, same port, TLS from a fresh local CA, each with its gateway's keys
  translated to directives and routing the Ingress hosts of its class to their nodes;
- with ``from_disk``, the same nginx also serves each host's stored artifacts from disk on
  ``disk_port``, over TLS set up as the gateway's: relaying against serving, one worker, so the
  ratio of the two is what relaying costs.
"""

from __future__ import annotations

import os
import secrets
import socket
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from kura_core import (
    DEFAULT_IMAGE,
    IngressProvider,
    InputError,
    InstanceOptions,
    LoadBalancerProvider,
    PluginHost,
    Region,
    regional_gateway_values_key,
    render_gateway,
    render_instance,
    to_manifest,
)
from kura_smoke.provision import SmokeAccount, smoke_account
from kura_smoke.report import Mode
from kura_smoke.secret import Secret
from kura_smoke.testbed.certs import write_tls_files
from kura_smoke.testbed.control_plane import ControlPlane, ControlPlaneState, Grant
from kura_smoke.testbed.kura_node import KuraNode, NodeConfig
from kura_smoke.testbed.nginx import Nginx, find_nginx, nginx_version, supports_http2_directive
from kura_smoke.testbed.nginx_config import (
    GatewaySite,
    Layout,
    Location,
    Route,
    render_nginx_conf,
)

DEFAULT_HANDLES = {Mode.REGIONAL: "kura-smoke-regional", Mode.DEDICATED: "kura-smoke-dedicated"}


class TestBedSettings(BaseModel):
    """What to stand up. ``nginx_overrides`` replace ConfigMap keys of both gateways ("" drops
    one), e.g. ``{"proxy-buffer-size": "4k"}`` to compare against ingress-nginx's default."""

    model_config = ConfigDict(frozen=True)
    __test__ = False  # not a pytest test class, despite the name

    env: str = Field(default="production", description="The env whose catalog has the region.")
    regional_handle: str = DEFAULT_HANDLES[Mode.REGIONAL]
    regional_account_id: int = Field(default=101, ge=1)
    dedicated_handle: str = DEFAULT_HANDLES[Mode.DEDICATED]
    dedicated_account_id: int = Field(default=102, ge=1)
    regional_address: str = "127.0.0.1"
    dedicated_address: str = "127.0.0.2"
    port: int = Field(default=0, ge=0, lt=65536)
    workers: int = Field(default=1, ge=1)
    plain_http: bool = Field(
        default=False,
        description="Also serve every host over plain HTTP on another port (TLS cost, measured).",
    )
    from_disk: bool = Field(
        default=False,
        description="Also serve every host's stored artifacts from disk on another port, over "
        "the gateway's TLS (what relaying costs, measured).",
    )
    nginx_overrides: dict[str, str] = Field(default_factory=dict)
    client_id: str | None = Field(
        default=None,
        description="The OAuth client id the Kura nodes use; None: the control plane's own. "
        "A non-UUID one reproduces upstream's staging 503 (docs/upstream.md).",
    )


class TestBedInfo(BaseModel):
    """How to reach a running test bed (``kura smoke testbed -o json``). No token inside."""

    model_config = ConfigDict(frozen=True)
    __test__ = False

    region: str
    env: str
    port: int
    plain_port: int | None = Field(
        default=None, description="The gateways' plain-HTTP port, with plain_http only."
    )
    disk_port: int | None = Field(
        default=None,
        description="The port where nginx serves each host's stored artifacts from disk over "
        "TLS, with from_disk only.",
    )
    hosts: dict[Mode, str]
    addresses: dict[Mode, str]
    accounts: dict[Mode, str]
    account_ids: dict[Mode, int]
    ca_file: Path
    token_file: Path
    nodes: dict[Mode, str]
    control_plane: str
    nginx_pid: int | None
    nginx_conf: Path
    smoke_command: list[str]


def free_port(addresses: Sequence[str], *, avoid: Collection[int] = ()) -> int:
    """A port free on every address (bound and released; the usual small race applies), not
    one of ``avoid``."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((addresses[0], 0))
            port = int(probe.getsockname()[1])
        if port in avoid:
            continue
        try:
            for address in addresses[1:]:
                with socket.socket() as other:
                    other.bind((address, port))
        except OSError:
            continue
        return port
    raise InputError(f"no port is free on all of {', '.join(addresses)}")


def _ingresses_for(objects: Sequence[Mapping[str, Any]], host: str) -> list[Mapping[str, Any]]:
    """Every Ingress with a rule for ``host``, in the order the provider rendered them."""
    found = [
        obj
        for obj in objects
        if obj.get("kind") == "Ingress"
        and any(rule.get("host") == host for rule in obj.get("spec", {}).get("rules") or [])
    ]
    if not found:
        raise InputError(f"the ingress provider rendered no Ingress for {host}")
    return found


def _locations(ingresses: Sequence[Mapping[str, Any]], host: str) -> list[Location]:
    """The paths of ``host`` across its Ingresses, each with its own Ingress's annotations."""
    return [
        Location(
            path=path.get("path") or "/",
            path_type=path.get("pathType") or "Prefix",
            annotations=ingress["metadata"].get("annotations") or {},
        )
        for ingress in ingresses
        for rule in ingress["spec"].get("rules") or []
        if rule.get("host") == host
        for path in (rule.get("http") or {}).get("paths") or []
    ]


class TestBed:
    """Start with ``with TestBed(settings, host=..., directory=...) as bed:``."""

    __test__ = False

    def __init__(
        self,
        settings: TestBedSettings,
        *,
        region: Region,
        ingress_provider: IngressProvider,
        load_balancer_provider: LoadBalancerProvider,
        directory: Path,
        nginx_binary: str | None = None,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.region = region
        self.provider = ingress_provider
        self.load_balancer = load_balancer_provider
        self.accounts: dict[Mode, SmokeAccount] = {
            Mode.REGIONAL: smoke_account(
                Mode.REGIONAL,
                handle=settings.regional_handle,
                account_id=settings.regional_account_id,
                region=self.region,
                overrides=(),
            ),
            Mode.DEDICATED: smoke_account(
                Mode.DEDICATED,
                handle=settings.dedicated_handle,
                account_id=settings.dedicated_account_id,
                region=self.region,
                overrides=(),
            ),
        }
        binary = nginx_binary or find_nginx()
        if binary is None:
            raise InputError("the test bed needs nginx (Debian: apt-get install nginx)")
        self.nginx_binary = binary
        self.manifests = self._render()
        self.token = Secret(secrets.token_urlsafe(32))
        self.control_plane = ControlPlane(
            ControlPlaneState(client_id=str(uuid.uuid4()), client_secret=secrets.token_hex(16))
        )
        self.nodes: dict[Mode, KuraNode] = {}
        self.nginx: Nginx | None = None
        self.port = settings.port
        self.plain_port: int | None = None
        self.disk_port: int | None = None
        self.ca_file = directory / "tls" / "ca.pem"
        self.token_file = directory / "token"

    @classmethod
    def for_region(
        cls, settings: TestBedSettings, *, host: PluginHost, region: Region, directory: Path
    ) -> TestBed:
        """A bed for ``region``, with the providers the region names, from the plugin host."""
        return cls(
            settings,
            region=region,
            ingress_provider=host.ingress_provider(region.ingress_provider),
            load_balancer_provider=host.load_balancer_provider(region.load_balancer_provider),
            directory=directory,
        )

    # --- rendering -----------------------------------------------------------------------------

    def _render(self) -> list[dict[str, Any]]:
        """The objects a cluster would hold for the two smoke accounts, in apply order."""
        dedicated = self.accounts[Mode.DEDICATED]
        gateway = render_gateway(
            self.region, assignment=dedicated.assignment, load_balancer_provider=self.load_balancer
        )
        objects = [to_manifest(gateway)]
        objects += self.provider.render_gateway(
            gateway, region=self.region, load_balancer=self.load_balancer
        )
        for smoke in self.accounts.values():
            instance = render_instance(
                smoke.account,
                self.region,
                assignment=smoke.assignment,
                options=InstanceOptions(image=DEFAULT_IMAGE),
            )
            objects.append(to_manifest(instance))
            objects += self.provider.render_instance_ingress(instance)
        return objects

    def gateway_configs(self) -> dict[Mode, dict[str, str]]:
        """Each gateway's ingress-nginx keys as the provider renders them, plus overrides."""
        values = self.provider.shared_gateway_values(self.region, load_balancer=self.load_balancer)
        block = values.get(regional_gateway_values_key(self.region.id), {})
        regional = dict((block.get("controller") or {}).get("config") or {})
        dedicated = next(
            dict(obj.get("data") or {}) for obj in self.manifests if obj.get("kind") == "ConfigMap"
        )
        if not regional:
            raise InputError(
                f"ingress provider {self.provider.name!r} gave no shared gateway config"
            )
        overrides = self.settings.nginx_overrides
        return {
            Mode.REGIONAL: {**regional, **overrides},
            Mode.DEDICATED: {**dedicated, **overrides},
        }

    def sites(self) -> list[GatewaySite]:
        """The two gateways, each routing the Ingress hosts of its class to their nodes."""
        configs = self.gateway_configs()
        addresses = {
            Mode.REGIONAL: self.settings.regional_address,
            Mode.DEDICATED: self.settings.dedicated_address,
        }
        classes = {
            Mode.REGIONAL: self.region.ingress_class_name,
            Mode.DEDICATED: self.accounts[Mode.DEDICATED].assignment.ingress_class,
        }
        sites = []
        for mode in Mode:
            routes = []
            for smoke in self.accounts.values():
                ingresses = [
                    ingress
                    for ingress in _ingresses_for(self.manifests, smoke.host)
                    if ingress["spec"].get("ingressClassName") == classes[mode]
                ]
                if not ingresses:
                    continue
                node = self.nodes.get(smoke.mode)
                upstream = f"127.0.0.1:{node.port}" if node is not None else "127.0.0.1:1"
                routes.append(
                    Route(
                        host=smoke.host,
                        upstream=upstream,
                        locations=_locations(ingresses, smoke.host),
                        files=node.files() if node is not None else {},
                    )
                )
            sites.append(
                GatewaySite(
                    name=mode.value,
                    address=addresses[mode],
                    port=self.port,
                    config=configs[mode],
                    routes=routes,
                    plain_port=self.plain_port,
                    disk_port=self.disk_port,
                )
            )
        return sites

    def layout(self) -> Layout:
        tls = self.directory / "tls"
        return Layout(
            root=self.directory / "nginx", cert=tls / "gateway.pem", key=tls / "gateway.key"
        )

    def nginx_conf(self) -> str:
        return render_nginx_conf(
            self.layout(),
            self.sites(),
            workers=self.settings.workers,
            run_as_root=os.geteuid() == 0,
            modern_http2=supports_http2_directive(nginx_version(self.nginx_binary)),
        )

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        settings = self.settings
        write_tls_files(
            self.directory / "tls",
            [smoke.host for smoke in self.accounts.values()],
            now=datetime.now(UTC),
        )
        fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.token.reveal() + "\n")
        handles = [smoke.account.handle for smoke in self.accounts.values()]
        self.control_plane.add_token(
            self.token.reveal(),
            Grant(subject="kura-smoke", read=tuple(handles), write=tuple(handles)),
        )
        self.control_plane.start()
        state = self.control_plane.state
        for mode, smoke in self.accounts.items():
            node = KuraNode(
                NodeConfig(
                    storage=self.directory / "nodes" / mode.value,
                    region=self.region.id,
                    tenant_id=smoke.account.handle,
                    introspect_url=f"{self.control_plane.url}/oauth2/introspect",
                    client_id=settings.client_id or state.client_id,
                    client_secret=state.client_secret,
                )
            )
            node.start()
            self.nodes[mode] = node
        addresses = [settings.regional_address, settings.dedicated_address]
        if not self.port:
            self.port = free_port(addresses)
        ports = [self.port]
        if settings.plain_http:
            self.plain_port = free_port(addresses, avoid=ports)
            ports.append(self.plain_port)
        if settings.from_disk:
            self.disk_port = free_port(addresses, avoid=ports)
            ports.append(self.disk_port)
        self.nginx = Nginx(self.nginx_binary, self.layout(), self.nginx_conf())
        self.nginx.start(
            [(address, port) for address in addresses for port in ports],
            workers=self.settings.workers,
        )

    def stop(self) -> None:
        if self.nginx is not None:
            self.nginx.stop()
        for node in self.nodes.values():
            node.stop()
        self.control_plane.stop()

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- reaching it ---------------------------------------------------------------------------

    def address(self, mode: Mode) -> str:
        return (
            self.settings.regional_address
            if mode is Mode.REGIONAL
            else self.settings.dedicated_address
        )

    def smoke_args(self, modes: Sequence[Mode] = tuple(Mode)) -> list[str]:
        """``kura smoke run`` arguments that test this bed's endpoints (no cluster steps)."""
        mode = "both" if len(modes) == 2 else modes[0].value
        args = [
            "--mode", mode,
            "--env", self.settings.env,
            "--region", self.region.id,
            "--regional-account", self.settings.regional_handle,
            "--regional-account-id", str(self.settings.regional_account_id),
            "--dedicated-account", self.settings.dedicated_handle,
            "--dedicated-account-id", str(self.settings.dedicated_account_id),
            "--port", str(self.port),
            "--ca-file", str(self.ca_file),
            "--token-file", str(self.token_file),
        ]  # fmt: skip
        for smoke_mode in modes:
            pin = f"{self.accounts[smoke_mode].host}:{self.port}:{self.address(smoke_mode)}"
            args += ["--resolve", pin]
        return args

    def info(self, launcher: Sequence[str] = ("kura",)) -> TestBedInfo:
        """What the bed serves; ``smoke_command`` starts with ``launcher``, how ``kura`` is run."""
        return TestBedInfo(
            region=self.region.id,
            env=self.settings.env,
            port=self.port,
            plain_port=self.plain_port,
            disk_port=self.disk_port,
            hosts={mode: smoke.host for mode, smoke in self.accounts.items()},
            addresses={mode: self.address(mode) for mode in Mode},
            accounts={mode: smoke.account.handle for mode, smoke in self.accounts.items()},
            account_ids={mode: smoke.account.id for mode, smoke in self.accounts.items()},
            ca_file=self.ca_file,
            token_file=self.token_file,
            nodes={mode: node.url for mode, node in self.nodes.items()},
            control_plane=self.control_plane.url,
            nginx_pid=self.nginx.pid if self.nginx is not None else None,
            nginx_conf=self.layout().root / "nginx.conf",
            smoke_command=[*launcher, "smoke", "run", "--no-cluster", *self.smoke_args()],
        )
