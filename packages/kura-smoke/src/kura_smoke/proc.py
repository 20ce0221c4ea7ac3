"""What a local process costs on Linux: its children (from ``/proc``), its CPU time.

The gateway benchmark charges the CPU time of an nginx master's workers to the bytes they
moved. Only the workers count: the master is idle while they serve, and whatever sits behind
the gateway (the test bed's Kura node double, its control plane) is another process.
"""

from __future__ import annotations

import time
from pathlib import Path

from kura_core import InputError

PROC = Path("/proc")


def _after_command(stat: str) -> list[str]:
    # The command name is parenthesised and may contain spaces and parentheses: the fields
    # that follow start after the last ")".
    return stat.rsplit(")", 1)[-1].split()


def stat_ppid(stat: str) -> int:
    """The parent's pid from the text of ``/proc/<pid>/stat`` (field 4)."""
    return int(_after_command(stat)[1])


def children(pid: int, proc: Path = PROC) -> list[int]:
    """The pids whose parent is ``pid`` (processes that exit meanwhile are skipped)."""
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = stat_ppid((entry / "stat").read_text())
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            found.append(int(entry.name))
    return sorted(found)


def cpu_clock(pid: int) -> int:
    """The clock id of ``pid``'s CPU time, as ``clock_getcpuclockid(3)`` makes it on Linux:
    the whole process (every thread, those that exited too), on-CPU time in nanoseconds."""
    # ~pid shifted left 3, with CPUCLOCK_SCHED (2): the kernel's MAKE_PROCESS_CPUCLOCK.
    return ((~pid) << 3) | 2


def cpu_seconds(pid: int) -> float:
    """CPU time ``pid`` has used so far: what ``/proc/<pid>/stat``'s utime + stime add up
    to, at nanosecond precision rather than in clock ticks. :class:`InputError` once it is
    gone (or off Linux)."""
    try:
        return time.clock_gettime_ns(cpu_clock(pid)) / 1e9
    except OSError:
        raise InputError(f"the CPU time of process {pid} cannot be read: is it running?") from None


class WorkerCpu:
    """The CPU time of an nginx master's workers, the workers fixed when this is made."""

    def __init__(self, master: int, proc: Path = PROC) -> None:
        if not (proc / str(master) / "stat").exists():
            raise InputError(f"no process {master} on this machine (is it the nginx master?)")
        self.master = master
        self.workers = children(master, proc)
        if not self.workers:
            raise InputError(f"process {master} has no child processes: not an nginx master")

    def seconds(self) -> float:
        """CPU time the workers have used so far."""
        return sum(cpu_seconds(pid) for pid in self.workers)
