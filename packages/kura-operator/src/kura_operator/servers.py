"""The operator's HTTP endpoints: Prometheus metrics, liveness and readiness."""

from __future__ import annotations

import os
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from kura_core import InputError


def metrics_app(registry: CollectorRegistry) -> web.Application:
    async def metrics(_: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    return app


def health_app(readiness: Callable[[], tuple[int, str]]) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        # Ready once every kind is listed and nothing the operator needs is missing; the body
        # says why not, and kubectl describe shows it with the failed probe.
        status, text = readiness()
        return web.Response(status=status, text=text)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


async def serve(app: web.Application, host: str, port: int, *, what: str) -> web.AppRunner:
    """Serve ``app`` on ``host:port``; a port taken or an address not this host's is the
    operator's configuration, so it is one clear error, not a crash."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        # asyncio's message repeats the address; the system's words for the errno do not.
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        raise InputError(f"cannot serve {what} on {host}:{port}: {reason}") from None
    return runner
