"""``--resolve HOST:PORT:ADDR``: send a host's traffic to a chosen address, as curl does.

Pinning tests a gateway before DNS moves to it. Only the TCP connection goes to ADDR: the Host
header (HTTP/2 ``:authority``), TLS SNI and certificate verification all stay on HOST, so a
pinned request is exactly what a client would send once DNS points at ADDR.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

import httpx
from pydantic import BaseModel, ConfigDict

from kura_core import InputError

DEFAULT_PORTS = {"http": 80, "https": 443}


class Pin(BaseModel):
    """``host:port`` connects to ``address`` (an IPv4 or IPv6 literal)."""

    model_config = ConfigDict(frozen=True)

    host: str
    port: int
    address: str

    def __str__(self) -> str:
        address = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.host}:{self.port}:{address}"


def parse_resolve(text: str) -> Pin:
    """Parse curl's ``HOST:PORT:ADDR`` (an IPv6 ADDR may be bracketed)."""
    host, sep, rest = text.partition(":")
    port_text, sep2, address = rest.partition(":")
    if not (sep and sep2 and host and port_text and address):
        raise InputError(f"--resolve {text!r}: expected HOST:PORT:ADDR, e.g. host:443:192.0.2.7")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InputError(f"--resolve {text!r}: port {port_text!r} is not a TCP port")
    address = address.removeprefix("[").removesuffix("]")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise InputError(f"--resolve {text!r}: {address!r} is not an IP address") from None
    return Pin(host=host.lower(), port=int(port_text), address=address)


def pin_table(pins: Iterable[Pin]) -> dict[tuple[str, int], str]:
    table: dict[tuple[str, int], str] = {}
    for pin in pins:
        key = (pin.host, pin.port)
        if table.get(key, pin.address) != pin.address:
            raise InputError(f"--resolve gives {pin.host}:{pin.port} two addresses")
        table[key] = pin.address
    return table


class PinnedTransport(httpx.BaseTransport):
    """Connects pinned ``host:port`` pairs to their address; everything else is untouched.

    The request keeps its Host header (httpx set it from the original URL); the original host
    goes to httpcore as ``sni_hostname``, which it uses for SNI and hostname verification.
    """

    def __init__(self, inner: httpx.BaseTransport, pins: Mapping[tuple[str, int], str]) -> None:
        self.inner = inner
        self.pins = dict(pins)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = url.port or DEFAULT_PORTS.get(url.scheme, 0)
        address = self.pins.get((url.host, port))
        if address is not None:
            request.url = url.copy_with(host=address)
            request.extensions = {**request.extensions, "sni_hostname": url.host}
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()
