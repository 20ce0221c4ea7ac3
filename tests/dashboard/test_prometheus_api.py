"""``kura_dashboard.data.sources.prometheus_api``: Prometheus's HTTP API over urllib3.

A small stand-in server records what each request carried and answers as told; the real
Prometheus is exercised by ``test_prometheus_source.py``. What is checked here is what a real
Prometheus cannot be made to do on demand: compress, refuse with a body that is not JSON, ask
for credentials.
"""

from __future__ import annotations

import base64
import gzip
import json
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from kura_core import InputError
from kura_core.plugins import PluginHost
from kura_dashboard.data.readings import SourceError
from kura_dashboard.data.sources.prometheus import PrometheusSource
from kura_dashboard.data.sources.prometheus_api import (
    PrometheusApi,
    QueryError,
)
from kura_smoke.testbed.certs import write_tls_files
from kura_testing.loopback import LoopbackServer

VECTOR = {
    "status": "success",
    "data": {"resultType": "vector", "result": [{"metric": {"g": "a"}, "value": [1, "2.5"]}]},
}


class _Server(LoopbackServer):
    def __init__(self) -> None:
        super().__init__(_Handler)
        self.headers: list[dict[str, str]] = []
        self.status = 200
        self.body: bytes = json.dumps(VECTOR).encode()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.headers.append({k.lower(): v for k, v in self.headers.items()})
        body = self.server.body
        self.send_response(self.server.status)
        if "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[_Server]:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    with _Server().serving() as running:
        yield running


def _api(url: str) -> PrometheusApi:
    return PrometheusApi(url, timeout=2.0, maxsize=2)


def test_answers_come_compressed_and_are_read_whole(server: _Server) -> None:
    api = _api(f"http://{server.address}")
    assert api.query("up", 1.0) == VECTOR["data"]["result"]  # type: ignore[index]
    (headers,) = server.headers
    assert headers["accept-encoding"] == "gzip"
    assert "authorization" not in headers


def test_credentials_in_the_url_are_sent_and_never_shown(server: _Server) -> None:
    api = _api(f"http://ops:s%40cret@{server.address}/")
    api.query("up", 1.0)
    (headers,) = server.headers
    assert headers["authorization"] == "Basic " + base64.b64encode(b"ops:s@cret").decode()
    assert api.url == f"http://{server.address}"
    server.shutdown()
    server.server_close()
    with pytest.raises(SourceError) as failed:
        api.query("up", 1.0)
    assert "cret" not in failed.value.message
    assert failed.value.message.startswith(f"cannot connect to Prometheus at {api.url}: ")


def test_netrc_credentials_are_sent(
    server: _Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login reader password pw\n", encoding="utf-8")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    _api(f"http://{server.address}").query("up", 1.0)
    (headers,) = server.headers
    assert headers["authorization"] == "Basic " + base64.b64encode(b"reader:pw").decode()


def test_a_refusal_is_prometheus_own_words(server: _Server) -> None:
    server.status = 400
    server.body = json.dumps(
        {"status": "error", "errorType": "bad_data", "error": "parse error at char 3"}
    ).encode()
    with pytest.raises(QueryError) as refused:
        _api(f"http://{server.address}").query("su(", 1.0)
    assert str(refused.value) == "HTTP 400: parse error at char 3"
    assert refused.value.status == 400


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (502, b"<html>Bad Gateway</html>", "HTTP 502"),
        (200, b"<html>a login page</html>", "HTTP 200: not a Prometheus API answer"),
        (200, b'{"status": "success"}', "HTTP 200: not a Prometheus API answer"),
        (200, b'{"status": "success", "data": {}}', "HTTP 200: not a Prometheus API answer"),
        (200, b'{"data": [1, 2]}', "HTTP 200: not a Prometheus API answer"),
    ],
)
def test_an_answer_that_is_not_the_api_is_one_clear_error(
    server: _Server, status: int, body: bytes, words: str
) -> None:
    server.status, server.body = status, body
    with pytest.raises(QueryError) as refused:
        _api(f"http://{server.address}").query("up", 1.0)
    assert str(refused.value) == words


def test_a_socks_proxy_is_refused_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setenv("all_proxy", "socks5://user:pw@proxy.invalid:1080")
    with pytest.raises(InputError) as refused:
        _api("http://prometheus.invalid:9090")
    assert "is a socks5 proxy" in str(refused.value)
    assert "pw" not in str(refused.value)


def test_the_source_names_its_prometheus_without_the_credentials() -> None:
    # The header shows the source's target, and its errors name it.
    reader = PrometheusSource("https://ops:s3cret@prometheus.example:9090/", [])
    try:
        assert reader.target == "https://prometheus.example:9090"
    finally:
        reader.close()


def test_series_that_are_not_prometheus_degrade_the_source_and_do_not_crash_it(
    server: _Server,
) -> None:
    # Valid JSON of the API's outline, but a series without its value pair.
    server.body = json.dumps(
        {"status": "success", "data": {"result": [{"metric": {"controller_class": "x"}}]}}
    ).encode()
    queries = PluginHost(environ={}).ingress_provider("ingress-nginx").metric_queries()
    reader = PrometheusSource(f"http://{server.address}", [queries])
    try:
        with pytest.raises(SourceError) as failed:
            reader.fetch(now=1.0)
    finally:
        reader.close()
    assert failed.value.message.startswith("every query failed; ")
    assert failed.value.message.endswith("query failed: HTTP 200: not a Prometheus API answer")
    assert not failed.value.unreachable


def test_a_ca_bundle_from_the_environment_verifies_an_https_prometheus(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    tls = write_tls_files(tmp_path / "tls", ["localhost"], now=datetime.now(UTC))
    secure = _Server()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.cert, tls.key)
    secure.socket = context.wrap_socket(secure.socket, server_side=True)
    url = f"https://localhost:{secure.server_address[1]}"
    with secure.serving():
        # certifi's bundle does not know the test CA: refused, in words.
        with pytest.raises(SourceError) as refused:
            _api(url).query("up", 1.0)
        assert "certificate verify failed" in refused.value.message
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_cert))
        assert _api(url).query("up", 1.0) == VECTOR["data"]["result"]  # type: ignore[index]
