"""``kura-envtest``: build the real control plane once, then run it for tests and tools.

Scripts outside the project rely on exactly this interface::

    kura-envtest install
    kura-envtest up --kubeconfig FILE [--audit-log FILE]
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

import click

from kura_testing.build import BuildError, install
from kura_testing.control_plane import ControlPlane, ControlPlaneError
from kura_testing.release import Binaries, BinariesMissing


def _say(line: str) -> None:
    click.echo(line, err=True)


@click.group()
@click.version_option(package_name="kura-testing")
def cli() -> None:
    """A real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager) on
    127.0.0.1, built from the Go module proxy."""


@cli.command("install")
@click.option("--force", is_flag=True, help="Rebuild even when a complete build is cached.")
def install_command(force: bool) -> None:
    """Build the binaries into the per-version cache (reused when complete)."""
    install(Binaries.cached(), say=_say, force=force)


@cli.command("path")
def path_command() -> None:
    """Print the directory of the cached binaries (exit 1 when they are not built)."""
    click.echo(Binaries.cached().require().directory)


@cli.command("up")
@click.option(
    "--kubeconfig",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Where to write the admin kubeconfig.",
)
@click.option(
    "--audit-log",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the API server's audit log of every write request here (JSON lines, Metadata).",
)
@click.option("--audit-reads", is_flag=True, help="Audit reads too (with --audit-log).")
def up_command(kubeconfig: Path, audit_log: Path | None, audit_reads: bool) -> None:
    """Start the control plane, print `ready`, and run until SIGTERM, SIGINT or the parent exits."""
    stop = False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    parent = os.getppid()
    started = time.monotonic()
    with ControlPlane(Binaries.cached(), audit_log=audit_log, audit_reads=audit_reads) as plane:
        plane.write_kubeconfig(kubeconfig.resolve())
        _say(f"kura-envtest: {plane.url} ready in {time.monotonic() - started:.1f} s")
        click.echo("ready")
        sys.stdout.flush()
        while not stop and os.getppid() == parent:
            plane.check_alive()
            time.sleep(0.5)


def main() -> None:
    try:
        cli.main(prog_name="kura-envtest", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        sys.exit(130)
    except (BuildError, BinariesMissing, ControlPlaneError, TimeoutError) as exc:
        click.echo(f"kura-envtest: error: {exc}", err=True)
        sys.exit(1)
