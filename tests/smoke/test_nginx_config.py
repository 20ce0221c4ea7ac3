"""The test bed's nginx carries the ingress provider's own keys: one source, checked here.

The provider is reached through the plugin host, as the test bed reaches it; every key it sets
must come out as the nginx directive ingress-nginx would write, and real nginx must accept it.
"""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from kura_core.errors import InputError
from kura_core.plugins import PluginHost
from kura_smoke.pinning import PinnedTransport
from kura_smoke.report import Mode
from kura_smoke.testbed.bed import TestBed
from kura_smoke.testbed.certs import write_tls_files
from kura_smoke.testbed.nginx import Nginx
from kura_smoke.testbed.nginx_config import (
    INGRESS_NGINX_DEFAULTS,
    NOT_TRANSLATED,
    TRANSLATIONS,
    GatewaySite,
    Layout,
    Location,
    Route,
    directives,
    merged_settings,
    render_nginx_conf,
    serving_location,
)
from kura_testing.binaries import require_binary
from kura_testing.loopback import LoopbackServer
from kura_testing.ports import free_port

# What ingress-nginx's template writes for each ConfigMap key the gateways set.
EXPECTED_DIRECTIVE = {
    "proxy-body-size": "client_max_body_size {}",
    "proxy-request-buffering": "proxy_request_buffering {}",
    "proxy-buffering": "proxy_buffering {}",
    "proxy-max-temp-file-size": "proxy_max_temp_file_size {}",
    "proxy-buffer-size": "proxy_buffer_size {}",
    "proxy-busy-buffers-size": "proxy_busy_buffers_size {}",
    "client-body-buffer-size": "client_body_buffer_size {}",
    "http2-max-concurrent-streams": "http2_max_concurrent_streams {}",
    "keep-alive-requests": "keepalive_requests {}",
    "upstream-keepalive-timeout": "keepalive_timeout {}s",
    "upstream-keepalive-requests": "keepalive_requests {}",
    "ssl-buffer-size": "ssl_buffer_size {}",
}


def server_blocks(conf: str, host: str) -> str:
    """The upstream and server block of ``host`` (text up to the next upstream)."""
    start = conf.index(f"server_name {host};")
    upstream = conf.rindex("upstream ", 0, start)
    end = conf.find("\n  upstream ", start)
    return conf[upstream : end if end != -1 else len(conf)]


def running_conf(bed: TestBed) -> str:
    """The nginx.conf the bed's nginx is running with."""
    assert bed.nginx is not None
    return bed.nginx.conf_path.read_text()


def test_every_provider_key_is_translated_or_excused(bed: TestBed) -> None:
    for mode, config in bed.gateway_configs().items():
        assert config, mode
        assert set(config) <= set(TRANSLATIONS) | set(NOT_TRANSLATED), mode


def test_the_nginx_conf_carries_the_provider_values(bed: TestBed) -> None:
    conf = running_conf(bed)
    configs = bed.gateway_configs()
    for mode, smoke in bed.accounts.items():
        block = server_blocks(conf, smoke.host)
        config = configs[mode]
        for key, template in EXPECTED_DIRECTIVE.items():
            assert template.format(config[key]) + ";" in block, (mode, key)
        buffers = f"proxy_buffers {config['proxy-buffers-number']} {config['proxy-buffer-size']};"
        assert buffers in block
        # The HTTP/2 preread window, from the raw snippet, as large as the body buffer.
        assert f"http2_body_preread_size {config['client-body-buffer-size']};" in block
        # The instance Ingress's streaming annotations win at the location.
        assert "proxy_read_timeout 3600s;" in block
        assert "proxy_send_timeout 3600s;" in block
        listen = f"listen {bed.address(mode)}:{bed.port} ssl"
        assert listen in block
    # The provider's tuning, not ingress-nginx's 4k default, reaches nginx.
    assert (
        configs[Mode.DEDICATED]["proxy-buffer-size"] != INGRESS_NGINX_DEFAULTS["proxy-buffer-size"]
    )


def test_each_host_is_routed_by_its_gateway_class(bed: TestBed) -> None:
    conf = running_conf(bed)
    for mode, smoke in bed.accounts.items():
        block = server_blocks(conf, smoke.host)
        assert set(re.findall(r"listen ([\d.]+):", block)) == {bed.address(mode)}


def test_overrides_replace_a_key_on_both_gateways(make_bed: Callable[..., TestBed]) -> None:
    bed = make_bed(nginx_overrides={"proxy-buffer-size": "4k", "proxy-busy-buffers-size": "8k"})
    assert bed.nginx is not None
    conf = bed.nginx.conf_path.read_text()
    # Every proxied location of both gateways (each host's "/" and its private paths).
    locations = conf.count("proxy_pass http://")
    assert locations >= 2 * len(bed.accounts)
    assert conf.count("proxy_buffer_size 4k;") == locations
    assert conf.count("proxy_buffers 4 4k;") == locations
    assert "proxy_buffer_size 256k;" not in conf


def test_plain_http_serves_the_same_routes_without_tls(make_bed: Callable[..., TestBed]) -> None:
    bed = make_bed(plain_http=True)
    assert bed.plain_port is not None
    assert bed.plain_port != bed.port
    assert bed.info().plain_port == bed.plain_port
    conf = running_conf(bed)
    for mode, smoke in bed.accounts.items():
        block = server_blocks(conf, smoke.host)
        assert f"listen {bed.address(mode)}:{bed.plain_port};" in block
        up = httpx.get(
            f"http://{bed.address(mode)}:{bed.plain_port}/up", headers={"Host": smoke.host}
        )
        assert (up.status_code, up.text) == (200, "ok")
    # A host the gateway does not serve gets ingress-nginx's 404 there too.
    stray = httpx.get(
        f"http://{bed.address(Mode.REGIONAL)}:{bed.plain_port}/up", headers={"Host": "x.test"}
    )
    assert stray.status_code == 404


def test_without_plain_http_there_is_only_the_tls_listener(bed: TestBed) -> None:
    assert bed.plain_port is None
    assert bed.info().plain_port is None
    assert bed.disk_port is None
    assert "alias " not in running_conf(bed)
    conf = running_conf(bed)
    assert set(re.findall(r"listen [\d.]+:(\d+)", conf)) == {str(bed.port)}


def server_block(conf: str, host: str, port: int) -> list[str]:
    """The lines of the server block for ``host`` that listens on ``port``."""
    lines = [line.strip() for line in conf.splitlines()]
    starts = [i for i, line in enumerate(lines) if line == "server {"]
    for start in starts:
        depth, end = 0, start
        for end in range(start, len(lines)):
            depth += lines[end].count("{") - lines[end].count("}")
            if depth == 0:
                break
        block = lines[start : end + 1]
        listens = [line for line in block if line.startswith("listen ")]
        if f"server_name {host};" in block and any(f":{port} " in line for line in listens):
            return block
    raise AssertionError(f"no server block for {host} on port {port}")


def tls_terms(block: list[str]) -> list[str]:
    """What a server block says about TLS and connections: every server-level line but the
    listen port, and no location."""
    terms, depth = [], 0
    for line in block[1:-1]:
        depth += line.count("{") - line.count("}")
        if depth or line.endswith("}") or line.startswith("location "):
            continue
        terms.append(re.sub(r":\d+ ", ":PORT ", line))
    return terms


def test_the_disk_server_terminates_tls_exactly_as_the_relay(
    make_bed: Callable[..., TestBed],
) -> None:
    bed = make_bed(from_disk=True)
    assert bed.disk_port is not None
    assert bed.disk_port not in (bed.port, bed.plain_port)
    assert bed.info().disk_port == bed.disk_port
    conf = running_conf(bed)
    configs = bed.gateway_configs()
    for mode, smoke in bed.accounts.items():
        relay = server_block(conf, smoke.host, bed.port)
        disk = server_block(conf, smoke.host, bed.disk_port)
        # Same certificate, protocols, ciphers, TLS record buffer, keepalive and HTTP/2.
        assert tls_terms(disk) == tls_terms(relay)
        assert f"ssl_buffer_size {configs[mode]['ssl-buffer-size']};" in disk
        # The files the node stores for this host, read through one buffer of the relay's size.
        node = bed.nodes[mode]
        for prefix, directory in node.files().items():
            at = disk.index(f"location {prefix} {{")
            assert disk[at + 1 : at + 3] == [
                f"alias {directory}/;",
                f"output_buffers 1 {configs[mode]['proxy-buffer-size']};",
            ]
        assert not any("proxy_pass" in line for line in disk)


def _tls(address: str, port: int, host: str, ca_file: Path) -> tuple[str | None, str | None]:
    context = ssl.create_default_context(cafile=str(ca_file))
    with (
        socket.create_connection((address, port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        cipher = tls.cipher()
        return tls.version(), cipher[0] if cipher else None


def test_the_disk_port_serves_what_the_gateway_stored_over_the_same_tls(
    make_bed: Callable[..., TestBed],
) -> None:
    bed = make_bed(from_disk=True)
    assert bed.disk_port is not None
    token = {"Authorization": f"Bearer {bed.token.reveal()}"}
    for mode, smoke in bed.accounts.items():
        address, host = bed.address(mode), smoke.host
        pins = {(host, bed.port): address, (host, bed.disk_port): address}
        transport = PinnedTransport(
            httpx.HTTPTransport(verify=ssl.create_default_context(cafile=str(bed.ca_file))), pins
        )
        tenant = {"tenant_id": smoke.account.handle}
        body = os.urandom(3 * 1024 * 1024 + 17)
        with httpx.Client(transport=transport) as client:
            gateway, disk = f"https://{host}:{bed.port}", f"https://{host}:{bed.disk_port}"
            stored = client.post(f"{gateway}/api/cache/cas/k1", content=body, params=tenant,
                                 headers=token)  # fmt: skip
            assert stored.status_code == 204
            served = client.get(f"{disk}/api/cache/cas/k1", params=tenant)
            assert (served.status_code, served.content) == (200, body)
            # Nothing but the cache paths, and nothing that was not stored.
            assert client.get(f"{disk}/api/cache/cas/nope", params=tenant).status_code == 404
            assert client.get(f"{disk}/up").status_code == 404
            # A host this gateway does not serve gets the default server's 404 there too.
            stray = client.get(
                f"{disk}/api/cache/cas/k1", params=tenant, headers={"Host": "x.test"}
            )
            assert stray.status_code == 404
        assert _tls(address, bed.disk_port, host, bed.ca_file) == _tls(
            address, bed.port, host, bed.ca_file
        )


def test_a_route_without_files_gets_no_disk_server(tmp_path: Path) -> None:
    layout = Layout(root=tmp_path, cert=tmp_path / "c.pem", key=tmp_path / "k.pem")
    served = Route("a.test", "127.0.0.1:1", [Location("/", "Prefix", {})], {"/f/": tmp_path})
    unserved = Route("b.test", "127.0.0.1:2", [Location("/", "Prefix", {})])
    site = GatewaySite("gw", "127.0.0.1", 8443, {}, [served, unserved], disk_port=9443)
    conf = render_nginx_conf(layout, [site])
    assert server_block(conf, "a.test", 9443)
    with pytest.raises(AssertionError, match=r"no server block for b\.test"):
        server_block(conf, "b.test", 9443)
    # Unknown hosts on the disk port get the default server's 404.
    assert "listen 127.0.0.1:9443 ssl http2 default_server;" in conf
    # ingress-nginx's 4k default, as the relay gets it.
    assert "output_buffers 1 4k;" in conf


def test_the_disk_reads_through_the_buffer_of_the_location_that_relays_the_path() -> None:
    big = {"nginx.ingress.kubernetes.io/proxy-buffer-size": "64k"}
    route = Route(
        "a.test",
        "127.0.0.1:1",
        [
            Location("/metrics", "Prefix", {}),
            Location("/", "Prefix", big),
            Location("/api/cache/cas/x", "Exact", {}),
        ],
        {"/api/cache/cas/": Path("/srv/cas")},
    )
    assert serving_location(route, "/api/cache/cas/").annotations == big
    assert serving_location(route, "/metrics/x").path == "/metrics"
    with pytest.raises(InputError, match=r"no location of a\.test serves /x"):
        serving_location(Route("a.test", "u", [Location("/y", "Prefix", {})]), "/x")
    layout = Layout(root=Path("/r"), cert=Path("/c"), key=Path("/k"))
    site = GatewaySite("gw", "127.0.0.1", 8443, {}, [route], disk_port=9443)
    assert "output_buffers 1 64k;" in render_nginx_conf(layout, [site])


def test_an_unknown_key_fails_loudly() -> None:
    with pytest.raises(InputError, match=r"does not know the ingress-nginx key.*brand-new-key"):
        merged_settings({"brand-new-key": "1"})
    with pytest.raises(InputError, match="HTTP only, not backend-protocol GRPC"):
        merged_settings({}, {"nginx.ingress.kubernetes.io/backend-protocol": "GRPC"})


def test_annotations_win_over_the_config_map_and_defaults_fill_in() -> None:
    settings = merged_settings(
        {"proxy-read-timeout": "60"}, {"nginx.ingress.kubernetes.io/proxy-read-timeout": "3600"}
    )
    assert "proxy_read_timeout 3600s;" in directives(settings, "location")
    assert "proxy_buffer_size 4k;" in directives(settings, "location")
    # TLS as ingress-nginx serves it when a gateway leaves the keys out.
    server = directives(settings, "server")
    assert "ssl_buffer_size 4k;" in server
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in server
    dropped = merged_settings({"proxy-busy-buffers-size": ""})
    assert not any(d.startswith("proxy_busy_buffers_size") for d in directives(dropped, "location"))


def test_real_nginx_accepts_the_conf(bed: TestBed, tmp_path: Path) -> None:
    assert bed.nginx is not None
    nginx = bed.nginx
    nginx.write()
    result = subprocess.run(
        [nginx.binary, "-t", "-p", str(nginx.layout.root), "-c", str(nginx.conf_path),
         "-e", str(nginx.layout.error_log)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


# --- what the gateway lets through -------------------------------------------------------------


def test_metrics_are_refused_at_the_gateway_and_served_in_the_cluster(
    make_bed: Callable[..., TestBed],
) -> None:
    # The provider's private-paths Ingress, through the real nginx of both gateways: every
    # spelling of /metrics nginx normalises is refused; the node itself still serves it.
    bed = make_bed(plain_http=True)
    for mode, smoke in bed.accounts.items():
        gateway = f"http://{bed.address(mode)}:{bed.plain_port}"
        for path in ("/metrics", "/metrics/", "/metrics?format=text", "/%6Detrics", "//metrics"):
            refused = httpx.get(gateway + path, headers={"Host": smoke.host})
            assert refused.status_code == 403, (mode, path)
            assert "kura_" not in refused.text
        assert httpx.get(gateway + "/up", headers={"Host": smoke.host}).status_code == 200
        assert httpx.get(gateway + "/metricsz", headers={"Host": smoke.host}).status_code != 403
        direct = httpx.get(f"{bed.nodes[mode].url}/metrics")
        assert direct.status_code == 200
        assert "kura_" in direct.text


class _Echo(BaseHTTPRequestHandler):
    """Answers every GET with the request headers it received, as JSON."""

    def do_GET(self) -> None:
        body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def echo() -> Iterator[str]:
    with LoopbackServer(_Echo).serving() as server:
        yield server.address


@contextmanager
def relay(tmp_path: Path, upstream: str, config: dict[str, str]) -> Iterator[str]:
    """A real nginx, configured from ``config``, relaying one host to ``upstream``."""
    tls = write_tls_files(tmp_path / "tls", [HOST], now=datetime.now(UTC))
    layout = Layout(root=tmp_path / "nginx", cert=tls.cert, key=tls.key)
    port, plain = free_port(), free_port()
    site = GatewaySite(
        name="gw",
        address="127.0.0.1",
        port=port,
        config=config,
        routes=[Route(HOST, upstream, [Location("/", "Prefix", {})])],
        plain_port=plain,
    )
    nginx = Nginx(require_binary("nginx"), layout, render_nginx_conf(layout, [site]))
    nginx.start([("127.0.0.1", plain)])
    try:
        yield f"http://127.0.0.1:{plain}"
    finally:
        nginx.stop()


HOST = "acme-eu-central-1.kura.tuist.dev"
SPOOFED = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "x.test",
}


@pytest.mark.e2e  # two real nginx
def test_clients_cannot_set_the_forwarded_headers_kura_sees(
    tmp_path: Path, echo: str, plugin_host: PluginHost
) -> None:
    # The gateway keys as the provider renders them for every gateway.
    region = plugin_host.catalog("production").get("eu-central")
    provider = plugin_host.ingress_provider(region.ingress_provider)
    values = provider.shared_gateway_values(
        region, load_balancer=plugin_host.load_balancer_provider(region.load_balancer_provider)
    )
    config = values["kura-eu-central-ingress-nginx"]["controller"]["config"]
    with relay(tmp_path / "ours", echo, config) as url:
        seen = httpx.get(url + "/", headers={"Host": HOST, **SPOOFED}).json()
        assert seen["x-forwarded-for"] == "127.0.0.1"
        assert seen["x-forwarded-proto"] == "http"  # what nginx served (the plain listener)
        assert seen["x-forwarded-host"] == HOST
        assert seen["host"] == HOST
    # Upstream's keys pass the client's own claims on: the check above can fail.
    upstream = {**config, "use-forwarded-headers": "true", "compute-full-forwarded-for": "true"}
    with relay(tmp_path / "upstream", echo, upstream) as url:
        seen = httpx.get(url + "/", headers={"Host": HOST, **SPOOFED}).json()
        assert seen["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
        assert seen["x-forwarded-proto"] == "https"
        assert seen["x-forwarded-host"] == "x.test"
