"""``kura dashboard``: the on-call TUI, or one frame of its overview without a terminal.

Only click and kura_core are imported here: every ``kura`` command loads this module through the
plugin, so textual, kubernetes and urllib3 are imported inside the command.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from pathlib import Path

import click

from kura_core import InputError, KuraContext, env_option, pass_kura

STATE_ENV = "KURA_DASHBOARD_STATE"
THRESHOLD_METRICS = {
    "saturation": "saturation",
    "p95": "p95 latency",
    "5xx": "5xx",
    "cert": "cert expiry",
}


def preferences_path() -> Path:
    """Where the sort of each view is remembered: $KURA_DASHBOARD_STATE, else XDG state."""
    if STATE_ENV in os.environ:
        return Path(os.environ[STATE_ENV])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "kura" / "dashboard.json"


def _check_url(url: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"--prometheus {url!r}: expected an http(s) URL with a host, like "
            "http://prometheus:9090"
        )


def _thresholds(texts: tuple[str, ...], *, one_frame: bool) -> tuple[object, ...]:
    from dataclasses import replace

    from kura_dashboard.data.thresholds import DEFAULT_THRESHOLDS, parse_value, without_sustain

    chosen = {t.metric: t for t in DEFAULT_THRESHOLDS}
    for text in texts:
        name, sep, values = text.partition("=")
        warn, comma, crit = values.partition(",")
        metric = THRESHOLD_METRICS.get(name.strip())
        if not sep or not comma or metric is None:
            raise InputError(
                f"--threshold {text!r}: expected NAME=WARN,CRIT with NAME one of "
                f"{', '.join(THRESHOLD_METRICS)}, like saturation=70%,90%"
            )
        base = chosen[metric]
        try:
            chosen[metric] = replace(
                base, warn=parse_value(warn, base.unit), crit=parse_value(crit, base.unit)
            )
        except ValueError as exc:
            raise InputError(f"--threshold {text!r}: {exc}") from None
    # One frame has no time to sustain a level: a threshold crossed in it is marked.
    return without_sustain(chosen.values()) if one_frame else tuple(chosen.values())


@click.command("dashboard")
@click.option(
    "--prometheus",
    "prometheus_url",
    envvar="KURA_PROMETHEUS_URL",
    default=None,
    help="Prometheus base URL (or $KURA_PROMETHEUS_URL); without it the dashboard runs on the "
    "embedded simulated fleet.",
)
@click.option(
    "--kubeconfig",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Kubeconfig to read KuraGateways and KuraInstances with (default: $KUBECONFIG, else "
    "~/.kube/config).",
)
@click.option("--context", default=None, help="Kubeconfig context (default: the current one).")
@click.option(
    "--namespace", default="kura", show_default=True, help="Namespace of the kura objects."
)
@env_option
@click.option(
    "--refresh",
    type=float,
    default=5.0,
    show_default=True,
    help="Seconds between refreshes; at least 2 (a lower value is raised to 2 with a warning).",
)
@click.option(
    "--simulate", is_flag=True, help="Use the simulated fleet (the default without --prometheus)."
)
@click.option(
    "--scenario",
    "scenario_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Simulation scenario (see `kura simulate`); with --prometheus, the capacity scenario "
    "whose shards and components the live view uses.",
)
@click.option("--seed", type=int, default=None, help="Simulation seed instead of the scenario's.")
@click.option(
    "--threshold",
    "thresholds",
    multiple=True,
    metavar="NAME=WARN,CRIT",
    help="Threshold of saturation (70%,90%), p95 (1s,3s), 5xx (1%,5%) or cert (14d,8d: time "
    "left, critical below the second); repeatable.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    help="Seconds one Prometheus, Kubernetes or cloud API request may take; no retries.",
)
@click.option(
    "--once",
    "--headless",
    "once",
    is_flag=True,
    help="Print one frame of the overview and exit 0, or 1 when a source is unreachable or data "
    "is stale (the default without a terminal).",
)
@click.option(
    "--export-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(),
    help="Where e (table export) and ctrl+s (SVG screenshot) write; default the current directory.",
)
@pass_kura
def dashboard_command(
    kura: KuraContext,
    prometheus_url: str | None,
    kubeconfig: Path | None,
    context: str | None,
    namespace: str,
    env: str,
    refresh: float,
    simulate: bool,
    scenario_file: Path | None,
    seed: int | None,
    thresholds: tuple[str, ...],
    timeout: float,
    once: bool,
    export_dir: Path,
) -> None:
    """The on-call dashboard: per-region gateway load, shard saturation, dedicated assignments.

    Without --prometheus it runs on the embedded simulated fleet (kura simulate's default
    scenario) and says SIMULATED at all times. Read-only: no key writes to the cluster. Press ?
    for every key and a glossary. Without a terminal (or with --once) it prints one frame of the
    overview to stdout, with every threshold crossed in that frame marked (no sustain time), and
    exits 0, or 1 when a source is unreachable or a region's data is stale.

    Live, each region's load balancer traffic is read from its cloud when the load-balancer
    provider can and its credentials are set (hetzner: HCLOUD_TOKEN and HCLOUD_ENDPOINT, read at
    most once a minute).
    """
    from kura_dashboard.data.refresh import clamp_interval
    from kura_dashboard.wiring import DashboardOptions, wire

    if simulate and prometheus_url:
        raise InputError("--simulate and --prometheus exclude each other")
    if prometheus_url is not None:
        _check_url(prometheus_url)
    one_frame = once or not (sys.stdout.isatty() and sys.stdin.isatty())
    interval, warning = clamp_interval(refresh)
    if warning:
        click.echo(f"kura: warning: {warning}", err=True)
    options = DashboardOptions(
        env=env,
        prometheus_url=prometheus_url,
        kubeconfig=kubeconfig,
        context=context,
        namespace=namespace,
        interval=interval,
        scenario_file=scenario_file,
        seed=seed,
        timeout=timeout,
        thresholds=_thresholds(thresholds, one_frame=one_frame),  # type: ignore[arg-type]
        environ=dict(os.environ),
    )
    wiring = wire(kura, options, time.time)
    if one_frame:
        from kura_core import console
        from kura_dashboard.frame import frame_problems, render_frame

        wiring.state.apply(wiring.collector.collect(force=True))
        out = console()
        now = time.time()
        out.print(
            render_frame(
                wiring.state,
                now,
                env=env,
                simulated=wiring.simulated,
                label=wiring.label,
                width=out.width,
            )
        )
        problems = frame_problems(wiring.state, now)
        if problems:
            # A frame for CI or a script: trouble with the data is a failed check, exit 1.
            click.echo(f"kura: {'; '.join(problems)}", err=True)
            click.get_current_context().exit(1)
        return
    from kura_dashboard.app import KuraDashboard

    # What exists by now (modules, plugins, the topology) lives as long as the process. A
    # refresh's answers are a few tens of thousands of short-lived objects, enough to set off a
    # full collection every few refreshes; frozen, the startup heap is not scanned again (at
    # 506 gateways a full collection rescanned it for about 10 ms a refresh on average).
    gc.freeze()
    KuraDashboard(
        wiring.collector,
        wiring.state,
        env=env,
        simulated=wiring.simulated,
        metric_window=wiring.metric_window,
        interval=interval,
        export_dir=export_dir,
        preferences_path=preferences_path(),
        notices=(warning,) if warning else (),
    ).run()
