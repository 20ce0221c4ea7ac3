"""The real Debian ``prometheus`` on loopback, loaded with gateway series by ``promtool``.

``ingress_nginx_openmetrics`` writes counters that grow linearly (so every ``rate()`` is an exact,
known figure), a request-duration histogram whose percentiles are known, config reloads at known
times and certificates with known expiries, labelled as ingress-nginx labels them (the
certificate gauge carries ``class`` but none of the controller's constant labels, and every
series the ``instance`` and ``job`` of its scrape target). ``envoy_openmetrics`` writes the same
loads as Envoy's own statistics of an Envoy Gateway proxy, as Prometheus's pod scrape labels them
(the Gateway's name from the pod label ``gateway.envoyproxy.io/owning-gateway-name``), with
Envoy Gateway's own readiness listener answering probes beside the traffic. ``promtool tsdb
create-blocks-from openmetrics`` turns them into blocks and ``PrometheusServer`` serves them;
``prometheus_with_rules`` adds what a rule file's recording rules record, evaluated by
``promtool tsdb create-blocks-from rules``, and loads the rules. ``prometheus_scraping`` starts
a Prometheus that scrapes given series (``exposition_of`` another's, say) into its head, where a
live Prometheus keeps its last hours, rather than reading them from blocks. PID 1
is not systemd here, so the binary is started by hand: scratch directories, a free loopback port,
a long retention (the samples are old), and queries at a ``time`` inside the data.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import yaml

from kura_testing.client import wait_for
from kura_testing.loopback import LoopbackServer
from kura_testing.ports import free_port

PREFIX = "nginx_ingress_controller_"
# Seconds since the epoch: 2023-11-14, far from now, so only a pinned query time finds it.
T0 = 1_700_000_000
# The job of the loopback target :func:`prometheus_scraping` scrapes: its series carry it.
SCRAPE_JOB = "exposition"
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0)


# Before the first reload of the series, the last successful one was a day earlier.
EARLIER_RELOAD = 86_400


@dataclass(frozen=True)
class PodLoad:
    """What one controller pod does each second; the histogram shares are cumulative. Reload
    and certificate times are seconds after the start of the series."""

    requests_ok: float = 3.0
    requests_5xx: float = 0.0
    requests_4xx: float = 0.0
    bytes_in: float = 1e6
    bytes_out: float = 4e6
    active_connections: float = 40.0
    # Share of requests at or below each DURATION_BUCKETS bound (cumulative, then +Inf = 1).
    duration_shares: tuple[float, ...] = (0.5, 0.8, 0.9, 1.0)
    # (seconds after the start, succeeded) of each config reload.
    reloads: tuple[tuple[int, bool], ...] = ()
    # When each TLS certificate the pod serves expires (one host each).
    cert_expiries: tuple[int, ...] = ()

    @property
    def requests(self) -> float:
        return self.requests_ok + self.requests_5xx + self.requests_4xx

    def reload_state(self, elapsed: int) -> tuple[bool, int]:
        """Whether the last reload by ``elapsed`` succeeded, and when the last success was."""
        done = [(at, ok) for at, ok in sorted(self.reloads) if at <= elapsed]
        succeeded = [at for at, ok in done if ok]
        return (done[-1][1] if done else True), (succeeded[-1] if succeeded else -EARLIER_RELOAD)


def _line(name: str, labels: Mapping[str, str], value: float, at: int, prefix: str = PREFIX) -> str:
    text = ",".join(f'{key}="{val}"' for key, val in labels.items())
    return f"{prefix}{name}{{{text}}} {value!r} {at}"


def ingress_nginx_openmetrics(
    gateways: Mapping[str, Sequence[PodLoad]],
    *,
    start: int = T0,
    minutes: int = 30,
    step: int = 15,
) -> str:
    """OpenMetrics text of ingress-nginx controller series: ``gateways`` maps a controller
    class to its pods' loads. Counters start high so ``rate()`` never meets a reset."""
    times = range(start, start + minutes * 60 + 1, step)
    families: dict[str, list[str]] = {
        "requests counter": [],
        "request_size histogram": [],
        "response_size histogram": [],
        "request_duration_seconds histogram": [],
        "nginx_process_connections gauge": [],
        "config_last_reload_successful gauge": [],
        "config_last_reload_successful_timestamp_seconds gauge": [],
        "ssl_expire_time_seconds gauge": [],
        "build_info gauge": [],
    }
    for controller_class, pods in gateways.items():
        for number, pod in enumerate(pods):
            name = f"{controller_class.split('/')[-1]}-{number}"
            target = {"instance": f"{name}.kura.svc:10254", "job": "ingress-nginx"}
            base = {
                "controller_namespace": "kura",
                "controller_class": controller_class,
                "controller_pod": name,
            } | target
            for at in times:
                _samples(families, base, pod, at, at - start)
                _controller(families, base, target, pod, at, start)
    return _text(PREFIX, families)


def _samples(
    families: dict[str, list[str]], base: dict[str, str], pod: PodLoad, at: int, elapsed: int
) -> None:
    """One pod's samples at ``at``: each counter is its start plus its rate x ``elapsed``."""
    total = pod.requests
    count = 1e6 + total * elapsed
    requests = families["requests counter"]
    # A pod that answers nothing but errors has no series of successes at all.
    for status, per_second in (("200", pod.requests_ok), ("503", pod.requests_5xx),
                               ("404", pod.requests_4xx)):  # fmt: skip
        if per_second:
            value = 1e6 + per_second * elapsed
            requests.append(_line("requests", base | {"status": status}, value, at))
    for family, per_second in (("request_size", pod.bytes_in), ("response_size", pod.bytes_out)):
        out = families[f"{family} histogram"]
        out.append(_line(f"{family}_bucket", base | {"le": "+Inf"}, count, at))
        out.append(_line(f"{family}_sum", base, 1e12 + per_second * elapsed, at))
        out.append(_line(f"{family}_count", base, count, at))
    durations = families["request_duration_seconds histogram"]
    name = "request_duration_seconds"
    for bound, share in zip(DURATION_BUCKETS, pod.duration_shares, strict=True):
        value = 1e6 * share + total * share * elapsed
        durations.append(_line(f"{name}_bucket", base | {"le": str(bound)}, value, at))
    durations.append(_line(f"{name}_bucket", base | {"le": "+Inf"}, count, at))
    durations.append(_line(f"{name}_sum", base, 1e5 + 0.3 * total * elapsed, at))
    durations.append(_line(f"{name}_count", base, count, at))
    active = base | {"state": "active"}
    families["nginx_process_connections gauge"].append(
        _line("nginx_process_connections", active, pod.active_connections, at)
    )


def _controller(
    families: dict[str, list[str]],
    base: dict[str, str],
    target: dict[str, str],
    pod: PodLoad,
    at: int,
    start: int,
) -> None:
    """The controller's gauges at ``at``: reload state, certificates, build info."""
    succeeded, last_success = pod.reload_state(at - start)
    families["config_last_reload_successful gauge"].append(
        _line("config_last_reload_successful", base, 1.0 if succeeded else 0.0, at)
    )
    families["config_last_reload_successful_timestamp_seconds gauge"].append(
        _line(
            "config_last_reload_successful_timestamp_seconds",
            base,
            float(start + last_success),
            at,
        )
    )
    for number, expiry in enumerate(pod.cert_expiries):
        labels = {
            "namespace": base["controller_namespace"],
            "class": base["controller_class"],
            "host": f"cache-{number}.kura.example",
            "secret_name": f"cache-{number}-tls",
        } | target
        families["ssl_expire_time_seconds gauge"].append(
            _line("ssl_expire_time_seconds", labels, float(start + expiry), at)
        )
    info = base | {"release": "v1.15.1", "build": "dbb11b9", "repository": "ingress-nginx"}
    families["build_info gauge"].append(_line("build_info", info, 1.0, at))


# Envoy Gateway's stat prefixes: the HTTPS listener's connection manager (port 443 is 10443 in the
# proxy), and its own readiness listener, which the kubelet's probes reach.
ENVOY_TRAFFIC = "https-10443"
ENVOY_READINESS = "eg-ready-http"
# Envoy counts a successful listener update before the first reload of the series.
ENVOY_EARLIER_UPDATES = 10


def _envoy_line(name: str, labels: Mapping[str, str], value: float, at: int) -> str:
    return _line(name, labels, value, at, prefix="envoy_")


def envoy_openmetrics(
    gateways: Mapping[str, Sequence[PodLoad]],
    *,
    start: int = T0,
    minutes: int = 30,
    step: int = 15,
    namespace: str = "kura",
) -> str:
    """OpenMetrics text of Envoy proxy series: ``gateways`` maps a Gateway's name to its proxy
    pods' loads. Request times are Envoy's, in milliseconds; certificate expiry is whole days
    to the first expiring certificate, as Envoy reports it. Counters keep Envoy's names (no
    ``_total`` added) and start high, so ``rate()`` never meets a reset."""
    times = range(start, start + minutes * 60 + 1, step)
    families: dict[str, list[str]] = {
        "http_downstream_rq_xx counter": [],
        "http_downstream_rq_time histogram": [],
        "http_downstream_cx_rx_bytes_total counter": [],
        "http_downstream_cx_tx_bytes_total counter": [],
        "http_downstream_cx_active gauge": [],
        "listener_manager_lds_update_success counter": [],
        "listener_manager_lds_update_rejected counter": [],
        "server_days_until_first_cert_expiring gauge": [],
    }
    for gateway, pods in gateways.items():
        for number, pod in enumerate(pods):
            name = f"envoy-{gateway}-{number}"
            base = {
                "gateway_envoyproxy_io_owning_gateway_name": gateway,
                "namespace": namespace,
                "pod": name,
                "instance": f"{name}:19001",
                "job": "envoy-gateway-proxies",
            }
            for at in times:
                _envoy_samples(families, base, pod, at, at - start)
    return _text("envoy_", families)


def _envoy_samples(
    families: dict[str, list[str]], base: dict[str, str], pod: PodLoad, at: int, elapsed: int
) -> None:
    """One proxy's samples at ``at``: its traffic listener's, then its readiness listener's (one
    probe a second, a few bytes, one connection), then the server's."""
    traffic = base | {"envoy_http_conn_manager_prefix": ENVOY_TRAFFIC}
    probes = base | {"envoy_http_conn_manager_prefix": ENVOY_READINESS}
    requests = families["http_downstream_rq_xx counter"]
    for code_class, per_second in (("2", pod.requests_ok), ("5", pod.requests_5xx),
                                   ("4", pod.requests_4xx)):  # fmt: skip
        if per_second:
            labels = traffic | {"envoy_response_code_class": code_class}
            requests.append(
                _envoy_line("http_downstream_rq_xx", labels, 1e6 + per_second * elapsed, at)
            )
    probe = probes | {"envoy_response_code_class": "2"}
    requests.append(_envoy_line("http_downstream_rq_xx", probe, 1e6 + elapsed, at))
    total = pod.requests
    times = families["http_downstream_rq_time histogram"]
    name = "http_downstream_rq_time"
    for labels, per_second, shares in ((traffic, total, pod.duration_shares),
                                       (probes, 1.0, (1.0,) * len(DURATION_BUCKETS))):  # fmt: skip
        count = 1e6 + per_second * elapsed
        for bound, share in zip(DURATION_BUCKETS, shares, strict=True):
            value = 1e6 * share + per_second * share * elapsed
            times.append(
                _envoy_line(f"{name}_bucket", labels | {"le": f"{bound * 1000:g}"}, value, at)
            )
        times.append(_envoy_line(f"{name}_bucket", labels | {"le": "+Inf"}, count, at))
        times.append(_envoy_line(f"{name}_sum", labels, 1e8 + 300 * per_second * elapsed, at))
        times.append(_envoy_line(f"{name}_count", labels, count, at))
    for direction, per_second in (("rx", pod.bytes_in), ("tx", pod.bytes_out)):
        family = f"http_downstream_cx_{direction}_bytes_total"
        out = families[f"{family} counter"]
        out.append(_envoy_line(family, traffic, 1e12 + per_second * elapsed, at))
        out.append(_envoy_line(family, probes, 1e6 + 100 * elapsed, at))
    active = families["http_downstream_cx_active gauge"]
    active.append(_envoy_line("http_downstream_cx_active", traffic, pod.active_connections, at))
    active.append(_envoy_line("http_downstream_cx_active", probes, 1.0, at))
    done = [ok for when, ok in pod.reloads if when <= elapsed]
    families["listener_manager_lds_update_success counter"].append(
        _envoy_line("listener_manager_lds_update_success", base,
                    float(ENVOY_EARLIER_UPDATES + done.count(True)), at)
    )  # fmt: skip
    families["listener_manager_lds_update_rejected counter"].append(
        _envoy_line("listener_manager_lds_update_rejected", base, float(done.count(False)), at)
    )
    if pod.cert_expiries:
        days = (min(pod.cert_expiries) - elapsed) // 86_400
        families["server_days_until_first_cert_expiring gauge"].append(
            _envoy_line("server_days_until_first_cert_expiring", base, float(days), at)
        )


def _text(prefix: str, families: Mapping[str, list[str]]) -> str:
    """The OpenMetrics text of ``families`` (``"<name> <type>"``: samples), names prefixed."""
    lines = []
    for family, samples in families.items():
        name, kind = family.split(" ")
        lines.append(f"# TYPE {prefix}{name} {kind}")
        lines.extend(_sorted_by_series(samples))
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _sorted_by_series(samples: list[str]) -> list[str]:
    # Samples of one series together and in time order, as promtool wants them.
    def key(line: str) -> tuple[str, int]:
        series, _, rest = line.rpartition("} ")
        return series, int(rest.rsplit(" ", 1)[1])

    return sorted(samples, key=key)


def backfill_rules(
    promtool: str, url: str, rules: Path, data: Path, *, start: int, end: int
) -> None:
    """Blocks of the series the recording rules in ``rules`` record from ``start`` to ``end``,
    evaluated by ``promtool`` against the Prometheus at ``url`` and added to ``data``. The
    Prometheus serving ``data`` loads them when it next starts."""
    output = data.parent / "recorded"
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "rules", f"--start={start}", f"--end={end}",
         f"--url={url}", f"--output-dir={output}", str(rules)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    for block in output.iterdir():
        block.rename(data / block.name)
    output.rmdir()


def backfill(promtool: str, openmetrics: str, workdir: Path) -> Path:
    """Blocks from ``openmetrics`` in ``workdir/data``, with the empty ``wal/`` it wants."""
    source = workdir / "history.om"
    source.write_text(openmetrics, encoding="utf-8")
    data = workdir / "data"
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
        check=True,
        capture_output=True,
    )
    (data / "wal").mkdir(exist_ok=True)
    return data


@dataclass
class PrometheusServer:
    url: str
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts connections, but nothing answers."""
        os.kill(self.process.pid, signal.SIGSTOP)
        # The signal is delivered asynchronously: until every thread has stopped, a query could
        # still be answered. Wait for the kernel to report the process stopped.
        stat = Path(f"/proc/{self.process.pid}/stat")
        deadline = time.monotonic() + 10
        while stat.read_text().rsplit(")", 1)[1].split()[0] != "T":
            if time.monotonic() > deadline:
                raise RuntimeError("prometheus did not stop on SIGSTOP")
            time.sleep(0.01)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"prometheus did not get ready: {log.read_text()[-2000:]}")


@contextmanager
def prometheus_server(
    prometheus: str,
    data: Path,
    workdir: Path,
    *,
    rules: Path | None = None,
    scrape: str | None = None,
    scrape_interval: str = "15s",
) -> Iterator[PrometheusServer]:
    """``prometheus`` serving ``data`` on a free loopback port until the block ends, with the
    rule file ``rules`` loaded (its rules evaluate now, far from the samples: what they recorded
    comes from :func:`backfill_rules`), scraping ``scrape`` (``host:port``) every
    ``scrape_interval`` if given."""
    config = workdir / "prometheus.yml"
    text = f"global:\n  scrape_interval: {scrape_interval}\n"
    if rules is not None:
        text += f"rule_files: [{json.dumps(str(rules))}]\n"
    if scrape is not None:
        text += (
            f"scrape_configs:\n- job_name: {SCRAPE_JOB}\n  static_configs:\n"
            f"  - targets: [{json.dumps(scrape)}]\n"
        )
    config.write_text(text, encoding="utf-8")
    port = free_port()
    log = workdir / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={data}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=3650d",
                "--log.level=warn",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    server = PrometheusServer(url, process)
    try:
        _wait_ready(url, process, log)
        yield server
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@contextmanager
def prometheus_with_rules(
    prometheus: str, promtool: str, data: Path, workdir: Path, rules: Path, *, start: int, end: int
) -> Iterator[PrometheusServer]:
    """:func:`prometheus_server` with the rule file ``rules`` loaded, and in ``data`` what its
    rules record from ``start`` to ``end``, evaluated by runs on the same data: ``promtool``
    cannot backfill a rule that reads another rule's record, so rules that do come in a later
    run than the rules they read. It yields once Prometheus has evaluated every rule (a group's
    first evaluation comes within its interval): until then it reports them of unknown health."""
    for number, level in enumerate(_levels(yaml.safe_load(rules.read_text(encoding="utf-8")))):
        path = workdir / f"rules-{number}.yml"
        path.write_text(yaml.safe_dump(level), encoding="utf-8")
        with prometheus_server(prometheus, data, workdir) as raw:
            backfill_rules(promtool, raw.url, path, data, start=start, end=end)
    with prometheus_server(prometheus, data, workdir, rules=rules) as server:
        _wait_evaluated(server.url)
        yield server


def _levels(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The rule file's rules as rule files to backfill in turn: each rule after every rule
    whose record it reads."""
    groups = document.get("groups") or []

    def reads(rule: dict[str, Any], names: set[str]) -> bool:
        return any(
            re.search(rf"(?<![\w:]){re.escape(name)}(?![\w:])", rule["expr"]) for name in names
        )

    levels = []
    remaining = [[rule for rule in group["rules"] if "record" in rule] for group in groups]
    while any(remaining):
        pending = {rule["record"] for rules in remaining for rule in rules}
        level = [[rule for rule in rules if not reads(rule, pending)] for rules in remaining]
        if not any(level):
            raise ValueError("recording rules that read each other's records")
        levels.append(
            {"groups": [g | {"rules": r} for g, r in zip(groups, level, strict=True) if r]}
        )
        remaining = [
            [rule for rule in rules if rule not in now]
            for rules, now in zip(remaining, level, strict=True)
        ]
    return levels


def api_data(url: str, path: str, *, timeout: float = 5.0, **params: str) -> Any:
    """The ``data`` of the answer of the Prometheus at ``url`` to ``/api/v1/<path>?<params>``."""
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    with urllib.request.urlopen(f"{url}/api/v1/{path}{query}", timeout=timeout) as answer:
        return json.load(answer)["data"]


def _wait_evaluated(url: str) -> None:
    def evaluated() -> bool:
        groups = api_data(url, "rules")["groups"]
        return all(rule["health"] != "unknown" for group in groups for rule in group["rules"])

    wait_for(evaluated, "prometheus to evaluate its rules", 60.0)


def exposition_of(url: str, names: Sequence[str], at: float) -> str:
    """The series called ``names`` in the Prometheus at ``url`` at ``at``, as Prometheus's text
    format (no timestamps): what :func:`prometheus_scraping` serves to another one."""
    lines = []
    for name in names:
        selector = f'{{__name__="{name}"}}'
        for series in api_data(url, "query", timeout=30, query=selector, time=repr(at))["result"]:
            labels = dict(series["metric"])
            labels.pop("__name__", None)
            text = ",".join(f'{key}="{_escaped(value)}"' for key, value in sorted(labels.items()))
            lines.append(f"{name}{{{text}}} {series['value'][1]}")
    return "\n".join(lines) + "\n"


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _Exposition(LoopbackServer):
    """A scrape target that always answers the same text."""

    def __init__(self, text: str) -> None:
        super().__init__(_Exposing)
        self.body = text.encode()


class _Exposing(BaseHTTPRequestHandler):
    server: _Exposition

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def prometheus_scraping(
    prometheus: str,
    exposition: str,
    workdir: Path,
    *,
    rules: Path | None = None,
    interval: str = "15s",
) -> Iterator[PrometheusServer]:
    """A fresh ``prometheus`` whose series come from scraping, every ``interval``, a loopback
    target that always answers ``exposition`` (Prometheus's text format): they are in its head,
    where a live Prometheus keeps its last hours and where its rules write, not in blocks. The
    rule file ``rules`` is loaded (with no raw series here, its rules record nothing, and report
    healthy). It yields once the first scrape is in (within one interval) and every rule has
    been evaluated; queries read it at the current time."""
    data = workdir / "head"
    data.mkdir()
    with (
        _Exposition(exposition).serving() as target,
        prometheus_server(
            prometheus, data, workdir, rules=rules, scrape=target.address, scrape_interval=interval
        ) as server,
    ):
        _wait_scraped(server.url)
        if rules is not None:
            _wait_evaluated(server.url)
        yield server


def _wait_scraped(url: str) -> None:
    def scraped() -> bool:
        result = api_data(url, "query", query=f'up{{job="{SCRAPE_JOB}"}}')["result"]
        return bool(result) and result[0]["value"][1] == "1"

    wait_for(scraped, "prometheus to scrape its target", 60.0)
