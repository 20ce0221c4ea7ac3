"""``kura_testing.loopback.LoopbackServer``: answers on loopback while serving, and only then."""

from __future__ import annotations

import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler

import pytest

from kura_testing.loopback import LoopbackServer


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_it_answers_while_serving_and_closes_its_port_after() -> None:
    with LoopbackServer(_Hello).serving() as server:
        assert server.url == f"http://{server.address}"
        assert server.address.startswith("127.0.0.1:")
        with urllib.request.urlopen(f"{server.url}/hello", timeout=5) as answer:
            assert answer.read() == b"/hello"
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{server.url}/hello", timeout=5)
