"""One operator process: plugins, API client, kopf, the resync loop and the HTTP endpoints."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping

import kopf

from kura_core.errors import InputError
from kura_core.plugins import PluginHost
from kura_core.regions import RegionCatalog, catalog_for, load_catalog_file
from kura_operator.gateway import GatewayReconciler
from kura_operator.handlers import build_registry, kopf_settings
from kura_operator.instance import InstanceReconciler
from kura_operator.kinds import KURA_GATEWAY, KURA_INSTANCE, Kind
from kura_operator.kube import ApiError, KubeApi, connect
from kura_operator.metrics import OperatorMetrics
from kura_operator.scheduler import Scheduler
from kura_operator.selfcheck import Problem, Readiness, SelfCheck, self_check
from kura_operator.servers import health_app, metrics_app, serve
from kura_operator.settings import OperatorSettings

log = logging.getLogger("kura_operator")
CONCURRENCY = 16


def load_catalog(settings: OperatorSettings, host: PluginHost) -> RegionCatalog:
    if settings.catalog_file is not None:
        catalog = catalog_for(load_catalog_file(settings.catalog_file), settings.env)
        if catalog is None:
            raise InputError(f"{settings.catalog_file} has no env {settings.env!r}")
        return catalog
    return host.catalog(settings.env)


async def resync(
    api: KubeApi,
    queues: Mapping[Kind, Scheduler],
    settings: OperatorSettings,
    readiness: Readiness,
) -> None:
    """Request a reconcile of every object each interval: drift nobody announced is found.

    Not while a peer holds the peering: kopf has paused this operator, and so does its resync."""
    while True:
        await asyncio.sleep(settings.resync_seconds)
        if readiness.state != "active":
            continue
        namespaces = [None] if settings.all_namespaces else settings.namespaces
        for kind, scheduler in queues.items():
            for namespace in namespaces:
                try:
                    found = await api.list(kind, namespace)
                except ApiError as exc:
                    log.warning("resync could not list %s: %s", kind.plural, exc)
                    continue
                for obj in found:
                    metadata = obj["metadata"]
                    scheduler.request(metadata["namespace"], metadata["name"], after=0)


async def checked(
    api: KubeApi, settings: OperatorSettings, readiness: Readiness, metrics: OperatorMetrics
) -> SelfCheck:
    """One self-check, reflected in /readyz and the metrics; problems logged as warnings."""
    identity = os.environ["POD_ID"]
    try:
        report = await self_check(api, settings, identity=identity)
    except ApiError as exc:
        message = f"the self-check could not ask the API server: {exc}"
        problem = Problem("api", message, blocking=True)
        report = SelfCheck((problem,))
    before = readiness.report
    readiness.report = report
    metrics.operator_state(readiness.state, {problem.check for problem in report.problems})
    for problem in report.problems:
        log.warning("self-check: %s", problem.message)
    if report.standby and (before is None or before.standby != report.standby):
        log.info("standby: %s holds the peering %s", report.standby, settings.peering_name)
    return report


async def watch_over(
    api: KubeApi, settings: OperatorSettings, readiness: Readiness, metrics: OperatorMetrics
) -> None:
    """The self-check again every interval: what breaks later shows, what is fixed recovers."""
    while True:
        await asyncio.sleep(settings.self_check_seconds)
        await checked(api, settings, readiness, metrics)


async def run_operator(
    settings: OperatorSettings,
    *,
    environ: Mapping[str, str] | None = None,
    stop_flag: asyncio.Event | None = None,
    ready_flag: asyncio.Event | None = None,
) -> None:
    host = PluginHost(environ=os.environ if environ is None else environ)
    for problem in host.problems:
        log.warning("plugin problem: %s", problem)
    catalog = load_catalog(settings, host)
    metrics = OperatorMetrics()
    client = await connect()
    api = KubeApi(
        client,
        field_manager=settings.field_manager,
        recorder=metrics,
        dry_run=settings.dry_run,
        timeout=settings.request_timeout,
    )
    gateways = GatewayReconciler(
        api, host, catalog, settings, metrics, instance=socket.gethostname()
    )
    instances = InstanceReconciler(
        api, host, catalog, settings, metrics, instance=socket.gethostname()
    )
    # One work queue per kind, sharing one bound on concurrent reconciles.
    slots = asyncio.Semaphore(CONCURRENCY)
    permanent_retry = settings.permanent_error_retry_seconds
    queues = {
        KURA_GATEWAY: Scheduler(
            gateways.reconcile, kind=KURA_GATEWAY, slots=slots, permanent_retry=permanent_retry
        ),
        KURA_INSTANCE: Scheduler(
            instances.reconcile, kind=KURA_INSTANCE, slots=slots, permanent_retry=permanent_retry
        ),
    }
    ready = ready_flag if ready_flag is not None else asyncio.Event()
    # kopf's peering identity, known to the self-check so it can tell its peers from itself.
    os.environ.setdefault("POD_ID", f"{socket.gethostname()}-{os.getpid()}")
    readiness = Readiness(ready.is_set, settings.peering_name)
    runners = []
    address = str(settings.bind_address)
    if settings.metrics_port:
        runners.append(await serve(metrics_app(metrics.registry), address, settings.metrics_port))
    if settings.health_port:
        runners.append(await serve(health_app(readiness.answer), address, settings.health_port))
    first = report = await checked(api, settings, readiness, metrics)
    log.info(report.summary())
    # kopf would wait for ever on a missing CRD or peering object, saying nothing: wait here.
    while report.blocking:
        await asyncio.sleep(settings.self_check_seconds)
        report = await checked(api, settings, readiness, metrics)
    if report is not first and not report.problems:
        log.info(report.summary())
    resync_task = asyncio.create_task(resync(api, queues, settings, readiness))
    watch_task = asyncio.create_task(watch_over(api, settings, readiness, metrics))
    log.info(
        "kura operator starting",
        extra={
            "namespaces": settings.namespaces or "all",
            "env": settings.env,
            "dry_run": settings.dry_run,
        },
    )
    try:
        await kopf.operator(
            registry=build_registry(
                gateways, queues[KURA_GATEWAY], instances, queues[KURA_INSTANCE], log
            ),
            settings=kopf_settings(),
            namespaces=settings.namespaces,
            clusterwide=settings.all_namespaces,
            standalone=settings.standalone,
            priority=settings.priority,
            peering_name=None if settings.standalone else settings.peering_name,
            ready_flag=ready,
            stop_flag=stop_flag,
        )
    finally:
        for task in (resync_task, watch_task):
            task.cancel()
        await asyncio.gather(resync_task, watch_task, return_exceptions=True)
        for scheduler in queues.values():
            await scheduler.close()
        for runner in runners:
            await runner.cleanup()
        await api.close()
