"""The DNS step: the public host resolves, and optionally to the gateway's address."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from kura_smoke.report import StepFailure

Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for ``host``, in its order, without repeats."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def resolve_host(
    host: str,
    port: int,
    *,
    pinned: str | None,
    expected: str | None,
    resolver: Resolver,
) -> str:
    """Check ``host`` and say what it resolves to; raise :class:`StepFailure` when it does not.

    A pinned host is not looked up (DNS may not point at the gateway yet); the pin stands in
    for the answer. ``expected`` is the gateway's load-balancer address, an IP or a hostname.
    """
    if pinned is not None:
        addresses, how = [pinned], f"pinned to {pinned} by --resolve (DNS not consulted)"
    else:
        try:
            addresses = resolver(host, port)
        except OSError as exc:
            raise StepFailure(
                f"{host} does not resolve",
                expected=f"{host} resolves to an address",
                got=f"DNS error: {exc}",
                cause="the host's DNS record is missing or not propagated yet (external-dns), "
                "or the name is misspelt",
            ) from exc
        how = f"resolves to {', '.join(addresses)}"
    if expected is None:
        return f"{host} {how}"
    wanted = [expected] if _is_ip(expected) else _lookup_expected(expected, port, resolver)
    if not set(wanted) & set(addresses):
        raise StepFailure(
            f"{host} does not point at the gateway",
            expected=f"{host} resolves to the gateway address {expected}",
            got=f"{host} {how}",
            cause="DNS still points at another gateway (not moved yet, or a stale record), or "
            "the account is served by another gateway than policy says",
        )
    return f"{host} {how}, the gateway's address"


def _lookup_expected(name: str, port: int, resolver: Resolver) -> list[str]:
    try:
        return resolver(name, port)
    except OSError as exc:
        raise StepFailure(
            f"the gateway address {name} does not resolve",
            expected=f"the load balancer hostname {name} resolves",
            got=f"DNS error: {exc}",
            cause="the load balancer's hostname is not published yet",
        ) from exc
