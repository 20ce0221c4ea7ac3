"""``kura_smoke.testbed.nginx.Nginx``: a scratch master is ready when it listens *and* has forked.

A stand-in master plays the part nginx plays at startup: it binds its port, and only later forks
its workers. The kernel accepts connections on the bound port meanwhile, so a port that answers
is not yet an nginx that serves.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

import pytest

from kura_core import InputError
from kura_smoke.proc import children
from kura_smoke.testbed.nginx import Nginx
from kura_smoke.testbed.nginx_config import Layout
from kura_testing.ports import free_port

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="Linux /proc only")

# ``-t`` checks the config; otherwise listen on the port the config names, wait, fork the
# workers, and sleep until terminated (the default SIGTERM action ends it, as nginx's fast
# shutdown does).
STAND_IN = """\
import socket, subprocess, sys, time
args = sys.argv[1:]
if "-t" in args:
    sys.exit(0)
port, workers, fork_after = open(args[args.index("-c") + 1]).read().split()
listener = socket.create_server(("127.0.0.1", int(port)))
time.sleep(float(fork_after))
sleepers = [subprocess.Popen(["sleep", "60"]) for _ in range(int(workers))]
time.sleep(60)
"""


def _stand_in(tmp_path: Path, *, workers: int, fork_after: float) -> tuple[Nginx, int]:
    binary = tmp_path / "nginx"
    binary.write_text(f"#!{sys.executable}\n{STAND_IN}", encoding="utf-8")
    binary.chmod(0o755)
    port = free_port()
    layout = Layout(root=tmp_path / "root", cert=tmp_path / "c.pem", key=tmp_path / "k.pem")
    return Nginx(str(binary), layout, f"{port} {workers} {fork_after}"), port


def _stop_with_workers(nginx: Nginx) -> None:
    # The stand-in's workers outlive it (real nginx workers exit with their master).
    workers = children(nginx.pid) if nginx.pid is not None else []
    nginx.stop()
    for worker in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker, signal.SIGKILL)


def test_start_returns_once_every_worker_is_forked_not_when_the_port_first_answers(
    tmp_path: Path,
) -> None:
    nginx, port = _stand_in(tmp_path, workers=2, fork_after=0.5)
    try:
        nginx.start([("127.0.0.1", port)], workers=2)
        assert nginx.pid is not None
        assert len(children(nginx.pid)) == 2
    finally:
        _stop_with_workers(nginx)


def test_a_master_that_never_forks_is_one_clear_error_and_is_stopped(tmp_path: Path) -> None:
    nginx, port = _stand_in(tmp_path, workers=0, fork_after=0)
    with pytest.raises(InputError, match="did not start its 1 worker"):
        nginx.start([("127.0.0.1", port)], workers=1, timeout=1.0)
    assert not nginx.running
