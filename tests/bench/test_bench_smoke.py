"""bench/bench_smoke.py's own logic: which CPUs the client and nginx get."""

from __future__ import annotations

from bench.bench_smoke import Pinning, split_cpus


def test_the_client_and_nginx_get_the_first_two_cpus_allowed() -> None:
    assert split_cpus({5, 1, 3}) == (1, 3)
    assert split_cpus({0, 1}) == (0, 1)
    # One CPU cannot be split: nothing is pinned, and the output says so.
    assert split_cpus({2}) is None


def test_without_pinning_nothing_is_moved() -> None:
    pinning = Pinning(wanted=False)
    assert (pinning.client, pinning.nginx) == (None, None)
    assert "not pinned" in pinning.note
