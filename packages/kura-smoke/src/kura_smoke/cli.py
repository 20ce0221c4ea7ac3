"""``kura smoke run|bench|testbed``.

This module is imported when ``kura`` builds its command line, so it stays light: the
Kubernetes client, httpx, cryptography and the test bed are imported inside the commands.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Group, RenderableType
from rich.text import Text

from kura_core import (
    ACCOUNT_ID,
    DATA_SIZE,
    NON_EMPTY,
    CheckFailed,
    ClosableStdout,
    DataSize,
    InputError,
    KuraContext,
    QuantityType,
    emit,
    env_option,
    output_option,
    pass_kura,
    simple_table,
    to_plain,
)
from kura_smoke.budget import SMOKE_POLL_SECONDS, SMOKE_WAIT_SECONDS

if TYPE_CHECKING:
    from kura_smoke.bench import BenchReport, Efficiency
    from kura_smoke.report import SmokeReport, StepResult
    from kura_smoke.testbed.bed import TestBedInfo

_F = TypeVar("_F", bound=Callable[..., Any])
DEFAULT_REGION = "eu-central"


# What the bench's help promises: big enough to measure throughput, small enough to hold.
BENCH_SIZE = QuantityType(DataSize, low=DataSize.parse("1MiB"), high=DataSize.parse("2GiB"))


def _human(size: int) -> str:
    units = (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))
    unit = next((name for name, factor in units if size >= factor), "B")
    return DataSize(float(size)).human(unit)


def _output(output: str, as_json: bool) -> str:
    return "json" if as_json else output


def json_option(func: _F) -> _F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Same as -o json: one JSON event per line."
    )(func)


def endpoint_options(*, http2: bool) -> Callable[[_F], _F]:
    """How the public endpoints are reached: pins, port, CA, token, HTTP version, timeout."""
    return lambda func: _endpoint_options(func, http2_default=http2)


def _endpoint_options(func: _F, *, http2_default: bool) -> _F:
    for option in reversed(
        [
            click.option(
                "--resolve",
                "resolves",
                multiple=True,
                metavar="HOST:PORT:ADDR",
                help="Connect HOST:PORT to ADDR, keeping Host, SNI and TLS checks (as curl).",
            ),
            click.option("--port", type=click.IntRange(1, 65535), default=443, show_default=True),
            click.option(
                "--ca-file",
                type=click.Path(path_type=Path, dir_okay=False, exists=True),
                help="PEM CA bundle to verify the gateway with (default: the system's).",
            ),
            click.option(
                "--token-file",
                type=click.Path(path_type=Path, dir_okay=False),
                help="File holding the bearer token (default: $KURA_SMOKE_TOKEN).",
            ),
            click.option(
                "--http2/--http1",
                "http2",
                default=http2_default,
                show_default=True,
                help="Offer HTTP/2 (ALPN) or speak HTTP/1.1 only.",
            ),
            click.option(
                "--timeout",
                type=click.FloatRange(min=0, min_open=True),
                default=30.0,
                show_default=True,
                help="Seconds each connect, read or write may take.",
            ),
        ]
    ):
        func = option(func)
    return func


@click.group("smoke")
def smoke_group() -> None:
    """Smoke checks and benchmarks of Kura's cache gateways."""


# --- run -----------------------------------------------------------------------------------------


def _run_tables(report: SmokeReport) -> RenderableType:
    parts: list[RenderableType] = []
    for mode in report.modes:
        pinned = f" via {mode.pinned_address}" if mode.pinned_address else ""
        parts.append(
            simple_table(
                f"{mode.mode.value}: {mode.account} at {mode.host}{pinned}",
                ["STEP", "STATUS", "SECONDS", "DETAIL"],
                [
                    [
                        step.step.value,
                        step.status.value.upper(),
                        f"{step.seconds:.2f}",
                        step.message,
                    ]
                    for step in mode.steps
                ],
            )
        )
    for step in report.failures():
        parts.append(
            f"[bold red]FAILED[/] {step.mode.value}/{step.step.value}: {step.message}\n"
            f"  expected: {step.expected}\n  got: {step.got}\n  likely cause: {step.cause}"
        )
    verdict = "[bold green]PASSED[/]" if report.passed else "[bold red]FAILED[/]"
    parts.append(f"smoke run {report.run_id}: {verdict}")
    return Group(*parts)


@smoke_group.command("run")
@click.option(
    "--mode",
    type=click.Choice(["regional", "dedicated", "both"]),
    default="both",
    show_default=True,
    help="Which gateway paths to test; one result per mode.",
)
@env_option
@click.option("--region", "region_id", default=DEFAULT_REGION, show_default=True)
@click.option("--regional-account", default="kura-smoke-regional", show_default=True)
@click.option("--regional-account-id", type=ACCOUNT_ID)
@click.option("--dedicated-account", default="kura-smoke-dedicated", show_default=True)
@click.option(
    "--dedicated-account-id",
    type=ACCOUNT_ID,
    help="Account ids name dedicated gateways; required with the cluster steps.",
)
@click.option("--namespace", default="kura", show_default=True)
@click.option("--image", type=NON_EMPTY, help="Kura runtime image of a provisioned instance.")
@click.option("--no-provision", is_flag=True, help="Use the existing KuraInstance.")
@click.option("--keep", is_flag=True, help="Leave the provisioned objects in place.")
@click.option(
    "--no-cluster",
    is_flag=True,
    help="Skip the platform, provision, wait and clean-up steps: test the endpoints only.",
)
@click.option("--kubeconfig", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--context", "kube_context")
@click.option("--ingress-class", help="Regional IngressClass (default kura-<region>).")
@click.option("--regional-gateway", metavar="NS/NAME", help="Regional gateway Deployment+Service.")
@click.option(
    "--operator", metavar="NS/NAME", help="Operator Deployment (default kura/kura-operator)."
)
@click.option("--shared-secret", metavar="NS/NAME", help="Default kura/kura-shared-secrets.")
@click.option(
    "--check-gateway-address",
    is_flag=True,
    help="The host must resolve (or be pinned) to the gateway's load-balancer address.",
)
# Smoke checks offer HTTP/2 as clients do; the bench defaults to HTTP/1.1 because the Python h2
# stack, not the gateway, would bound its figures (its stream window is 64 KiB).
@endpoint_options(http2=True)
@click.option(
    "--size", type=DATA_SIZE, default="64KiB", show_default=True, help="Round-trip payload size."
)
@click.option(
    "--ready-timeout",
    type=click.FloatRange(min=0),
    default=SMOKE_WAIT_SECONDS,
    show_default=True,
    help="Seconds /ready may take to answer ready.",
)
@click.option(
    "--wait-timeout",
    type=click.FloatRange(min=0),
    default=SMOKE_WAIT_SECONDS,
    show_default=True,
    help="Seconds the instance (and gateway) may take to become Ready.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0, min_open=True),
    default=SMOKE_POLL_SECONDS,
    show_default=True,
    help="Seconds between polls.",
)
@click.option("--seed", type=int, help="Payload seed, to repeat a run's bytes (default random).")
@click.option("--junit", type=click.Path(path_type=Path, dir_okay=False), help="Write JUnit XML.")
@output_option
@json_option
@pass_kura
def run_command(kura: KuraContext, /, **options: Any) -> None:
    """Prove that the smoke accounts reach Kura through the gateways policy gives them.

    Per mode: platform, provision, wait-gateway (dedicated), wait-instance, wait-ingress, dns,
    ready, cas-roundtrip, gradle-roundtrip, auth-no-token, auth-bogus-token, cleanup. Exit 0
    only when no step failed.

    -o json prints one event per step as it finishes: {event (the step), mode, status
    (passed|failed|skipped), seconds, host, pinned_address, message, expected, got, cause},
    then {event: summary, run_id, passed, modes, failed_steps}. -o yaml prints the whole
    report. The token never appears in any output.
    """
    from kura_smoke.run_setup import build_run

    output = _output(options.pop("output"), options.pop("as_json"))
    options["size"] = int(options["size"].bytes)
    junit: Path | None = options.pop("junit")
    stdout_tty = sys.stdout.isatty()
    stdout = ClosableStdout()

    def on_step(result: StepResult) -> None:
        if output == "json":
            from kura_smoke.report import step_event

            stdout.write(lambda: click.echo(json.dumps(step_event(result))))

    run = build_run(kura, options, output=output, stdout_is_tty=stdout_tty, on_step=on_step)
    report = run.run()
    redact = run.redact
    if output == "json":
        from kura_smoke.report import summary_event

        stdout.write(lambda: click.echo(redact(json.dumps(summary_event(report)))))
    else:
        stdout.write(lambda: emit(report, output, lambda: _run_tables(report)))
    if junit is not None:
        from kura_smoke.junit import junit_xml

        junit.write_text(redact(junit_xml(report)), encoding="utf-8")
    if stdout.closed:
        kept = f"the JUnit report is in {junit}" if junit else "--junit FILE keeps a report"
        verdict = "passed" if report.passed else "failed"
        click.echo(f"kura: warning: stdout was closed early; the run {verdict}, {kept}", err=True)
    if not report.passed:
        raise CheckFailed(
            [f"{step.mode.value}/{step.step.value}: {step.message}" for step in report.failures()]
        )


# --- bench ---------------------------------------------------------------------------------------


def _bench_table(report: BenchReport) -> RenderableType:
    spread = report.rounds > 1
    cpu = report.gateway_pid is not None
    figures = simple_table(
        f"Throughput via {report.host}"
        + (f" ({report.pinned_address})" if report.pinned_address else "")
        + f", concurrency {report.concurrency}"
        + (f", median of {report.rounds} rounds" if spread else ""),
        [
            "PATH",
            "DIRECTION",
            "SIZE",
            "MB/S",
            *(["MB/S RANGE"] if spread else []),
            "GBPS",
            *(["CPU S/GB"] if cpu else []),
            "TTFB P50",
            "TTFB P95",
            "ERRORS",
        ],
        [
            [
                f.path,
                f.direction,
                _human(f.size),
                f"{f.mb_per_s:.1f}",
                *([f"{f.mb_per_s_min:.1f}-{f.mb_per_s_max:.1f}"] if spread else []),
                f"{f.gbps:.3f}",
                *([f"{f.cpu_s_per_gb:.3f}" if f.cpu_s_per_gb is not None else "-"] if cpu else []),
                f"{f.ttfb_p50 * 1000:.1f} ms" if f.ttfb_p50 is not None else "-",
                f"{f.ttfb_p95 * 1000:.1f} ms" if f.ttfb_p95 is not None else "-",
                f"{f.errors}" + (f" ({'; '.join(f.problems)})" if f.problems else ""),
            ]
            for f in report.figures
        ],
    )
    parts: list[RenderableType] = [figures]
    if cpu:
        parts.append(
            f"CPU S/GB: CPU seconds of the gateway's nginx workers (master {report.gateway_pid}) "
            "per GB moved"
        )
    if report.efficiency:
        parts.append(
            simple_table(
                "Relay efficiency (gateway download / disk download"
                + (", median of the per-round ratios)" if spread else ")"),
                [
                    "SIZE",
                    "THROUGHPUT",
                    *(["RANGE"] if spread else []),
                    "CPU",
                    *(["RANGE"] if spread else []),
                ],
                [_efficiency_row(e, spread=spread) for e in report.efficiency],
            )
        )
        if cpu:
            parts.append("CPU: the disk's worker CPU per GB over the gateway's")
    parts.append(f"client peak RSS: {report.client_peak_rss_mib:.1f} MiB")
    return Group(*parts)


def _efficiency_row(efficiency: Efficiency, *, spread: bool) -> list[str]:
    row = [_human(efficiency.size)]
    for figure in (efficiency.throughput, efficiency.cpu):
        row.append(f"{figure.median:.3f}" if figure is not None else "-")
        if spread:
            row.append(f"{figure.low:.3f}-{figure.high:.3f}" if figure is not None else "-")
    return row


@smoke_group.command("bench")
@click.option("--host", required=True, help="Public Kura host behind the gateway.")
@click.option("--account", required=True, help="Tenant (account handle) to upload as.")
@endpoint_options(http2=False)
@click.option(
    "--size",
    "sizes",
    type=BENCH_SIZE,
    multiple=True,
    default=("1MiB", "64MiB"),
    show_default=True,
    help="Artifact size; repeat for several (1MiB to 2GiB).",
)
@click.option("--concurrency", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--disk",
    metavar="URL",
    help="The host's stored artifacts served from disk by the gateway's own nginx over the same "
    "TLS (https://HOST:PORT; kura smoke testbed --from-disk's disk_port), for the relay "
    "efficiency. --resolve pins it too.",
)
@click.option(
    "--gateway-pid",
    type=click.IntRange(min=1),
    metavar="PID",
    help="The gateway's nginx master, on this machine (Linux): its workers' CPU time per phase, "
    "as CPU seconds per GB (kura smoke testbed's nginx_pid).",
)
@click.option(
    "--rounds",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Run everything this many times, alternating which download goes first; report medians.",
)
@click.option("--seed", type=int, help="Payload seed (default random).")
@output_option
@json_option
def bench_command(**options: Any) -> None:
    """Measure upload and download throughput through a gateway, and what relaying costs.

    Each round uploads through the gateway, then downloads through it and, with --disk, from
    the same nginx serving the stored file (gateway first in even rounds, disk first in odd
    ones, so load drift and a disk still writing back hit both). Each figure is the round with
    the median throughput (the lower middle one for an even N), with transfers, errors, bytes
    and CPU time summed over the rounds and the slowest and fastest rounds beside it. The relay
    efficiency is per round, gateway over disk throughput and, with --gateway-pid, disk over
    gateway worker CPU per GB; its median round and range are reported.

    -o json prints {host, pinned_address, disk, gateway_pid, concurrency, rounds, figures:
    [{path, direction, size, transfers, errors, bytes, seconds, mb_per_s, gbps, ttfb_p50,
    ttfb_p95, problems, rounds, mb_per_s_min, mb_per_s_max, cpu_seconds, cpu_s_per_gb}],
    efficiency: [{size, throughput: {median, low, high, rounds}, cpu}], client_peak_rss_mib}.
    Exit 1 when a transfer failed.
    """
    from kura_smoke.run_setup import build_bench

    output = _output(options.pop("output"), options.pop("as_json"))
    options["sizes"] = tuple(int(size.bytes) for size in options["sizes"])
    report = build_bench(options, output=output, stdout_is_tty=sys.stdout.isatty())
    if output == "json":
        click.echo(json.dumps(to_plain(report), indent=2))
    else:
        emit(report, output, lambda: _bench_table(report))
    if report.errors:
        raise CheckFailed([f"{report.errors} transfer(s) failed"])


# --- testbed -------------------------------------------------------------------------------------


def launcher(environ: Mapping[str, str]) -> list[str]:
    """How the user ran ``kura``: ``uv run`` sets ``UV``, and a fresh clone has ``kura`` only
    through ``uv run``, not on PATH."""
    return ["uv", "run", "kura"] if "UV" in environ else ["kura"]


def pasteable(argv: Sequence[str]) -> str:
    """``argv`` quoted for a POSIX shell, one option per line with ``\\`` continuations."""
    lines: list[list[str]] = [[]]
    for arg in argv:
        if arg.startswith("-"):
            lines.append([])
        lines[-1].append(arg)
    return " \\\n    ".join(shlex.join(line) for line in lines if line)


def _testbed_table(info: TestBedInfo) -> RenderableType:
    plain = f", http :{info.plain_port}" if info.plain_port is not None else ""
    disk = f", disk :{info.disk_port}" if info.disk_port is not None else ""
    rows = [
        [
            mode.value,
            info.accounts[mode],
            info.hosts[mode],
            f"{info.addresses[mode]}:{info.port}{plain}{disk}",
        ]
        for mode in info.hosts
    ]
    return Group(
        simple_table(
            f"kura smoke test bed ({info.env}/{info.region})",
            ["MODE", "ACCOUNT", "HOST", "GATEWAY (nginx)"],
            rows,
        ),
        f"CA: {info.ca_file}\ntoken file: {info.token_file}\nnginx pid {info.nginx_pid}, "
        f"config {info.nginx_conf}\nsmoke it with:",
        # Never wrapped at the terminal's edge: pasted, a wrapped line would split an argument.
        Text(pasteable(info.smoke_command), no_wrap=True, overflow="ignore"),
    )


def _key_values(pairs: Sequence[str]) -> dict[str, str]:
    found = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--nginx-key {pair!r}: expected KEY=VALUE")
        found[key] = value
    return found


@smoke_group.command("testbed")
@env_option
@click.option("--region", "region_id", default=DEFAULT_REGION, show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="0: a free port.")
@click.option("--regional-address", default="127.0.0.1", show_default=True)
@click.option("--dedicated-address", default="127.0.0.2", show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--plain-http",
    is_flag=True,
    help="Also serve every host over plain HTTP on another port (plain_port), as ingress-nginx's "
    "port 80 does with ssl-redirect off: the relay without TLS, for benchmarks.",
)
@click.option(
    "--from-disk",
    is_flag=True,
    help="Also serve every host's stored artifacts from disk (disk_port), from the same nginx "
    "worker over TLS set up as the gateway's: relaying against serving, for benchmarks.",
)
@click.option(
    "--nginx-key",
    "nginx_keys",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a gateway ConfigMap key on both gateways, e.g. proxy-buffer-size=4k.",
)
@click.option(
    "--directory",
    type=click.Path(path_type=Path, file_okay=False),
    help="Scratch directory (default: a new temporary one, removed at exit).",
)
@click.option(
    "--info-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the connection info as JSON here once everything listens.",
)
@click.option(
    "--for",
    "duration",
    type=click.FloatRange(min=0),
    help="Run this many seconds, then stop (default: until interrupted).",
)
@output_option
@pass_kura
def testbed_command(kura: KuraContext, /, **options: Any) -> None:
    """Run a local Kura region: control plane, two Kura nodes, the real nginx as both gateways.

    The gateways use the region's ingress provider's own keys, translated to nginx directives;
    TLS comes from a fresh local CA. -o json prints {region, env, port, plain_port, disk_port,
    hosts, addresses, accounts, account_ids, ca_file, token_file, nodes, control_plane,
    nginx_pid, nginx_conf, smoke_command}; the token itself is only in token_file.
    """
    from kura_smoke.run_setup import serve_testbed

    def ready(info: TestBedInfo) -> None:
        emit(info, options["output"], lambda: _testbed_table(info))
        if options["info_file"] is not None:
            options["info_file"].write_text(info.model_dump_json(indent=2), encoding="utf-8")
        sys.stdout.flush()

    serve_testbed(
        kura,
        options,
        nginx_keys=_key_values(options["nginx_keys"]),
        launcher=launcher(os.environ),
        on_ready=ready,
    )
