"""One operator process: plugins, API client, kopf, the resync loop and the HTTP endpoints."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping

import kopf

from kura_core.errors import InputError, KuraError
from kura_core.plugins import PluginHost
from kura_core.regions import RegionCatalog, catalog_for, load_catalog_file
from kura_operator.gateway import GatewayReconciler
from kura_operator.handlers import build_registry, kopf_settings
from kura_operator.instance import InstanceReconciler
from kura_operator.kinds import KOPF_PEERING, KURA_GATEWAY, KURA_INSTANCE, Kind
from kura_operator.kube import ApiError, KubeApi, connect
from kura_operator.metrics import OperatorMetrics
from kura_operator.scheduler import Scheduler
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
    api: KubeApi, queues: Mapping[Kind, Scheduler], settings: OperatorSettings
) -> None:
    """Request a reconcile of every object each interval: drift nobody announced is found."""
    while True:
        await asyncio.sleep(settings.resync_seconds)
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


class StartupError(KuraError):
    """The operator cannot do its job in this cluster; the message says what to fix."""

    exit_code = 1


async def check_peering(api: KubeApi, settings: OperatorSettings) -> None:
    """With peering on, kopf pauses every watch until it can use its KopfPeering: without the
    CRD that is for ever, with nothing said. Say it, and stop."""
    if settings.standalone or await api.serves(KOPF_PEERING):
        return
    await api.close()
    raise StartupError(
        f"peering is on (--peering {settings.peering_name}) but this cluster does not serve "
        f"{KOPF_PEERING.kind} ({KOPF_PEERING.api_version}): apply the deploy base "
        "(kubectl apply -k packages/kura-operator/deploy) or `kura crds | kubectl apply -f -`, "
        "or run one replica with --standalone"
    )


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
    queues = {
        KURA_GATEWAY: Scheduler(gateways.reconcile, kind=KURA_GATEWAY, slots=slots),
        KURA_INSTANCE: Scheduler(instances.reconcile, kind=KURA_INSTANCE, slots=slots),
    }
    ready = ready_flag if ready_flag is not None else asyncio.Event()
    runners = []
    await check_peering(api, settings)
    address = str(settings.bind_address)
    if settings.metrics_port:
        runners.append(await serve(metrics_app(metrics.registry), address, settings.metrics_port))
    if settings.health_port:
        runners.append(await serve(health_app(ready), address, settings.health_port))
    resync_task = asyncio.create_task(resync(api, queues, settings))
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
        resync_task.cancel()
        await asyncio.gather(resync_task, return_exceptions=True)
        for scheduler in queues.values():
            await scheduler.close()
        for runner in runners:
            await runner.cleanup()
        await api.close()
