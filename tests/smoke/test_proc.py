"""``kura_smoke.proc``: a local process's children and CPU time, as the gateway bench reads them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kura_core import InputError
from kura_smoke.proc import WorkerCpu, children, cpu_seconds, stat_ppid

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="Linux /proc only")


def test_the_parent_is_read_after_the_command_name_whatever_it_holds() -> None:
    assert stat_ppid("1234 (nginx) S 77 1234 1234 0 -1") == 77
    # A command may contain spaces and parentheses; the fields follow the last ")".
    assert stat_ppid("1234 (a) b (c) S 99 1234 1234 0 -1") == 99


@pytest.fixture
def master() -> Iterator[subprocess.Popen[bytes]]:
    """A shell with two children that burn CPU until killed, as a master has workers."""
    burn = f"{sys.executable} -c 'while True: pass'"
    process = subprocess.Popen(["sh", "-c", f"{burn} & {burn} & wait"])
    deadline = time.monotonic() + 30
    while len(children(process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    yield process
    for pid in children(process.pid):
        os.kill(pid, 9)
    process.kill()
    process.wait()


def test_the_workers_are_the_children_and_their_cpu_time_adds_up(
    master: subprocess.Popen[bytes],
) -> None:
    workers = WorkerCpu(master.pid)
    assert workers.workers == children(master.pid)
    assert len(workers.workers) == 2
    assert master.pid not in workers.workers
    first = workers.seconds()
    each = [cpu_seconds(pid) for pid in workers.workers]
    later = workers.seconds()
    # Every reading is the same clock going forward: the sum sits between two sums.
    assert 0 < first <= sum(each) <= later


def test_cpu_time_is_the_process_cpu_clock() -> None:
    before = time.process_time()
    ours = cpu_seconds(os.getpid())
    after = time.process_time()
    assert before <= ours <= after


def test_a_process_that_is_gone_is_one_clear_error() -> None:
    gone = subprocess.Popen(["sleep", "30"])
    gone.kill()
    gone.wait()
    with pytest.raises(InputError, match=f"process {gone.pid} cannot be read"):
        cpu_seconds(gone.pid)
    with pytest.raises(InputError, match=f"no process {gone.pid} on this machine"):
        WorkerCpu(gone.pid)


def test_a_process_without_children_is_no_master() -> None:
    with subprocess.Popen(["sleep", "30"]) as childless:
        try:
            with pytest.raises(InputError, match="has no child processes: not an nginx master"):
                WorkerCpu(childless.pid)
        finally:
            childless.kill()
