"""The test bed's nginx.conf, from the ingress provider's own gateway keys.

ingress-nginx turns ConfigMap keys and Ingress annotations into nginx directives; the test bed
runs plain Debian nginx, so :data:`TRANSLATIONS` does that translation, once. Every key the
provider sets must be either translated or listed in :data:`NOT_TRANSLATED` with the reason, so
a key the provider adds later fails the test bed loudly instead of being dropped. Keys the
provider leaves out take ingress-nginx's defaults (:data:`INGRESS_NGINX_DEFAULTS`), as they
would in a controller; Ingress annotations win over ConfigMap keys, as in ingress-nginx.

Pure: paths and ports in, config text out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from kura_core import InputError

ANNOTATION_PREFIX = "nginx.ingress.kubernetes.io/"
Context = Literal["server", "location", "upstream"]
Settings = Mapping[str, str]

# ingress-nginx's values for keys a gateway's ConfigMap does not set (config.go defaults).
INGRESS_NGINX_DEFAULTS: Mapping[str, str] = {
    "proxy-body-size": "1m",
    "proxy-request-buffering": "on",
    "proxy-buffering": "off",
    "proxy-max-temp-file-size": "1024m",
    "proxy-buffer-size": "4k",
    "proxy-buffers-number": "4",
    "client-body-buffer-size": "8k",
    "http2-max-concurrent-streams": "128",
    "keep-alive-requests": "1000",
    "upstream-keepalive-connections": "320",
    "upstream-keepalive-timeout": "60",
    "upstream-keepalive-requests": "10000",
    "proxy-connect-timeout": "5",
    "proxy-read-timeout": "60",
    "proxy-send-timeout": "60",
    "proxy-http-version": "1.1",
    "ssl-buffer-size": "4k",
    "ssl-protocols": "TLSv1.2 TLSv1.3",
    "use-forwarded-headers": "false",
    "compute-full-forwarded-for": "false",
    "ssl-ciphers": (
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
        "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384"
    ),
}


@dataclass(frozen=True)
class Translation:
    """Where a key's directive goes and how it is written from the merged settings."""

    context: Context
    render: Callable[[Settings], str]


def _simple(context: Context, directive: str, key: str, suffix: str = "") -> Translation:
    return Translation(context, lambda s: f"{directive} {s[key]}{suffix};")


def _on(settings: Settings, key: str) -> bool:
    return settings.get(key, "").lower() == "true"


TRANSLATIONS: Mapping[str, Translation] = {
    "proxy-body-size": _simple("location", "client_max_body_size", "proxy-body-size"),
    "proxy-request-buffering": _simple(
        "location", "proxy_request_buffering", "proxy-request-buffering"
    ),
    "proxy-buffering": _simple("location", "proxy_buffering", "proxy-buffering"),
    "proxy-max-temp-file-size": _simple(
        "location", "proxy_max_temp_file_size", "proxy-max-temp-file-size"
    ),
    "proxy-buffer-size": _simple("location", "proxy_buffer_size", "proxy-buffer-size"),
    # ingress-nginx sizes every proxy buffer at proxy-buffer-size.
    "proxy-buffers-number": Translation(
        "location",
        lambda s: f"proxy_buffers {s['proxy-buffers-number']} {s['proxy-buffer-size']};",
    ),
    "proxy-busy-buffers-size": _simple(
        "location", "proxy_busy_buffers_size", "proxy-busy-buffers-size"
    ),
    "client-body-buffer-size": _simple(
        "location", "client_body_buffer_size", "client-body-buffer-size"
    ),
    "http2-max-concurrent-streams": _simple(
        "server", "http2_max_concurrent_streams", "http2-max-concurrent-streams"
    ),
    "keep-alive-requests": _simple("server", "keepalive_requests", "keep-alive-requests"),
    "upstream-keepalive-connections": _simple(
        "upstream", "keepalive", "upstream-keepalive-connections"
    ),
    "upstream-keepalive-timeout": _simple(
        "upstream", "keepalive_timeout", "upstream-keepalive-timeout", "s"
    ),
    "upstream-keepalive-requests": _simple(
        "upstream", "keepalive_requests", "upstream-keepalive-requests"
    ),
    "proxy-connect-timeout": _simple(
        "location", "proxy_connect_timeout", "proxy-connect-timeout", "s"
    ),
    "proxy-read-timeout": _simple("location", "proxy_read_timeout", "proxy-read-timeout", "s"),
    "proxy-send-timeout": _simple("location", "proxy_send_timeout", "proxy-send-timeout", "s"),
    "proxy-http-version": _simple("location", "proxy_http_version", "proxy-http-version"),
    "ssl-buffer-size": _simple("server", "ssl_buffer_size", "ssl-buffer-size"),
    "ssl-protocols": _simple("server", "ssl_protocols", "ssl-protocols"),
    "ssl-ciphers": _simple("server", "ssl_ciphers", "ssl-ciphers"),
    # What the upstream is told about the request. ingress-nginx passes a client's own
    # X-Forwarded-Proto and -Host (and Host) on only with use-forwarded-headers, and extends the
    # client's X-Forwarded-For only when compute-full-forwarded-for is on as well; otherwise they
    # are nginx's own view ($scheme, $host, the client's address).
    "use-forwarded-headers": Translation(
        "location",
        lambda s: (
            "proxy_set_header Host $client_forwarded_host; "
            "proxy_set_header X-Forwarded-Host $client_forwarded_host; "
            "proxy_set_header X-Forwarded-Proto $client_forwarded_proto;"
            if _on(s, "use-forwarded-headers")
            else "proxy_set_header Host $host; "
            "proxy_set_header X-Forwarded-Host $host; "
            "proxy_set_header X-Forwarded-Proto $scheme;"
        ),
    ),
    "compute-full-forwarded-for": Translation(
        "location",
        lambda s: (
            "proxy_set_header X-Forwarded-For $client_full_forwarded_for;"
            if _on(s, "use-forwarded-headers") and _on(s, "compute-full-forwarded-for")
            else "proxy_set_header X-Forwarded-For $remote_addr;"
        ),
    ),
    # One deny per range, before anything is proxied: 403 for every address listed.
    "denylist-source-range": Translation(
        "location",
        lambda s: " ".join(
            f"deny {cidr.strip()};" for cidr in s["denylist-source-range"].split(",")
        ),
    ),
    # Raw directives for nginx's http block; the test bed has one server per gateway, and what a
    # gateway puts there (the HTTP/2 preread size) is valid in a server block too.
    "http-snippet": Translation("server", lambda s: s["http-snippet"]),
}

# The client-supplied values the forwarding translations above pass on, as ingress-nginx's
# template maps them (defined once in the http block; unused unless a key turns them on).
FORWARDING_MAPS = (
    "map $http_x_forwarded_proto $client_forwarded_proto { default $http_x_forwarded_proto; "
    "'' $scheme; }",
    "map $http_x_forwarded_host $client_forwarded_host { default $http_x_forwarded_host; "
    "'' $host; }",
    'map $http_x_forwarded_for $client_full_forwarded_for { default "$http_x_forwarded_for, '
    "$remote_addr\"; '' $remote_addr; }",
)


_NO_LOAD_BALANCER = (
    "client-address handling behind the load balancer; nothing sits in front of the test bed's "
    "nginx"
)
NOT_TRANSLATED: Mapping[str, str] = {
    "enable-real-ip": _NO_LOAD_BALANCER,
    "proxy-real-ip-cidr": _NO_LOAD_BALANCER,
    "use-proxy-protocol": "the Hetzner LB's PROXY header; test clients connect to nginx directly",
    "allow-snippet-annotations": "decides which annotations the controller accepts; no directive",
    # The test bed proxies plain HTTP to Kura nodes; other backend protocols are refused below.
    "backend-protocol": "HTTP is what proxy_pass http:// does",
}


def _annotation_keys(annotations: Mapping[str, str]) -> dict[str, str]:
    return {
        key.removeprefix(ANNOTATION_PREFIX): value
        for key, value in annotations.items()
        if key.startswith(ANNOTATION_PREFIX)
    }


def merged_settings(
    config: Settings, annotations: Mapping[str, str] | None = None
) -> dict[str, str]:
    """ingress-nginx defaults, then the ConfigMap, then the Ingress's annotations."""
    own = _annotation_keys(annotations or {})
    unknown = sorted(
        key for key in {*config, *own} if key not in TRANSLATIONS and key not in NOT_TRANSLATED
    )
    if unknown:
        raise InputError(
            f"the test bed does not know the ingress-nginx key(s) {', '.join(unknown)}: add "
            "them to kura_smoke.testbed.nginx_config.TRANSLATIONS or NOT_TRANSLATED"
        )
    protocol = own.get("backend-protocol", "HTTP")
    if protocol != "HTTP":
        raise InputError(f"the test bed proxies HTTP only, not backend-protocol {protocol}")
    return {**INGRESS_NGINX_DEFAULTS, **config, **own}


def directives(settings: Settings, context: Context) -> list[str]:
    """The directives of ``context``, in table order; a key set to "" is left out."""
    return [
        translation.render(settings)
        for key, translation in TRANSLATIONS.items()
        if translation.context == context and settings.get(key, "") != ""
    ]


@dataclass(frozen=True)
class Location:
    """One path of an Ingress rule, with the annotations of the Ingress it comes from."""

    path: str
    path_type: str
    annotations: Mapping[str, str]

    def matches(self) -> list[str]:
        """The nginx location prefixes ingress-nginx writes for this path."""
        if self.path_type == "Exact":
            return [f"= {self.path}"]
        if self.path in ("", "/"):
            return ["/"]
        base = self.path.rstrip("/")
        return [f"= {base}", f"{base}/"]


@dataclass(frozen=True)
class Route:
    """One Ingress host, its paths (every Ingress's rules for the host) and the Kura node behind
    it. The first location's Ingress gives the server and upstream settings.

    ``files`` maps a URI prefix to the directory holding what the node serves under it, for a
    site's ``disk_port``.
    """

    host: str
    upstream: str
    locations: Sequence[Location]
    files: Mapping[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class GatewaySite:
    """One gateway: its listen address and its ConfigMap keys, serving some Ingress hosts.

    ``plain_port`` also serves them over plain HTTP, as ingress-nginx's port 80 does with
    ``ssl-redirect: "false"``: the same relay without TLS, to measure what TLS costs.
    ``disk_port`` serves each host's ``files`` from disk, over TLS set up exactly as the
    relay's: the reference that isolates what relaying costs.
    """

    name: str
    address: str
    port: int
    config: Settings
    routes: Sequence[Route]
    plain_port: int | None = None
    disk_port: int | None = None


@dataclass(frozen=True)
class Layout:
    """Where a scratch nginx keeps everything, so it touches nothing outside ``root``."""

    root: Path
    cert: Path
    key: Path

    @property
    def pid(self) -> Path:
        return self.root / "nginx.pid"

    @property
    def error_log(self) -> Path:
        return self.root / "logs" / "error.log"

    @property
    def access_log(self) -> Path:
        return self.root / "logs" / "access.log"

    @property
    def temp_dirs(self) -> dict[str, Path]:
        """Every ``*_temp_path``: a spooled body would land in one of these."""
        return {
            kind: self.root / "temp" / kind
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        }


def _indent(lines: Sequence[str], depth: int) -> str:
    return "\n".join("  " * depth + line for line in lines)


def _listen(
    address: str, port: int, *, plain_port: int | None, default: bool, modern_http2: bool
) -> list[str]:
    suffix = " default_server" if default else ""
    plain = [] if plain_port is None else [f"listen {address}:{plain_port}{suffix};"]
    if modern_http2:
        return [f"listen {address}:{port} ssl{suffix};", *plain, "http2 on;"]
    return [f"listen {address}:{port} ssl http2{suffix};", *plain]


def _tls_server(
    listen: Sequence[str],
    host: str | None,
    layout: Layout,
    settings: Settings,
    body: Sequence[str],
) -> list[str]:
    """A server block that terminates TLS as the gateway does: its certificate and its
    server-level keys (protocols, ciphers, TLS record buffer, keepalive, HTTP/2)."""
    return [
        "server {",
        *("  " + line for line in listen),
        *([f"  server_name {host};"] if host is not None else []),
        f"  ssl_certificate {layout.cert};",
        f"  ssl_certificate_key {layout.key};",
        *("  " + line for line in directives(settings, "server")),
        *body,
        "}",
    ]


def serving_location(route: Route, uri: str) -> Location:
    """The location of ``route`` that nginx picks for ``uri``: the longest prefix match."""
    found = [
        (len(match), location)
        for location in route.locations
        for match in location.matches()
        if not match.startswith("= ") and uri.startswith(match)
    ]
    if not found:
        raise InputError(f"no location of {route.host} serves {uri}")
    return max(found, key=lambda pair: pair[0])[1]


def _file_locations(site: GatewaySite, route: Route) -> list[str]:
    lines = []
    for prefix, directory in route.files.items():
        relay = merged_settings(site.config, serving_location(route, prefix).annotations)
        lines += [
            f"  location {prefix} {{",
            f"    alias {directory}/;",
            # Over TLS nginx cannot sendfile (no kernel TLS, which ingress-nginx leaves off): it
            # reads the file through output_buffers. One buffer of proxy_buffer_size is what the
            # relay reads the upstream through with proxy_buffering off.
            f"    output_buffers 1 {relay['proxy-buffer-size']};",
            "  }",
        ]
    # Only the cache paths: nothing else of the node's is a file.
    return [*lines, "  location / { return 404; }"]


def render_nginx_conf(
    layout: Layout,
    sites: Sequence[GatewaySite],
    *,
    workers: int = 1,
    run_as_root: bool = False,
    modern_http2: bool = False,
) -> str:
    """A complete nginx.conf: one TLS server per Ingress host, one upstream per Kura node, and
    with a site's ``disk_port`` one TLS server per host serving its ``files``.

    ``run_as_root`` keeps the workers root, so they can use a private scratch directory;
    ``modern_http2`` writes ``http2 on;`` (nginx >= 1.25.1) instead of ``listen ... http2``.
    """
    temp = [f"{kind}_temp_path {path};" for kind, path in layout.temp_dirs.items()]
    blocks: list[str] = []
    for site in sites:
        settings = merged_settings(site.config)
        relay_listen = _listen(
            site.address,
            site.port,
            plain_port=site.plain_port,
            default=False,
            modern_http2=modern_http2,
        )
        for index, route in enumerate(site.routes):
            route_settings = merged_settings(site.config, route.locations[0].annotations)
            upstream = f"{site.name}_{index}"
            locations: list[str] = []
            for location in route.locations:
                location_settings = merged_settings(site.config, location.annotations)
                for match in location.matches():
                    locations += [
                        f"  location {match} {{",
                        f"    proxy_pass http://{upstream};",
                        # Upstream keepalive needs the client's Connection header cleared.
                        '    proxy_set_header Connection "";',
                        *("    " + line for line in directives(location_settings, "location")),
                        "  }",
                    ]
            blocks.append(
                _indent(
                    [
                        f"upstream {upstream} {{",
                        f"  server {route.upstream};",
                        *("  " + line for line in directives(route_settings, "upstream")),
                        "}",
                        *_tls_server(relay_listen, route.host, layout, route_settings, locations),
                    ],
                    1,
                )
            )
            if site.disk_port is not None and route.files:
                disk_listen = _listen(
                    site.address,
                    site.disk_port,
                    plain_port=None,
                    default=False,
                    modern_http2=modern_http2,
                )
                body = _file_locations(site, route)
                blocks.append(
                    _indent(_tls_server(disk_listen, route.host, layout, route_settings, body), 1)
                )
        # Unknown hosts get 404, as from ingress-nginx's default backend.
        not_found = ["  location / { return 404; }"]
        defaults = [(site.port, site.plain_port)]
        if site.disk_port is not None:
            defaults.append((site.disk_port, None))
        for port, plain_port in defaults:
            listen = _listen(
                site.address,
                port,
                plain_port=plain_port,
                default=True,
                modern_http2=modern_http2,
            )
            blocks.append(_indent(_tls_server(listen, None, layout, settings, not_found), 1))
    head = [
        *(["user root;"] if run_as_root else []),
        f"worker_processes {workers};",
        f"pid {layout.pid};",
        f"error_log {layout.error_log} notice;",
        "daemon off;",
        "events { worker_connections 1024; }",
        "http {",
        f"  access_log {layout.access_log};",
        # Kura hosts are long; ingress-nginx sizes this bucket from its hosts too.
        "  server_names_hash_bucket_size 128;",
        "  sendfile on;",
        "  tcp_nodelay on;",
        *("  " + line for line in temp),
        *("  " + line for line in FORWARDING_MAPS),
    ]
    return "\n".join([*head, *blocks, "}", ""])
