"""Loopback ports for the servers a test starts.

A port found free by binding to port 0 comes from the kernel's ephemeral range, the range it
also takes client connections' local ports from: between the probe and the server's own bind,
any connection a test makes may take it, and the server then fails to start. So ports are
picked below that range, each pytest-xdist worker from a slice of its own, in turn: a test
that asks for two ports before it starts either server gets two different ones.
"""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

FIRST = 20000
SLICE = 1000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# Where in its slice this process offers the next port; a random start keeps two processes of
# one worker (a rerun, a subprocess) from walking the same ports in step.
_turn = random.randrange(SLICE)


def ephemeral_start() -> int:
    """The first port of the kernel's ephemeral range (Linux's default where it cannot be read)."""
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def worker_ports(worker: str, ephemeral: int) -> range:
    """The ports a pytest-xdist worker (``gw3``; ``""`` outside xdist) picks from: a slice of
    those below ``ephemeral``, or nothing when the ephemeral range starts too low."""
    slices = max(0, (ephemeral - FIRST) // SLICE)
    if slices == 0:
        return range(0)
    number = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    start = FIRST + (number % slices) * SLICE
    return range(start, start + SLICE)


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback port free now, which no client connection will take before a server binds it."""
    global _turn
    ports = worker_ports(os.environ.get("PYTEST_XDIST_WORKER", ""), ephemeral_start())
    for step in range(min(len(ports), 200)):
        index = (_turn + step) % len(ports)
        if _bindable(ports[index]):
            _turn = index + 1
            return ports[index]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
