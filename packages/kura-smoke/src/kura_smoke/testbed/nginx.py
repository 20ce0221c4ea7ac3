"""The real Debian ``nginx`` as a scratch process: started, watched and stopped by its PID.

A scratch instance must not touch the system's files: it gets ``-p`` (prefix), ``-c`` (config)
and ``-e`` (error log: nginx opens its compiled-in default before it reads the config), and the
config sets the pid file and every ``*_temp_path``, which otherwise point at system paths. The
master runs in the foreground (``daemon off``), so the process started is the one stopped.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from kura_core import InputError
from kura_smoke.proc import children
from kura_smoke.testbed.nginx_config import Layout

SPOOLING_MARK = "buffered to a temporary file"
SYSTEM_BINARY = Path("/usr/sbin/nginx")


def find_nginx() -> str | None:
    """``nginx`` on PATH, or Debian's /usr/sbin/nginx (not on PATH for non-root users)."""
    found = shutil.which("nginx")
    if found is None and SYSTEM_BINARY.is_file():
        found = str(SYSTEM_BINARY)
    return found


def nginx_version(binary: str) -> tuple[int, ...]:
    result = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=30, check=False)
    match = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", result.stderr + result.stdout)
    if match is None:
        raise InputError(f"{binary} -v did not print an nginx version")
    return tuple(int(part) for part in match.groups())


def supports_http2_directive(version: tuple[int, ...]) -> bool:
    """``http2 on;`` exists from nginx 1.25.1; older ones take ``listen ... http2``."""
    return version >= (1, 25, 1)


def _proc_kib(pid: int, field: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def _accepts(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


class Nginx:
    """One scratch nginx with its config written under ``layout.root``."""

    def __init__(self, binary: str, layout: Layout, conf: str) -> None:
        self.binary = binary
        self.layout = layout
        self.conf_path = layout.root / "nginx.conf"
        self._conf = conf
        self._process: subprocess.Popen[bytes] | None = None

    def _args(self, *extra: str) -> list[str]:
        return [
            self.binary,
            "-p",
            str(self.layout.root),
            "-c",
            str(self.conf_path),
            "-e",
            str(self.layout.error_log),
            *extra,
        ]

    def write(self) -> None:
        self.layout.root.mkdir(parents=True, exist_ok=True)
        self.layout.error_log.parent.mkdir(parents=True, exist_ok=True)
        for path in self.layout.temp_dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(self._conf, encoding="utf-8")

    def check(self) -> None:
        """``nginx -t``; an :class:`InputError` with nginx's own words when it refuses."""
        result = subprocess.run(
            self._args("-t", "-q"), capture_output=True, text=True, timeout=30, check=False
        )
        if result.returncode != 0:
            raise InputError(f"nginx refused the test bed config: {result.stderr.strip()}")

    def start(
        self, listening: Iterable[tuple[str, int]], *, workers: int = 1, timeout: float = 10.0
    ) -> None:
        """Start the master and wait until every ``(address, port)`` accepts connections and
        the master has forked its ``workers``.

        The master binds the sockets before it forks, so the kernel accepts connections into
        the backlog while there is no worker yet: a port that answers is not an nginx that
        serves, and whoever measures the workers' CPU right away would find none."""
        self.write()
        self.check()
        log = (self.layout.root / "logs" / "nginx.out").open("ab")
        with log:
            process = self._process = subprocess.Popen(
                self._args(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + timeout
        for address, port in listening:
            self._wait(
                process, partial(_accepts, address, port), deadline, f"listen on {address}:{port}"
            )
        self._wait(
            process,
            lambda: len(children(process.pid)) >= workers,
            deadline,
            f"start its {workers} worker process(es)",
        )

    def _wait(
        self,
        process: subprocess.Popen[bytes],
        done: Callable[[], bool],
        deadline: float,
        what: str,
    ) -> None:
        """Until ``done``; an :class:`InputError` with nginx's error log if the master exits,
        or saying what it did not do by ``deadline`` (and stopped)."""
        while not done():
            if process.poll() is not None:
                raise InputError(
                    f"nginx exited with {process.returncode}: "
                    f"{self.layout.error_log.read_text(errors='replace')[-2000:]}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise InputError(f"nginx did not {what}")
            time.sleep(0.02)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        """Fast shutdown (SIGTERM) of this master, then its workers go with it."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self._process = None

    # --- what nginx used -----------------------------------------------------------------------

    def memory_kib(self) -> dict[str, int]:
        """Resident and peak resident memory (KiB) of the master and its workers, summed."""
        if self.pid is None:
            return {"rss": 0, "peak_rss": 0, "workers": 0}
        pids = [self.pid, *children(self.pid)]
        return {
            "rss": sum(_proc_kib(pid, "VmRSS") for pid in pids),
            "peak_rss": sum(_proc_kib(pid, "VmHWM") for pid in pids),
            "workers": len(pids) - 1,
        }

    def temp_bytes(self) -> int:
        """Bytes in every temp directory now: anything above zero is spooling."""
        total = 0
        for directory in self.layout.temp_dirs.values():
            for root, _, files in os.walk(directory):
                for name in files:
                    try:
                        total += (Path(root) / name).stat().st_size
                    except FileNotFoundError:
                        continue
        return total

    def spooling_lines(self) -> list[str]:
        """Error-log lines where nginx said it buffered a body to a temporary file."""
        try:
            text = self.layout.error_log.read_text(errors="replace")
        except FileNotFoundError:
            return []
        return [line for line in text.splitlines() if SPOOLING_MARK in line]
