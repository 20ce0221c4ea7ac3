"""From command-line options to a configured run, bench or test bed.

The edge where the environment is read (the token variable, the dedicated-gateway overrides,
the clock for run ids and seeds) and where the heavy modules are loaded, so ``kura_smoke.cli``
stays light.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from kura_core import DEFAULT_IMAGE, OVERRIDES_ENV, InputError, KuraContext, parse_overrides
from kura_kube.client import KubeClient
from kura_smoke.bench import (
    Bench,
    BenchReport,
    BenchSettings,
    BenchTarget,
    Path_,
    combine_rounds,
    peak_rss_mib,
    relay_efficiency,
)
from kura_smoke.kube import ObjectRef, connect
from kura_smoke.kura_api import KuraEndpoint, open_client
from kura_smoke.pinning import DEFAULT_PORTS, parse_resolve, pin_table
from kura_smoke.platform_check import PlatformNames
from kura_smoke.proc import WorkerCpu
from kura_smoke.progress import view_for
from kura_smoke.provision import smoke_account
from kura_smoke.report import Mode, StepResult
from kura_smoke.routing import routing_for
from kura_smoke.runner import SmokeRun, SmokeSettings
from kura_smoke.secret import Redactor, load_token
from kura_smoke.testbed.bed import TestBed, TestBedInfo, TestBedSettings

# Without the cluster steps no object is named after an account id, so any valid one serves.
UNUSED_ACCOUNT_ID = 1


def _modes(choice: str) -> list[Mode]:
    return list(Mode) if choice == "both" else [Mode(choice)]


def _names(options: Mapping[str, Any], defaults: PlatformNames) -> PlatformNames:
    updates: dict[str, Any] = {}
    if options["ingress_class"]:
        updates["ingress_class"] = options["ingress_class"]
    for key in ("regional_gateway", "operator", "shared_secret"):
        if options[key]:
            option = "--" + key.replace("_", "-")
            updates[key] = ObjectRef.parse(options[key], option=option)
    return defaults.model_copy(update=updates)


def build_run(
    kura: KuraContext,
    options: Mapping[str, Any],
    *,
    output: str,
    stdout_is_tty: bool,
    on_step: Callable[[StepResult], None],
) -> SmokeRun:
    """A :class:`SmokeRun` from ``kura smoke run``'s options; :class:`InputError` when bad."""
    region = kura.region(options["env"], options["region_id"])
    # Before anything else: a region whose gateways the smoke cannot check is bad input.
    routing = routing_for(region)
    token = load_token(options["token_file"], os.environ)
    pins = pin_table(parse_resolve(text) for text in options["resolves"])
    cluster = not options["no_cluster"]
    overrides = parse_overrides(os.environ.get(OVERRIDES_ENV))
    accounts = []
    for mode in _modes(options["mode"]):
        account_id = options[f"{mode.value}_account_id"]
        if account_id is None:
            if cluster:
                raise InputError(
                    f"--{mode.value}-account-id is required with the cluster steps "
                    "(it names the dedicated gateway); or pass --no-cluster"
                )
            account_id = UNUSED_ACCOUNT_ID
        accounts.append(
            smoke_account(
                mode,
                handle=options[f"{mode.value}_account"],
                account_id=account_id,
                region=region,
                overrides=overrides,
            )
        )
    settings = SmokeSettings(
        run_id=secrets.token_hex(4),
        seed=options["seed"] if options["seed"] is not None else secrets.randbits(32),
        namespace=options["namespace"],
        image=options["image"] or DEFAULT_IMAGE,
        cluster=cluster,
        provision=not options["no_provision"],
        keep=options["keep"],
        check_gateway_address=options["check_gateway_address"],
        port=options["port"],
        size=options["size"],
        http2=options["http2"],
        request_timeout=options["timeout"],
        ready_timeout=options["ready_timeout"],
        wait_timeout=options["wait_timeout"],
        interval=options["interval"],
    )
    kubeconfig: Path | None = options["kubeconfig"]
    context: str | None = options["kube_context"]

    def kube_factory() -> KubeClient:
        return connect(kubeconfig, context, timeout=settings.request_timeout)

    return SmokeRun(
        settings=settings,
        region=region,
        accounts=accounts,
        names=_names(options, PlatformNames.defaults(region, routing)),
        token=token,
        pins=pins,
        ca_file=options["ca_file"],
        kube_factory=kube_factory if cluster else None,
        load_balancer_provider=kura.host.load_balancer_provider(region.load_balancer_provider),
        view=view_for(output, stdout_is_tty=stdout_is_tty),
        on_step=on_step,
    )


def _disk_endpoint(url: str, tenant: str, pins: Mapping[tuple[str, int], str]) -> KuraEndpoint:
    parts = urlsplit(url)
    # TLS, as the gateway: the comparison is of relaying, with TLS on both sides.
    if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/"):
        raise InputError(f"--disk {url!r}: expected https://HOST[:PORT]")
    host = parts.hostname.lower()
    port = parts.port or DEFAULT_PORTS["https"]
    return KuraEndpoint(
        scheme=parts.scheme, host=host, port=port, tenant=tenant, pinned=pins.get((host, port))
    )


def build_bench(options: Mapping[str, Any], *, output: str, stdout_is_tty: bool) -> BenchReport:
    """Run ``kura smoke bench`` as its options say."""
    token = load_token(options["token_file"], os.environ)
    pins = pin_table(parse_resolve(text) for text in options["resolves"])
    host, port = options["host"].lower(), options["port"]
    endpoint = KuraEndpoint(
        scheme="https",
        host=host,
        port=port,
        tenant=options["account"],
        pinned=pins.get((host, port)),
    )
    disk = _disk_endpoint(options["disk"], options["account"], pins) if options["disk"] else None
    gateway_pid: int | None = options["gateway_pid"]
    workers = WorkerCpu(gateway_pid) if gateway_pid is not None else None
    settings = BenchSettings(
        run_id=secrets.token_hex(4),
        seed=options["seed"] if options["seed"] is not None else secrets.randbits(32),
        sizes=options["sizes"],
        concurrency=options["concurrency"],
        rounds=options["rounds"],
    )
    bench = Bench(
        settings,
        token=token,
        view=view_for(output, stdout_is_tty=stdout_is_tty),
        gateway_cpu=workers.seconds if workers is not None else None,
    )
    with Redactor(token).logging(), contextlib.ExitStack() as clients:
        # One client per target, open across the rounds (its connections stay warm).
        def target(where: KuraEndpoint, path: Path_) -> BenchTarget:
            client = open_client(
                pins=pins,
                ca_file=options["ca_file"],
                timeout=options["timeout"],
                http2=options["http2"],
                connections=settings.concurrency,
            )
            return BenchTarget(clients.enter_context(client), where, path)

        rounds = bench.run(
            target(endpoint, "gateway"), target(disk, "disk") if disk is not None else None
        )
    return BenchReport(
        host=host,
        pinned_address=endpoint.pinned,
        disk=options["disk"],
        gateway_pid=gateway_pid,
        concurrency=settings.concurrency,
        rounds=settings.rounds,
        figures=tuple(combine_rounds(rounds)),
        efficiency=tuple(relay_efficiency(rounds)),
        client_peak_rss_mib=round(peak_rss_mib(), 1),
    )


def serve_testbed(
    kura: KuraContext,
    options: Mapping[str, Any],
    *,
    nginx_keys: dict[str, str],
    launcher: Sequence[str],
    on_ready: Callable[[TestBedInfo], None],
) -> None:
    """Run a test bed until ``--for`` elapses, SIGINT or SIGTERM; then stop it and clean up."""
    region = kura.region(options["env"], options["region_id"])
    settings = TestBedSettings(
        env=options["env"],
        port=options["port"],
        regional_address=options["regional_address"],
        dedicated_address=options["dedicated_address"],
        workers=options["workers"],
        plain_http=options["plain_http"],
        from_disk=options["from_disk"],
        nginx_overrides=nginx_keys,
    )
    given: Path | None = options["directory"]
    directory = given or Path(tempfile.mkdtemp(prefix="kura-testbed-"))
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        bed = TestBed.for_region(settings, host=kura.host, region=region, directory=directory)
        with bed:
            on_ready(bed.info(launcher))
            with contextlib.suppress(KeyboardInterrupt):
                stop.wait(options["duration"])
    finally:
        signal.signal(signal.SIGTERM, previous)
        if given is None:
            shutil.rmtree(directory, ignore_errors=True)
