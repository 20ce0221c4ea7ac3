"""Kura's public cache API as the smoke and the benchmark call it (docs/upstream.md).

The paths are account-scoped like upstream's smoke: ``tenant_id=<account>`` and no namespace.
The HTTP client verifies TLS against ``ca_file`` (or the system's trust store), pins hosts with
:class:`~kura_smoke.pinning.PinnedTransport`, never follows redirects and ignores proxy
variables, so what is tested is the direct path to the gateway.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import certifi
import httpx

from kura_smoke.pinning import DEFAULT_PORTS, PinnedTransport
from kura_smoke.secret import Secret

READY_PATH = "/ready"


def cas_path(cas_id: str) -> str:
    return f"/api/cache/cas/{quote(cas_id, safe='')}"


def gradle_path(cache_key: str) -> str:
    return f"/api/cache/gradle/{quote(cache_key, safe='')}"


def bearer(token: Secret) -> dict[str, str]:
    return {"Authorization": f"Bearer {token.reveal()}"}


@dataclass(frozen=True)
class KuraEndpoint:
    """One public Kura host, the account it is tested as, and where its traffic is pinned."""

    scheme: str
    host: str
    port: int
    tenant: str
    pinned: str | None = None

    def url(self, path: str, *, tenant: bool = True) -> str:
        netloc = (
            self.host if self.port == DEFAULT_PORTS.get(self.scheme) else f"{self.host}:{self.port}"
        )
        query = f"?{urlencode({'tenant_id': self.tenant})}" if tenant else ""
        return f"{self.scheme}://{netloc}{path}{query}"

    @property
    def target(self) -> str:
        """Where connections go, for messages: ``host:port`` (``via ADDR`` when pinned)."""
        where = f"{self.host}:{self.port}"
        return f"{where} via {self.pinned}" if self.pinned else where


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verification on, against ``ca_file`` or the certifi bundle httpx uses by default."""
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else certifi.where())


def open_client(
    *,
    pins: Mapping[tuple[str, int], str],
    ca_file: Path | None,
    timeout: float,
    http2: bool,
    connections: int = 10,
) -> httpx.Client:
    """A client for the public endpoints; ``timeout`` bounds each connect, read and write."""
    inner = httpx.HTTPTransport(
        verify=tls_context(ca_file),
        http2=http2,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )
    return httpx.Client(
        transport=PinnedTransport(inner, pins),
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
    )
