"""A local Hetzner Cloud API double: the documented JSON shapes over real HTTP.

The real ``hcloud`` client talks to it through ``api_endpoint``. It answers, with the shapes of
the Hetzner Cloud API (as hcloud-go's schema and hcloud-python's fixtures give them):

* ``GET /v1/load_balancers`` with every field ``BoundLoadBalancer`` indexes, paged through
  ``page``/``per_page`` with ``meta.pagination`` (``per_page`` capped as the API caps it);
* ``GET /v1/load_balancers/{id}/metrics?type=bandwidth,open_connections&start=ISO&end=ISO&step=N``
  with the ``bandwidth.in``/``bandwidth.out`` samples of ``bandwidth[id]`` and the
  ``open_connections`` samples of ``connections[id]`` whose timestamps lie in [start, end], values
  as decimal strings, for the types asked. A series with no sample there is left out of
  ``time_series``; an id not in ``load_balancers`` is 404 ``not_found``; a missing ``type``,
  ``start`` or ``end``, another type or a date without a timezone is 400 ``invalid_input``.

It checks the Bearer token (401 otherwise) and can be switched, for every path, to answer 403,
429 with rate-limit headers, a 5xx, a body that is not JSON, or nothing at all. Each request's
path and query is kept in ``requests``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

Mode = Literal["ok", "forbidden", "rate-limited", "server-error", "not-json", "hang"]
# timestamp (epoch seconds), bytes in per second, bytes out per second; None: no sample
BandwidthSample = tuple[float, float | None, float | None]

_METRICS_PATH = re.compile(r"/v1/load_balancers/(\d+)/metrics")

# id, name, description, country, city, latitude, longitude, network zone
_LOCATIONS: dict[str, tuple[int, str, str, str, float, float, str]] = {
    "fsn1": (1, "Falkenstein DC Park 1", "DE", "Falkenstein", 50.47612, 12.370071, "eu-central"),
    "nbg1": (2, "Nuremberg DC Park 1", "DE", "Nuremberg", 49.452102, 11.076665, "eu-central"),
    "hel1": (3, "Helsinki DC Park 1", "FI", "Helsinki", 60.169855, 24.938379, "eu-central"),
    "ash": (4, "Ashburn, VA", "US", "Ashburn, VA", 39.045821, -77.487073, "us-east"),
    "hil": (5, "Hillsboro, OR", "US", "Hillsboro, OR", 45.54222, -122.95194, "us-west"),
}
# id, max_connections, max_services, max_targets, max_assigned_certificates
_TYPES: dict[str, tuple[int, int, int, int, int]] = {
    "lb11": (1, 20_000, 5, 25, 10),
    "lb21": (2, 40_000, 15, 75, 25),
    "lb31": (3, 80_000, 30, 150, 50),
}
_PRICE = {"net": "5.3900", "gross": "6.4141"}


def location_json(name: str) -> dict[str, Any]:
    lid, description, country, city, latitude, longitude, zone = _LOCATIONS[name]
    return {
        "id": lid,
        "name": name,
        "description": description,
        "country": country,
        "city": city,
        "latitude": latitude,
        "longitude": longitude,
        "network_zone": zone,
    }


def load_balancer_type_json(name: str) -> dict[str, Any]:
    tid, connections, services, targets, certificates = _TYPES[name]
    return {
        "id": tid,
        "name": name,
        "description": name.upper(),
        "max_connections": connections,
        "max_services": services,
        "max_targets": targets,
        "max_assigned_certificates": certificates,
        "deprecation": None,
        "prices": [
            {
                "location": location,
                "price_hourly": _PRICE,
                "price_monthly": _PRICE,
                "included_traffic": 21990232555520,
                "price_per_tb_traffic": _PRICE,
            }
            for location in _LOCATIONS
        ],
    }


def tcp_service(port: int, node_port: int) -> dict[str, Any]:
    """A service as the CCM creates it for a LoadBalancer Service port (PROXY protocol on)."""
    return {
        "protocol": "tcp",
        "listen_port": port,
        "destination_port": node_port,
        "proxyprotocol": True,
        "health_check": {
            "protocol": "tcp",
            "port": node_port,
            "interval": 10,
            "timeout": 15,
            "retries": 3,
        },
    }


def https_service() -> dict[str, Any]:
    """The API docs' https service, with every http and health-check field."""
    return {
        "protocol": "https",
        "listen_port": 443,
        "destination_port": 80,
        "proxyprotocol": False,
        "http": {
            "cookie_name": "HCLBSTICKY",
            "cookie_lifetime": 300,
            "certificates": [897],
            "redirect_http": True,
            "sticky_sessions": True,
            "timeout_idle": 60,
        },
        "health_check": {
            "protocol": "http",
            "port": 4711,
            "interval": 15,
            "timeout": 10,
            "retries": 3,
            "http": {
                "domain": "example.com",
                "path": "/",
                "response": '{"status": "ok"}',
                "status_codes": ["2??", "3??"],
                "tls": False,
            },
        },
    }


def server_target(server_id: int, *, use_private_ip: bool = False) -> dict[str, Any]:
    return {
        "type": "server",
        "server": {"id": server_id},
        "use_private_ip": use_private_ip,
        "health_status": [{"listen_port": 443, "status": "healthy"}],
    }


def label_selector_target(selector: str, *server_ids: int) -> dict[str, Any]:
    """A label-selector target with the server targets it resolved to."""
    return {
        "type": "label_selector",
        "label_selector": {"selector": selector},
        "use_private_ip": True,
        "targets": [server_target(server_id, use_private_ip=True) for server_id in server_ids],
    }


def ip_target(ip: str) -> dict[str, Any]:
    return {"type": "ip", "ip": {"ip": ip}, "health_status": []}


def load_balancer_json(
    lb_id: int,
    name: str,
    *,
    location: str = "fsn1",
    lb_type: str = "lb11",
    labels: dict[str, str] | None = None,
    targets: list[dict[str, Any]] | None = None,
    services: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One LB in the API's shape; addresses derive from the id so each LB has its own."""
    return {
        "id": lb_id,
        "name": name,
        "created": "2026-01-30T23:50:00+00:00",
        "labels": labels or {},
        "public_net": {
            "enabled": True,
            "ipv4": {
                "id": 10_000 + lb_id,
                "ip": f"203.0.113.{lb_id % 250 + 1}",
                "dns_ptr": f"static.{lb_id}.example.com",
                "blocked": False,
            },
            "ipv6": {
                "id": 20_000 + lb_id,
                "ip": f"2001:db8::{lb_id:x}",
                "dns_ptr": f"static.{lb_id}.example.com",
                "blocked": False,
            },
        },
        "private_net": [{"network": 4711, "ip": f"10.0.255.{lb_id % 250 + 1}"}],
        "location": location_json(location),
        "load_balancer_type": load_balancer_type_json(lb_type),
        "protection": {"delete": False},
        "algorithm": {"type": "round_robin"},
        "services": services if services is not None else [tcp_service(443, 31443)],
        "targets": targets if targets is not None else [server_target(lb_id * 10)],
        "outgoing_traffic": 123456,
        "ingoing_traffic": 123456,
        "included_traffic": 21990232555520,
    }


def error_json(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": {}}}


def _instant(text: str) -> datetime | None:
    """An ISO 8601 date with a timezone, as the API requires, or ``None``."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


class HetznerDouble:
    """The fake API on 127.0.0.1 at a free port; ``url`` is what ``HCLOUD_ENDPOINT`` takes."""

    def __init__(self, token: str, *, max_per_page: int = 50) -> None:
        self.token = token
        self.max_per_page = max_per_page
        self.load_balancers: list[dict[str, Any]] = []
        # Per load balancer id, what its metrics answer for type=bandwidth.
        self.bandwidth: dict[int, list[BandwidthSample]] = {}
        # Per load balancer id, its open_connections samples: (timestamp, connections).
        self.connections: dict[int, list[tuple[float, float]]] = {}
        self.mode: Mode = "ok"
        self.error_status = 500
        self.error_json = True
        self.rate_limit_headers: dict[str, str] = {}
        # Every request's path and query, in order (never its headers: they hold the token).
        self.requests: list[str] = []
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        # A short poll keeps shutdown() (and so each test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def page(self, query: dict[str, list[str]]) -> dict[str, Any]:
        page = max(1, int(query.get("page", ["1"])[0]))
        per_page = min(self.max_per_page, max(1, int(query.get("per_page", ["25"])[0])))
        total = len(self.load_balancers)
        last = max(1, -(-total // per_page))
        return {
            "load_balancers": self.load_balancers[(page - 1) * per_page : page * per_page],
            "meta": {
                "pagination": {
                    "page": page,
                    "per_page": per_page,
                    "previous_page": page - 1 if page > 1 else None,
                    "next_page": page + 1 if page < last else None,
                    "last_page": last,
                    "total_entries": total,
                }
            },
        }

    def metrics(self, lb_id: int, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        """The status and body of ``GET /v1/load_balancers/{lb_id}/metrics``."""
        if not any(lb["id"] == lb_id for lb in self.load_balancers):
            return 404, error_json("not_found", f"load balancer with ID {lb_id} not found")
        missing = [key for key in ("type", "start", "end") if not query.get(key)]
        if missing:
            return 400, error_json("invalid_input", f"missing query: {', '.join(missing)}")
        types = query["type"][0].split(",")
        if not set(types) <= {"bandwidth", "open_connections"}:
            return 400, error_json(
                "invalid_input", "the double serves only bandwidth and open_connections"
            )
        start, end = _instant(query["start"][0]), _instant(query["end"][0])
        if start is None or end is None:
            return 400, error_json("invalid_input", "start and end must be ISO 8601 with a zone")
        samples = [
            sample
            for sample in self.bandwidth.get(lb_id, [])
            if start.timestamp() <= sample[0] <= end.timestamp()
        ]
        series: dict[str, Any] = {}
        if "bandwidth" in types:
            for key, index in (("bandwidth.in", 1), ("bandwidth.out", 2)):
                values = [[s[0], f"{s[index]:.6f}"] for s in samples if s[index] is not None]
                if values:
                    series[key] = {"values": values}
        opened = [
            [stamp, f"{value:.6f}"]
            for stamp, value in self.connections.get(lb_id, [])
            if start.timestamp() <= stamp <= end.timestamp()
        ]
        if "open_connections" in types and opened:
            series["open_connections"] = {"values": opened}
        metrics = {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "step": float(query.get("step", ["60"])[0]),
            "time_series": series,
        }
        return 200, {"metrics": metrics}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without it each keep-alive answer waits ~40 ms on Nagle plus delayed ACK.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: pytest shows failures, not access logs."""

            def answer(
                self,
                status: int,
                body: object,
                headers: dict[str, str] | None = None,
                content_type: str = "application/json",
            ) -> None:
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def error(self, status: int, code: str, message: str) -> None:
                self.answer(status, error_json(code, message))

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                double.requests.append(self.path)
                if double.mode == "hang":
                    double._release.wait()
                    self.close_connection = True
                    return
                if self.headers.get("Authorization") != f"Bearer {double.token}":
                    self.error(401, "unauthorized", "unable to authenticate")
                elif double.mode == "forbidden":
                    self.error(403, "forbidden", "insufficient permissions for this request")
                elif double.mode == "rate-limited":
                    body = {"error": {"code": "rate_limit_exceeded", "message": "limit reached"}}
                    self.answer(429, body, double.rate_limit_headers)
                elif double.mode == "server-error" and double.error_json:
                    self.error(double.error_status, "service_error", "error within a service")
                elif double.mode == "server-error":
                    # What a proxy in front of the API sends: a page, not the API's JSON.
                    page = "<html><body>bad gateway</body></html>"
                    self.answer(double.error_status, page, content_type="text/html")
                elif double.mode == "not-json":
                    self.answer(200, "<html>maintenance</html>", content_type="text/html")
                elif url.path == "/v1/load_balancers":
                    self.answer(200, double.page(parse_qs(url.query)))
                elif metrics := _METRICS_PATH.fullmatch(url.path):
                    self.answer(*double.metrics(int(metrics[1]), parse_qs(url.query)))
                else:
                    self.error(404, "not_found", f"{url.path} not found")

        return Handler


@contextmanager
def running_double(token: str) -> Iterator[HetznerDouble]:
    """A started double that accepts ``token`` and holds no load balancers yet; stopped after."""
    double = HetznerDouble(token=token)
    double.start()
    try:
        yield double
    finally:
        double.stop()
