"""Gateway tuning: the measured buffer size, nginx's buffer rules, the memory budget, capacity.

The nginx rules are checked against the real nginx binary (`nginx -t`), which is the data plane
under ingress-nginx: the model must accept exactly what nginx accepts.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
from pydantic import ValidationError

from kura_core.capacity import DEFAULT_COMPONENTS, NGINX_WORKERS, ceiling
from kura_core.errors import InputError
from kura_core.plugins import PluginHost
from kura_core.regions import managed_catalogs
from kura_core.units import Bandwidth, DataSize
from kura_provider_hetzner.gateway_config import gateway_nginx_config
from kura_provider_hetzner.gateway_tuning import (
    RELAY_MEASUREMENTS,
    GatewayTuning,
    kubernetes_quantity,
    measurement_for,
    nginx_size,
)
from kura_testing.binaries import require_binary

US_EAST = managed_catalogs()["production"].get("us-east")
KIB = 1024


def size(text: str) -> DataSize:
    return DataSize.parse(text)


# --- defaults --------------------------------------------------------------------------------


def test_the_default_buffer_is_the_measured_256k_not_ingress_nginx_4k() -> None:
    keys = GatewayTuning().nginx_keys()
    assert keys == {
        "proxy-buffer-size": "256k",
        "proxy-buffers-number": "4",
        "proxy-busy-buffers-size": "512k",
        "client-body-buffer-size": "4m",
        "ssl-buffer-size": "16k",
        "http2-max-concurrent-streams": "32",
    }


def test_tls_goes_out_in_full_records_and_no_bigger_buffer_is_accepted() -> None:
    assert GatewayTuning().nginx_keys()["ssl-buffer-size"] == "16k"
    assert GatewayTuning(ssl_buffer_size=size("4KiB")).nginx_keys()["ssl-buffer-size"] == "4k"
    with pytest.raises(ValidationError, match="ssl_buffer_size 64KiB is above 16KiB"):
        GatewayTuning(ssl_buffer_size=size("64KiB"))


@pytest.mark.parametrize(
    ("text", "nginx", "kubernetes"),
    [("4MiB", "4m", "4Mi"), ("256KiB", "256k", "256Ki"), ("1GiB", "1024m", "1024Mi")],
)
def test_sizes_are_written_as_nginx_and_kubernetes_read_them(
    text: str, nginx: str, kubernetes: str
) -> None:
    assert nginx_size(size(text)) == nginx
    assert kubernetes_quantity(size(text)) == kubernetes


# --- nginx's buffer rules ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "busy", "problem"),
    [
        (4, "128KiB", "must be at least proxy_buffer_size"),
        (4, "1024KiB", "at most 3 buffers"),
        (2, "256KiB", "proxy_buffers_number 2 is too small"),
    ],
)
def test_buffers_nginx_would_reject_are_refused(number: int, busy: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        GatewayTuning(proxy_buffers_number=number, proxy_busy_buffers_size=size(busy))


def test_sizes_must_be_whole_kibibytes_and_the_request_within_the_limit() -> None:
    with pytest.raises(ValidationError, match="whole number of KiB"):
        GatewayTuning(client_body_buffer_size=DataSize(1000.0))
    with pytest.raises(ValidationError, match="memory_request 1GiB is above memory_limit"):
        GatewayTuning(memory_request=size("1GiB"))


def _nginx_or_skip() -> str:
    return require_binary("nginx")


def _nginx_conf(scratch: Path, data: Mapping[str, str], *, busy_key: bool) -> Path:
    """A minimal server with the directives ingress-nginx derives from the ConfigMap keys.

    ``busy_key`` False is a controller older than proxy-busy-buffers-size, which leaves the
    directive out.
    """
    buffer = data["proxy-buffer-size"]
    busy = f"proxy_busy_buffers_size {data['proxy-busy-buffers-size']};" if busy_key else ""
    temp = "\n".join(
        f"{kind}_temp_path {scratch / kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    conf = scratch / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
pid {scratch / "nginx.pid"};
error_log {scratch / "error.log"} warn;
events {{ worker_connections 64; }}
http {{
  {temp}
  uwsgi_temp_path {scratch / "uwsgi"};
  scgi_temp_path {scratch / "scgi"};
  upstream kura {{
    server 127.0.0.1:1;
    keepalive 8;
    keepalive_timeout {data["upstream-keepalive-timeout"]}s;
    keepalive_requests {data["upstream-keepalive-requests"]};
  }}
  server {{
    listen 127.0.0.1:1 http2;
    keepalive_requests {data["keep-alive-requests"]};
    ssl_buffer_size {data["ssl-buffer-size"]};
    http2_max_concurrent_streams {data["http2-max-concurrent-streams"]};
    client_max_body_size {data["proxy-body-size"]};
    client_body_buffer_size {data["client-body-buffer-size"]};
    location / {{
      proxy_request_buffering {data["proxy-request-buffering"]};
      proxy_buffering {data["proxy-buffering"]};
      proxy_max_temp_file_size {data["proxy-max-temp-file-size"]};
      proxy_buffer_size {buffer};
      proxy_buffers {data["proxy-buffers-number"]} {buffer};
      {busy}
      proxy_pass http://kura;
    }}
  }}
}}
""",
        encoding="utf-8",
    )
    return conf


def _nginx_accepts(nginx: str, scratch: Path, data: Mapping[str, str], *, busy_key: bool) -> bool:
    conf = _nginx_conf(scratch, data, busy_key=busy_key)
    result = subprocess.run(
        [nginx, "-t", "-q", "-p", str(scratch), "-c", str(conf), "-e", str(scratch / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return result.returncode == 0


@pytest.mark.e2e
def test_nginx_accepts_the_gateway_config_with_and_without_the_busy_key(tmp_path: Path) -> None:
    nginx = _nginx_or_skip()
    data = gateway_nginx_config(GatewayTuning())
    assert _nginx_accepts(nginx, tmp_path, data, busy_key=True)
    assert _nginx_accepts(nginx, tmp_path, data, busy_key=False)


@pytest.mark.e2e
@pytest.mark.parametrize("number", [2, 3, 4, 8])
@pytest.mark.parametrize("busy_kib", [128, 256, 512, 768, 1024])
def test_the_model_accepts_exactly_what_nginx_accepts(
    tmp_path: Path, number: int, busy_kib: int
) -> None:
    nginx = _nginx_or_skip()
    tuning = GatewayTuning(proxy_buffers_number=8)  # only for its other keys
    data = {
        **gateway_nginx_config(tuning),
        "proxy-buffers-number": str(number),
        "proxy-busy-buffers-size": f"{busy_kib}k",
    }
    nginx_ok = _nginx_accepts(nginx, tmp_path, data, busy_key=True) and _nginx_accepts(
        nginx, tmp_path, data, busy_key=False
    )
    try:
        GatewayTuning(proxy_buffers_number=number, proxy_busy_buffers_size=size(f"{busy_kib}KiB"))
    except ValidationError:
        model_ok = False
    else:
        model_ok = True
    assert model_ok == nginx_ok


# --- memory budget ---------------------------------------------------------------------------


def test_the_default_budget_fits_the_512mi_limit() -> None:
    budget = GatewayTuning().memory_budget()
    # 256k response + 4m request body + 16k TLS send buffer
    assert budget.per_connection == size("4368KiB")
    assert budget.connections == 64
    assert budget.buffers == size("273MiB")
    assert budget.available == size("384MiB")  # 512Mi limit - 128Mi request
    assert budget.fits
    GatewayTuning().check_memory_budget()


def test_the_budget_boundary() -> None:
    # 384MiB / 4368KiB = 90.02: 90 connections fit, 91 do not.
    GatewayTuning(expected_connections=90).check_memory_budget()
    with pytest.raises(InputError) as raised:
        GatewayTuning(expected_connections=91).check_memory_budget()
    message = str(raised.value)
    assert "91 connections" in message
    assert "512Mi memory limit" in message
    assert "\n" not in message


def test_a_bigger_limit_makes_room() -> None:
    GatewayTuning(expected_connections=200, memory_limit=size("1GiB")).check_memory_budget()


# --- capacity --------------------------------------------------------------------------------


def test_measurements_are_chosen_conservatively() -> None:
    defaults, small_proxy, small_ssl, tuned = RELAY_MEASUREMENTS
    assert measurement_for(size("256KiB"), size("16KiB")) == tuned
    assert measurement_for(size("1MiB"), size("16KiB")) == tuned
    # Either buffer below the tuned size falls back to what was measured below it.
    assert measurement_for(size("256KiB"), size("8KiB")) == small_ssl
    assert measurement_for(size("128KiB"), size("16KiB")) == max(
        (defaults, small_proxy), key=lambda m: m.throughput.bits_per_second
    )
    assert measurement_for(size("4KiB"), size("4KiB")) == defaults
    # Below every measurement: the slowest one.
    slowest = min(RELAY_MEASUREMENTS, key=lambda m: m.throughput.bits_per_second)
    assert measurement_for(size("1KiB"), size("1KiB")) == slowest


def test_the_provider_gives_the_nginx_workers_term_from_the_tls_measurement() -> None:
    provider = PluginHost(environ={"KURA_LOAD_PLUGINS": "hetzner"}).ingress_provider(
        "ingress-nginx"
    )
    (component,) = provider.capacity_components(US_EAST)
    assert component.name == NGINX_WORKERS.name
    assert component.per_replica
    assert component.assumption
    assert component.capacity == Bandwidth.parse("750MB/s")
    assert "terminating TLS" in component.source
    assert "proxy_buffer_size 256k, ssl_buffer_size 16k" in component.source
    assert "0.75-0.80 GB/s" in component.source


def test_ingress_nginx_defaults_would_plan_with_their_figure() -> None:
    component = GatewayTuning(
        proxy_buffer_size=size("4KiB"),
        proxy_busy_buffers_size=size("8KiB"),
        ssl_buffer_size=size("4KiB"),
    ).nginx_workers()
    assert component.capacity == Bandwidth.parse("390MB/s")
    assert "proxy_buffer_size 4k, ssl_buffer_size 4k" in component.source


def test_the_measured_term_replaces_the_default_in_the_ceiling() -> None:
    measured = GatewayTuning().nginx_workers()
    components = [c for c in DEFAULT_COMPONENTS if c.name != measured.name] + [measured]
    shard = ceiling(components, 2)
    assert NGINX_WORKERS not in shard.components
    assert shard.effective(measured) == Bandwidth.parse("1.5GB/s")
    default = ceiling(DEFAULT_COMPONENTS, 2).effective(NGINX_WORKERS)
    assert default is not None
    assert shard.effective(measured) == Bandwidth.parse("1.5GB/s") > default
