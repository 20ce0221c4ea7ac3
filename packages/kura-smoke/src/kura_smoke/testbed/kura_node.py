"""A Kura-compatible node: the documented public API subset and its auth semantics.

Endpoints (docs/upstream.md): ``GET /up``, ``GET /ready``, ``GET /metrics``,
``POST``/``GET /api/cache/cas/<id>`` and ``PUT``/``GET /api/cache/gradle/<key>``. Bodies stream
to disk in 1 MiB pieces (Content-Length or chunked) with SHA-256 computed on the way; an optional
``tuist-checksum-sha256`` upload header is checked (400 malformed, 422 mismatch) and downloads
echo it. Downloads go out with ``sendfile``.

Auth (§6.3), for every cache request: no ``Authorization`` → 401; no server tenant → 503; a
``tenant_id`` other than the server's → 403, none → 400; no introspection credentials → 503;
then ``POST <control plane>/oauth2/introspect``: inactive → 401, any other status or a transport
error → 503, active → the token's account grants decide (write implies read), else 403.
Not emulated: local JWT verification, project (namespace) scope, the auth cache's TTLs.

Test knobs on :class:`NodeKnobs`: not ready, corrupt downloads, a delay before cache requests.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qs, urlsplit

PIECE = 1024 * 1024
DRAIN_LIMIT = 8 * PIECE
CHECKSUM_HEADER = "tuist-checksum-sha256"
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ROUTES = {"cas": "/api/cache/cas/", "gradle": "/api/cache/gradle/"}
INTROSPECT_TIMEOUT = 5.0


def artifact_directory(storage: Path, kind: str, tenant: str) -> Path:
    """Where a node keeps ``tenant``'s artifacts of ``kind`` (``cas``, ``gradle``), a file a key."""
    return storage / kind / tenant


@dataclass(frozen=True)
class NodeConfig:
    """What a Kura pod gets from its environment (KURA_TENANT_ID, KURA_CONTROL_PLANE_*)."""

    storage: Path
    region: str
    tenant_id: str | None
    introspect_url: str | None
    client_id: str | None
    client_secret: str | None


@dataclass
class NodeKnobs:
    ready: bool = True
    corrupt_downloads: bool = False
    delay_seconds: float = 0.0


@dataclass
class NodeStats:
    requests: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    written: Counter[str] = field(default_factory=Counter)
    read: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Refused(Exception):
    """An answer other than success, with Kura's status and message."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


def authenticate(
    config: NodeConfig,
    *,
    authorization: str | None,
    tenant: str | None,
    write: bool,
    introspect: Any,
) -> str:
    """The principal allowed to act, or :class:`Refused` with upstream's status.

    ``introspect(token)`` returns ``(status, body)`` from the control plane, or raises
    ``OSError`` when it cannot be reached.
    """
    if not authorization:
        raise Refused(401, "Missing Authorization header")
    if not config.tenant_id:
        raise Refused(503, "Server tenant is not configured")
    if not tenant:
        raise Refused(400, "Missing tenant_id")
    if tenant != config.tenant_id:
        raise Refused(403, f"Forbidden: tenant '{tenant}' is not served here")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused(401, "Invalid or expired token")
    if not (config.introspect_url and config.client_id and config.client_secret):
        raise Refused(503, "Authentication backend unavailable")
    try:
        status, body = introspect(token.strip())
    except OSError:
        raise Refused(503, "Authentication backend unavailable") from None
    if status != 200 or not isinstance(body, dict):
        raise Refused(503, "Authentication backend unavailable")
    if body.get("active") is not True:
        raise Refused(401, "Invalid or expired token")
    grants = ((body.get("cache_grants") or {}).get("account")) or {}
    writable = tenant in (grants.get("write") or [])
    readable = writable or tenant in (grants.get("read") or [])
    if not (writable if write else readable):
        action = "write" if write else "read"
        raise Refused(403, f"Forbidden: account '{tenant}' is not granted {action}")
    return str(body.get("sub") or "unknown")


# How often serve_forever checks for shutdown: stop() waits up to this long.
POLL_SECONDS = 0.05


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; Nagle would hold the second for an ACK.
    disable_nagle_algorithm = True
    # A gateway keeps idle upstream connections; this bounds how long a thread waits on one.
    timeout = 60
    _consumed = False

    def log_message(self, format: str, *args: Any) -> None:
        return None

    # --- plumbing ----------------------------------------------------------------------------

    def _count(self, route: str, status: int) -> None:
        stats = self.server.stats
        with stats.lock:
            stats.requests[(route, self.command, status)] += 1

    def _send(self, status: int, body: bytes, content_type: str, route: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self._count(route, status)

    def _json(self, status: int, body: Any, route: str) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", route)

    def _refuse(self, refused: Refused, route: str) -> None:
        self._discard_body()
        self._json(refused.status, {"message": refused.message}, route)

    def _body_length(self) -> int | None:
        value = self.headers.get("Content-Length")
        return int(value) if value is not None and value.isdigit() else None

    def _chunked(self) -> bool:
        return "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()

    def _pieces(self) -> Any:
        """The request body, piece by piece, from Content-Length or chunked framing."""
        # Read once only: a refusal after the body was read must not try to drain it again.
        self._consumed = True
        buffer = bytearray(PIECE)
        view = memoryview(buffer)
        if self._chunked():
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                while size:
                    got = self.rfile.readinto(view[: min(size, PIECE)])
                    if not got:
                        raise ConnectionError("body ended early")
                    size -= got
                    yield view[:got]
                self.rfile.readline(1024)
        else:
            remaining = self._body_length() or 0
            while remaining:
                got = self.rfile.readinto(view[: min(remaining, PIECE)])
                if not got:
                    raise ConnectionError("body ended early")
                remaining -= got
                yield view[:got]

    def _discard_body(self) -> None:
        length = self._body_length()
        if self._consumed or self.command in ("GET", "HEAD"):
            return
        if length == 0 and not self._chunked():
            return
        if length is not None and length <= DRAIN_LIMIT:
            for _ in self._pieces():
                pass
        else:
            self.close_connection = True

    # --- routing -----------------------------------------------------------------------------

    def _target(self) -> tuple[str, dict[str, list[str]]]:
        self._consumed = False
        parts = urlsplit(self.path)
        return parts.path, parse_qs(parts.query)

    def do_GET(self) -> None:
        path, query = self._target()
        if path == "/up":
            self._send(200, b"ok", "text/plain", "up")
        elif path == "/ready":
            ready = self.server.knobs.ready
            self._json(200 if ready else 503, {"ready": ready}, "ready")
        elif path == "/metrics":
            self._send(
                200, self.server.metrics_text().encode(), "text/plain; version=0.0.4", "metrics"
            )
        else:
            self._cache(path, query, write=False)

    def do_POST(self) -> None:
        path, query = self._target()
        if path.startswith(_ROUTES["cas"]):
            self._cache(path, query, write=True)
        else:
            self._refuse(Refused(404, "Not found"), "unknown")

    def do_PUT(self) -> None:
        path, query = self._target()
        if path.startswith(_ROUTES["gradle"]):
            self._cache(path, query, write=True)
        else:
            self._refuse(Refused(404, "Not found"), "unknown")

    def _cache(self, path: str, query: dict[str, list[str]], *, write: bool) -> None:
        kind = next((k for k, prefix in _ROUTES.items() if path.startswith(prefix)), None)
        if kind is None:
            self._refuse(Refused(404, "Not found"), "unknown")
            return
        key = path[len(_ROUTES[kind]) :]
        delay = self.server.knobs.delay_seconds
        if delay:
            self.server.stopping.wait(delay)
        try:
            if not _KEY.match(key):
                raise Refused(400, "Invalid key")
            tenants = query.get("tenant_id") or query.get("account_handle") or []
            tenant = tenants[0] if tenants else None
            authenticate(
                self.server.config,
                authorization=self.headers.get("Authorization"),
                tenant=tenant,
                write=write,
                introspect=self.server.introspect,
            )
            assert tenant is not None
            target = artifact_directory(self.server.config.storage, kind, tenant) / key
            if write:
                self._store(kind, target)
            else:
                self._serve(kind, target)
        except Refused as refused:
            self._refuse(refused, kind)

    # --- storage -----------------------------------------------------------------------------

    def _store(self, kind: str, target: Path) -> None:
        length = self._body_length()
        if kind == "gradle" and length is None:
            raise Refused(411, "Content-Length required")
        claimed = self.headers.get(CHECKSUM_HEADER)
        if claimed is not None and not _SHA256.match(claimed):
            raise Refused(400, f"Malformed {CHECKSUM_HEADER}")
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".upload-{uuid.uuid4().hex}")
        digest = hashlib.sha256()
        size = 0
        try:
            with temporary.open("wb") as handle:
                for piece in self._pieces():
                    digest.update(piece)
                    handle.write(piece)
                    size += len(piece)
            checksum = digest.hexdigest()
            if claimed is not None and claimed != checksum:
                raise Refused(422, "Checksum mismatch")
            existed = target.exists()
            temporary.replace(target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
        self.server.remember(target, checksum)
        with self.server.stats.lock:
            self.server.stats.written[kind] += size
        if kind == "cas":
            self._send(204, b"", "application/octet-stream", kind)
        else:
            self._send(200 if existed else 201, b"", "application/octet-stream", kind)

    def _serve(self, kind: str, target: Path) -> None:
        try:
            handle: BinaryIO = target.open("rb")
        except FileNotFoundError:
            raise Refused(404, "Not found") from None
        with handle:
            size = os.fstat(handle.fileno()).st_size
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            checksum = self.server.checksum(target)
            if checksum:
                self.send_header(CHECKSUM_HEADER, checksum)
            self.end_headers()
            if self.server.knobs.corrupt_downloads and size:
                self._send_corrupted(handle, size)
            else:
                self.connection.sendfile(handle)
        with self.server.stats.lock:
            self.server.stats.read[kind] += size
        self._count(kind, 200)

    def _send_corrupted(self, handle: BinaryIO, size: int) -> None:
        middle = size // 2
        sent = 0
        while chunk := handle.read(PIECE):
            if sent <= middle < sent + len(chunk):
                flipped = bytearray(chunk)
                flipped[middle - sent] ^= 0xFF
                chunk = bytes(flipped)
            self.wfile.write(chunk)
            sent += len(chunk)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], config: NodeConfig, knobs: NodeKnobs) -> None:
        self.config = config
        self.knobs = knobs
        self.stats = NodeStats()
        self.stopping = threading.Event()
        self._checksums: dict[Path, str] = {}
        super().__init__(address, _Handler)

    def remember(self, target: Path, checksum: str) -> None:
        with self.stats.lock:
            self._checksums[target] = checksum

    def checksum(self, target: Path) -> str | None:
        with self.stats.lock:
            return self._checksums.get(target)

    def introspect(self, token: str) -> tuple[int, Any]:
        config = self.config
        assert config.introspect_url is not None
        request = urllib.request.Request(
            config.introspect_url,
            data=json.dumps(
                {
                    "client_id": config.client_id,
                    "client_secret": config.client_secret,
                    "token": token,
                }
            ).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=INTROSPECT_TIMEOUT) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, None
        except ValueError:
            return 200, None

    def metrics_text(self) -> str:
        stats = self.stats
        # Upstream's prometheus_client appends _total to counters already named *_total.
        lines = [
            "# TYPE kura_http_requests_total_total counter",
            *(
                f'kura_http_requests_total_total{{route="{route}",method="{method}",'
                f'status="{status}"}} {count}'
                for (route, method, status), count in sorted(stats.requests.items())
            ),
            "# TYPE kura_artifact_write_bytes_total_total counter",
            *(
                f'kura_artifact_write_bytes_total_total{{kind="{kind}"}} {count}'
                for kind, count in sorted(stats.written.items())
            ),
            "# TYPE kura_artifact_read_bytes_total_total counter",
            *(
                f'kura_artifact_read_bytes_total_total{{kind="{kind}"}} {count}'
                for kind, count in sorted(stats.read.items())
            ),
            "# TYPE kura_node_info gauge",
            f'kura_node_info{{region="{self.config.region}",'
            f'tenant_id="{self.config.tenant_id or ""}"}} 1',
        ]
        return "\n".join(lines) + "\n"


class KuraNode:
    """A node on ``host:<random port>``, served from a thread until :meth:`stop`."""

    def __init__(self, config: NodeConfig, *, host: str = "127.0.0.1") -> None:
        self.config = config
        self.knobs = NodeKnobs()
        self._host = host
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.config.storage.mkdir(parents=True, exist_ok=True)
        self._server = _Server((self._host, 0), self.config, self.knobs)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(POLL_SECONDS,),
            name=f"kura-{self.config.tenant_id}",
            daemon=True,
        )
        self._thread.start()

    def reconfigure(self, config: NodeConfig) -> None:
        """Serve the next requests with ``config`` (a pod restarted with other env)."""
        self.config = config
        if self._server is not None:
            self._server.config = config

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the node is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def files(self) -> dict[str, Path]:
        """Each cache URI prefix and the directory of its tenant's files, as the node serves
        them: ``<prefix><key>`` is ``<directory>/<key>``. Empty without a tenant."""
        tenant = self.config.tenant_id
        if not tenant:
            return {}
        return {
            prefix: artifact_directory(self.config.storage, kind, tenant)
            for kind, prefix in _ROUTES.items()
        }

    @property
    def stats(self) -> NodeStats:
        if self._server is None:
            raise RuntimeError("the node is not started")
        return self._server.stats

    def stop(self) -> None:
        if self._server is not None:
            self._server.stopping.set()
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
