"""The control plane's ``POST /oauth2/introspect``, as Kura nodes call it (kura-upstream.md §6.3).

It knows one OAuth client (a UUID id, as the server's OAuth library demands: upstream's staging
bug was a non-UUID id answered with 400 ``invalid_request``) and a set of tokens with their cache
grants. It can be switched to fail (any status) or stopped, which is how the test bed shows Kura
answering 503 when its auth backend is unreachable.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

INTROSPECT_PATH = "/oauth2/introspect"


@dataclass(frozen=True)
class Grant:
    """A token's principal and the accounts it may read and write."""

    subject: str
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()

    def claims(self) -> dict[str, Any]:
        return {
            "active": True,
            "sub": self.subject,
            "principal_kind": "account_token",
            "cache_grants": {"account": {"read": list(self.read), "write": list(self.write)}},
        }


@dataclass
class ControlPlaneState:
    client_id: str
    client_secret: str
    tokens: dict[str, Grant] = field(default_factory=dict)
    failing_status: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def introspect(self, request: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            failing = self.failing_status
            grant = self.tokens.get(str(request.get("token", "")))
        if failing is not None:
            return failing, {"error": "unavailable"}
        client_id = str(request.get("client_id", ""))
        try:
            uuid.UUID(client_id)
        except ValueError:
            return 400, {"error": "invalid_request", "error_description": "client_id is not a UUID"}
        if client_id != self.client_id or request.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client"}
        if grant is None:
            return 200, {"active": False}
        return 200, grant.claims()


# How often serve_forever checks for shutdown: stop() waits up to this long.
POLL_SECONDS = 0.05


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; Nagle would hold the second for an ACK.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        # Requests carry tokens in their bodies; nothing is logged.
        return None

    def _answer(self, status: int, body: Mapping[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.split("?", 1)[0] != INTROSPECT_PATH:
            self._answer(HTTPStatus.NOT_FOUND, {"error": "not_found"})
            return
        try:
            request = json.loads(raw or b"{}")
        except ValueError:
            request = None
        if not isinstance(request, dict):
            self._answer(HTTPStatus.BAD_REQUEST, {"error": "invalid_request"})
            return
        self._answer(*self.server.state.introspect(request))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], state: ControlPlaneState) -> None:
        self.state = state
        super().__init__(address, _Handler)


class ControlPlane:
    """The introspection endpoint on ``127.0.0.1:<random port>``, served from a thread."""

    def __init__(self, state: ControlPlaneState, *, host: str = "127.0.0.1") -> None:
        self.state = state
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._host = host
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self) -> None:
        # Restarting keeps the port, so Kura nodes configured with the URL find it again.
        self._server = _Server((self._host, self.port), self.state)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(POLL_SECONDS,),
            name="control-plane",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening: introspection becomes unreachable."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def fail_with(self, status: int | None) -> None:
        """Answer every introspection with ``status`` (None: answer normally again)."""
        with self.state.lock:
            self.state.failing_status = status

    def add_token(self, token: str, grant: Grant) -> None:
        with self.state.lock:
            self.state.tokens[token] = grant
