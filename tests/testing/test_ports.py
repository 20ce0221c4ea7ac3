"""Ports for test servers: below the kernel's ephemeral range, one slice per xdist worker."""

from __future__ import annotations

import socket

import pytest

from kura_testing.ports import ephemeral_start, free_port, worker_ports


def test_a_free_port_is_bindable_and_below_the_ephemeral_range() -> None:
    port = free_port()
    assert 20000 <= port < ephemeral_start()
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))


def test_each_worker_has_its_own_slice() -> None:
    slices = [worker_ports(f"gw{n}", 32768) for n in range(12)]
    assert [(s.start, s.stop) for s in slices[:2]] == [(20000, 21000), (21000, 22000)]
    assert all(not set(a) & set(b) for i, a in enumerate(slices) for b in slices[i + 1 :])
    assert all(s.stop <= 32768 for s in slices)
    assert worker_ports("", 32768) == worker_ports("gw0", 32768) == range(20000, 21000)
    assert worker_ports("gw12", 32768) == range(20000, 21000)  # wraps round


def test_a_port_taken_is_not_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken, socket.socket() as probe:
        taken.bind(("127.0.0.1", 0))
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
        probe.close()
        candidates = [taken.getsockname()[1], free]
        monkeypatch.setattr("kura_testing.ports.worker_ports", lambda *_: candidates)
        monkeypatch.setattr("kura_testing.ports._turn", 0)  # the taken one is tried first
        assert free_port() == free


@pytest.mark.parametrize("ephemeral", [1024, 20500])
def test_with_no_room_below_the_ephemeral_range_the_kernel_picks(
    ephemeral: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert worker_ports("gw0", ephemeral) == range(0)
    kernels = ephemeral_start()
    monkeypatch.setattr("kura_testing.ports.ephemeral_start", lambda: ephemeral)
    port = free_port()
    assert port >= kernels  # from the kernel's own range
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))


def test_ports_asked_for_in_a_row_are_all_different() -> None:
    # A test takes the health and the metrics port before its server binds either.
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
