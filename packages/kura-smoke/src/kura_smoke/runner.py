"""One smoke run: for each mode, the steps in order, each timed and reported as it finishes.

Gating: a failed platform, provision, wait, DNS or readiness step skips the steps that need it;
the round trips and auth probes are independent of each other, so all of them run once the
endpoint is ready and each reports for itself. Clean-up runs whenever provisioning was
attempted, unless ``keep``, and deletes only what this run created; ``--no-provision`` never
deletes anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from kura_core import LoadBalancerProvider, Region
from kura_kube import KubeError
from kura_kube.client import KubeClient
from kura_smoke.budget import SMOKE_POLL_SECONDS, SMOKE_WAIT_SECONDS
from kura_smoke.endpoint_checks import EndpointChecks
from kura_smoke.kura_api import KuraEndpoint, cas_path, open_client
from kura_smoke.payload import Payload
from kura_smoke.platform_check import PlatformNames, check_platform
from kura_smoke.progress import Silent, View
from kura_smoke.provision import (
    SmokeAccount,
    clean_up,
    provision,
    refuse_foreign_objects,
    render_smoke_manifests,
)
from kura_smoke.report import Mode, ModeReport, SmokeReport, Status, Step, StepFailure, StepResult
from kura_smoke.resolution import Resolver, resolve_host, system_resolver
from kura_smoke.routing import Routing, routing_for
from kura_smoke.secret import Redactor, Secret
from kura_smoke.waiting import Poller, wait_gateway, wait_instance, wait_routes

GATING = frozenset(
    {
        Step.PLATFORM,
        Step.PROVISION,
        Step.WAIT_GATEWAY,
        Step.WAIT_INSTANCE,
        Step.WAIT_INGRESS,
        Step.DNS,
        Step.READY,
    }
)


class SmokeSettings(BaseModel):
    """How a run behaves; everything but the token and the live connections."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    seed: int
    namespace: str
    image: str
    cluster: bool = True
    provision: bool = True
    keep: bool = False
    check_gateway_address: bool = False
    scheme: str = "https"
    port: int = Field(default=443, gt=0, lt=65536)
    size: int = Field(default=64 * 1024, ge=0)
    http2: bool = True
    request_timeout: float = Field(default=30.0, gt=0)
    ready_timeout: float = Field(default=SMOKE_WAIT_SECONDS, ge=0)
    wait_timeout: float = Field(default=SMOKE_WAIT_SECONDS, ge=0)
    interval: float = Field(default=SMOKE_POLL_SECONDS, gt=0)


@dataclass
class SmokeRun:
    """A configured run: settings, the accounts to test, and the edges it talks through."""

    settings: SmokeSettings
    region: Region
    accounts: list[SmokeAccount]
    names: PlatformNames
    token: Secret
    pins: Mapping[tuple[str, int], str] = field(default_factory=dict)
    ca_file: Path | None = None
    kube_factory: Callable[[], KubeClient] | None = None
    load_balancer_provider: LoadBalancerProvider | None = None
    resolver: Resolver = system_resolver
    view: View = field(default_factory=Silent)
    on_step: Callable[[StepResult], None] = lambda _: None

    @property
    def routing(self) -> Routing:
        """The cluster checks of the region's ingress provider."""
        return routing_for(self.region)

    @property
    def redact(self) -> Redactor:
        return Redactor(self.token)

    def run(self) -> SmokeReport:
        """The report; :class:`InputError`, before anything is written, when provisioning
        would overwrite an object no smoke run created."""
        if self.settings.cluster and self.settings.provision:
            self._refuse_foreign_objects()
        with self.redact.logging():
            modes = tuple(_ModeRun(self, smoke).run() for smoke in self.accounts)
        return SmokeReport.of(self.settings.run_id, modes)

    def _refuse_foreign_objects(self) -> None:
        if self.kube_factory is None:
            raise ValueError("a cluster run needs a Kubernetes client")
        try:
            kube = self.kube_factory()
        except KubeError:
            return  # the platform step reports it, and nothing is provisioned without a client
        try:
            refuse_foreign_objects(kube, self.accounts, self.settings.namespace)
        except KubeError:
            pass  # unreadable now: the platform step reports it; provision checks each object again
        finally:
            kube.close()


class _ModeRun:
    def __init__(self, run: SmokeRun, smoke: SmokeAccount) -> None:
        self.run_ = run
        self.smoke = smoke
        self.settings = run.settings
        self.pinned = run.pins.get((smoke.host, run.settings.port))
        self.results: list[StepResult] = []
        self.blocked: str | None = None
        self.kube: KubeClient | None = None
        self.gateway_address: str | None = None

    def _record(
        self, step: Step, status: Status, seconds: float, message: str, **failure: str
    ) -> None:
        redact = self.run_.redact
        result = StepResult(
            mode=self.smoke.mode,
            step=step,
            status=status,
            seconds=round(seconds, 3),
            host=self.smoke.host,
            pinned_address=self.pinned,
            message=redact(message),
            **{key: redact(value) for key, value in failure.items()},
        )
        self.results.append(result)
        self.run_.on_step(result)

    def _skip(self, step: Step, why: str) -> None:
        self._record(step, Status.SKIPPED, 0.0, why)

    def _step(self, step: Step, action: Callable[[], str], *, gated: bool = True) -> bool:
        if gated and self.blocked is not None:
            self._skip(step, f"not run: {self.blocked}")
            return False
        start = time.perf_counter()
        try:
            message = action()
        except StepFailure as failure:
            self._record(
                step,
                Status.FAILED,
                time.perf_counter() - start,
                failure.summary,
                expected=failure.expected,
                got=failure.got,
                cause=failure.cause,
            )
            if step in GATING:
                self.blocked = f"{step.value} failed"
            return False
        self._record(step, Status.PASSED, time.perf_counter() - start, message)
        return True

    def run(self) -> ModeReport:
        try:
            self._cluster_steps()
            self._endpoint_steps()
        finally:
            if self.kube is not None:
                self.kube.close()
        return ModeReport(
            mode=self.smoke.mode,
            account=self.smoke.account.handle,
            host=self.smoke.host,
            pinned_address=self.pinned,
            steps=tuple(self.results),
        )

    # --- cluster ---------------------------------------------------------------------------

    def _poller(self) -> Poller:
        return Poller(
            timeout=self.settings.wait_timeout,
            interval=self.settings.interval,
            view=self.run_.view,
        )

    def _platform(self) -> str:
        factory = self.run_.kube_factory
        if factory is None:
            raise ValueError("a cluster run needs a Kubernetes client")
        try:
            self.kube = factory()
        except KubeError as exc:
            raise StepFailure(
                "no Kubernetes client",
                expected="a usable kubeconfig or in-cluster service account",
                got=str(exc),
                cause="pass --kubeconfig/--context, or run with --no-cluster",
            ) from exc
        state = check_platform(self.kube, self.run_.names, self.run_.routing)
        if self.smoke.mode is Mode.REGIONAL:
            self.gateway_address = state.regional_address
        return (
            f"Kubernetes {state.kubernetes_version}; {state.regional_summary}, operator ready, "
            f"Secret {self.run_.names.shared_secret} present"
        )

    def _provision(self) -> str:
        provider = self.run_.load_balancer_provider
        if provider is None:
            raise ValueError("provisioning needs the region's load-balancer provider")
        manifests = render_smoke_manifests(
            self.smoke,
            self.run_.region,
            load_balancer_provider=provider,
            image=self.settings.image,
            namespace=self.settings.namespace,
        )
        return provision(_need(self.kube), manifests, self.settings.run_id)

    def _wait_gateway(self) -> str:
        assert self.kube is not None
        address = wait_gateway(
            self.kube, self.smoke, self.settings.namespace, self._poller(), self.run_.routing
        )
        self.gateway_address = address
        return f"KuraGateway {self.smoke.assignment.gateway} Ready at {address}"

    def _cluster_steps(self) -> None:
        namespace = self.settings.namespace
        if not self.settings.cluster:
            cluster_steps = (
                Step.PLATFORM,
                Step.PROVISION,
                Step.WAIT_GATEWAY,
                Step.WAIT_INSTANCE,
                Step.WAIT_INGRESS,
            )
            for step in cluster_steps:
                self._skip(step, "--no-cluster: not checked")
            return
        self._step(Step.PLATFORM, self._platform)
        if self.settings.provision:
            self._step(Step.PROVISION, self._provision)
        else:
            self._skip(Step.PROVISION, f"--no-provision: using KuraInstance {self.smoke.instance}")
        if self.smoke.assignment.dedicated:
            self._step(Step.WAIT_GATEWAY, self._wait_gateway)
        else:
            self._skip(Step.WAIT_GATEWAY, "shared gateway: checked by the platform step")
        kube = self.kube
        self._step(
            Step.WAIT_INSTANCE,
            lambda: wait_instance(_need(kube), self.smoke, namespace, self._poller()),
        )
        self._step(
            Step.WAIT_INGRESS,
            lambda: wait_routes(
                _need(kube),
                self.smoke,
                namespace,
                self._poller(),
                self.run_.routing,
                regional=self.run_.names.regional_gateway,
            ),
        )

    # --- endpoint --------------------------------------------------------------------------

    def _endpoint_steps(self) -> None:
        settings = self.settings
        endpoint = KuraEndpoint(
            scheme=settings.scheme,
            host=self.smoke.host,
            port=settings.port,
            tenant=self.smoke.account.handle,
            pinned=self.pinned,
        )
        expected = self.gateway_address if settings.check_gateway_address else None
        if settings.check_gateway_address and expected is None and self.blocked is None:
            self._record(
                Step.DNS,
                Status.FAILED,
                0.0,
                "no gateway address to compare with",
                expected="the cluster steps found the gateway's load-balancer address",
                got="--check-gateway-address without cluster steps",
                cause="--check-gateway-address needs the cluster steps (drop --no-cluster)",
            )
            self.blocked = "dns failed"
        else:
            self._step(
                Step.DNS,
                lambda: resolve_host(
                    self.smoke.host,
                    settings.port,
                    pinned=self.pinned,
                    expected=expected,
                    resolver=self.run_.resolver,
                ),
            )
        with open_client(
            pins=self.run_.pins,
            ca_file=self.run_.ca_file,
            timeout=settings.request_timeout,
            http2=settings.http2,
        ) as client:
            checks = EndpointChecks(client, endpoint, self.run_.token, self.run_.view)
            self._step(
                Step.READY,
                lambda: checks.ready(timeout=settings.ready_timeout, interval=settings.interval),
            )
            mode = self.smoke.mode.value
            cas_id = f"smoke-{mode}-{settings.run_id}"
            payload_seed = settings.seed + (0 if self.smoke.mode is Mode.REGIONAL else 1)
            self._step(
                Step.CAS_ROUNDTRIP,
                lambda: checks.cas_roundtrip(cas_id, Payload(settings.size, payload_seed)),
            )
            self._step(
                Step.GRADLE_ROUNDTRIP,
                lambda: checks.gradle_roundtrip(Payload(settings.size, payload_seed + 2)),
            )
            self._step(Step.AUTH_NO_TOKEN, lambda: checks.no_token(cas_path(cas_id)))
            self._step(Step.AUTH_BOGUS_TOKEN, lambda: checks.bogus_token(cas_path(cas_id)))
        self._cleanup()

    def _cleanup(self) -> None:
        attempted = any(
            r.step is Step.PROVISION and r.status is not Status.SKIPPED for r in self.results
        )
        if not attempted:
            self._skip(Step.CLEANUP, "nothing provisioned by this run")
        elif self.settings.keep:
            self._skip(Step.CLEANUP, "--keep: the smoke objects stay")
        else:
            kube = self.kube
            self._step(
                Step.CLEANUP,
                lambda: clean_up(
                    _need(kube), self.smoke, self.settings.namespace, self.settings.run_id
                ),
                gated=False,
            )


def _need(kube: KubeClient | None) -> KubeClient:
    if kube is None:
        raise ValueError("the platform step provides the Kubernetes client")
    return kube
