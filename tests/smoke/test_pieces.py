"""The smoke's pure pieces: pins, payloads, secrets, readings, DNS, diagnosis, reports, auth."""

from __future__ import annotations

import io
import logging
import socket
import ssl
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from kura_core.errors import InputError
from kura_smoke.cluster_state import deployment_rollout, load_balancer_address, resource_ready
from kura_smoke.diagnosis import error_got_and_cause, status_cause
from kura_smoke.junit import junit_xml
from kura_smoke.payload import Comparer, Payload
from kura_smoke.pinning import PinnedTransport, parse_resolve, pin_table
from kura_smoke.progress import Bars, Silent, view_for
from kura_smoke.report import (
    Mode,
    ModeReport,
    SmokeReport,
    Status,
    Step,
    StepFailure,
    StepResult,
    step_event,
)
from kura_smoke.resolution import resolve_host
from kura_smoke.secret import Redactor, Secret, load_token
from kura_smoke.testbed.kura_node import NodeConfig, Refused, authenticate

TOKEN = "kuraSmokeToken-0123456789-SECRET"

# --- pinning -------------------------------------------------------------------------------------


def test_resolve_parses_like_curl() -> None:
    pin = parse_resolve("Kura.Example:443:[2001:db8::7]")
    assert (pin.host, pin.port, pin.address) == ("kura.example", 443, "2001:db8::7")
    assert str(pin) == "kura.example:443:[2001:db8::7]"
    with pytest.raises(InputError, match="two addresses"):
        pin_table([parse_resolve("h:443:192.0.2.1"), parse_resolve("h:443:192.0.2.2")])


def test_a_pinned_request_connects_to_the_address_but_keeps_host_and_sni() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    transport = PinnedTransport(httpx.MockTransport(handler), {("kura.example", 8443): "192.0.2.7"})
    with httpx.Client(transport=transport) as client:
        client.get("https://kura.example:8443/ready")
        client.get("https://other.example/ready")
    pinned, other = seen
    assert pinned.url.host == "192.0.2.7"
    assert pinned.url.port == 8443
    assert pinned.headers["host"] == "kura.example:8443"
    assert pinned.extensions["sni_hostname"] == "kura.example"
    assert other.url.host == "other.example"
    assert "sni_hostname" not in other.extensions


# --- payloads ------------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    size=st.integers(0, 2 * 1024 * 1024 + 17),
    seed=st.integers(0, 2**32),
    chunk=st.integers(1, 300_000),
)
def test_a_payload_is_its_size_repeatable_and_compares_equal_to_itself(
    size: int, seed: int, chunk: int
) -> None:
    payload = Payload(size, seed)
    data = b"".join(payload.chunks())
    assert len(data) == size
    assert b"".join(Payload(size, seed).chunks()) == data
    comparer = Comparer(payload)
    for start in range(0, size, chunk):
        comparer.feed(data[start : start + chunk])
    assert comparer.identical


def test_blocks_differ_and_seeds_differ() -> None:
    data = b"".join(Payload(3 * 1024 * 1024, 7).chunks())
    blocks = {data[i : i + 1024 * 1024] for i in range(0, len(data), 1024 * 1024)}
    assert len(blocks) == 3
    assert Payload(4096, 1).sha256() != Payload(4096, 2).sha256()


def test_the_comparer_finds_the_first_difference_and_short_bodies() -> None:
    payload = Payload(10_000, 3)
    data = bytearray(b"".join(payload.chunks()))
    data[6_000] ^= 1
    comparer = Comparer(payload)
    comparer.feed(bytes(data[:5_000]))
    comparer.feed(bytes(data[5_000:]))
    assert comparer.first_difference == 6_000
    assert not comparer.identical
    short = Comparer(payload)
    short.feed(bytes(data[:100]))
    assert short.first_difference is None
    assert not short.identical


# --- secrets -------------------------------------------------------------------------------------


def test_a_secret_never_prints(tmp_path: Path) -> None:
    secret = Secret(TOKEN)
    assert TOKEN not in f"{secret} {secret!r}"
    token_file = tmp_path / "token"
    token_file.write_text(f"  {TOKEN}\n")
    assert load_token(token_file, {}).reveal() == TOKEN
    assert load_token(None, {"KURA_SMOKE_TOKEN": TOKEN}).reveal() == TOKEN
    token_file.write_text("two words")
    with pytest.raises(InputError, match="more than one word"):
        load_token(token_file, {})
    with pytest.raises(InputError, match="cannot read token file"):
        load_token(tmp_path / "missing", {})


def test_the_redactor_masks_text_and_every_log_record(caplog: pytest.LogCaptureFixture) -> None:
    redact = Redactor(Secret(TOKEN))
    assert redact(f"Authorization: Bearer {TOKEN}") == "Authorization: Bearer ***"
    caplog.set_level(logging.INFO)
    with redact.logging():
        logging.getLogger("httpx").info("header %s", f"Bearer {TOKEN}")
    logging.getLogger("httpx").info("after %s", "plain")
    assert [r.getMessage() for r in caplog.records] == ["header Bearer ***", "after plain"]


# --- readings ------------------------------------------------------------------------------------


def test_a_deployment_is_rolled_out_as_kubectl_says() -> None:
    def dep(gen: int, observed: int, **status: int) -> dict[str, Any]:
        return {
            "metadata": {"generation": gen},
            "spec": {"replicas": 2},
            "status": {"observedGeneration": observed, **status},
        }

    full = {"replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2}
    assert deployment_rollout(dep(1, 1, **full)).ok
    assert not deployment_rollout(dep(2, 1, **full)).ok
    assert deployment_rollout(dep(1, 1, **{**full, "readyReplicas": 1})).state.startswith("1/2")
    assert not deployment_rollout(dep(1, 1, **{**full, "replicas": 3})).ok  # old pods remain
    assert deployment_rollout(None).state == "not found"


def test_ready_resources_and_load_balancer_addresses() -> None:
    obj: dict[str, Any] = {"metadata": {"generation": 2}, "status": {"phase": "Ready"}}
    assert resource_ready(obj).ok
    obj["status"]["observedGeneration"] = 1
    assert "generation 2 not observed" in resource_ready(obj).state
    obj["status"] = {
        "phase": "Ready",
        "conditions": [{"type": "Ready", "status": "False", "reason": "Rollout"}],
    }
    assert not resource_ready(obj).ok
    service = {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1", "hostname": "lb"}]}}}
    assert load_balancer_address(service) == "lb"
    assert load_balancer_address({"status": {}}) == ""


# --- DNS -----------------------------------------------------------------------------------------


def test_dns_failures_and_expected_addresses() -> None:
    def nowhere(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(StepFailure) as failed:
        resolve_host("kura.invalid", 443, pinned=None, expected=None, resolver=nowhere)
    assert failed.value.summary == "kura.invalid does not resolve"
    assert "Name or service not known" in failed.value.got

    def lookup(host: str, port: int) -> list[str]:
        return {"kura.example": ["192.0.2.1"], "lb.example": ["192.0.2.1", "192.0.2.9"]}[host]

    assert "the gateway's address" in resolve_host(
        "kura.example", 443, pinned=None, expected="lb.example", resolver=lookup
    )
    with pytest.raises(StepFailure, match="does not point at the gateway"):
        resolve_host("kura.example", 443, pinned=None, expected="192.0.2.5", resolver=lookup)


# --- diagnosis -----------------------------------------------------------------------------------


def test_causes_name_what_to_check() -> None:
    assert "control-plane client credentials" in status_cause(503)
    assert "proxy-body-size must be 0" in status_cause(413)
    verify = httpx.ConnectError("boom")
    verify.__cause__ = ssl.SSLCertVerificationError("certificate verify failed")
    assert error_got_and_cause(verify, target="h:443")[0].startswith("TLS error")
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    assert "nothing accepts connections at h:443" in error_got_and_cause(refused, target="h:443")[1]
    assert error_got_and_cause(httpx.ReadTimeout("t"), target="h:443")[0] == "timeout: ReadTimeout"


# --- reports -------------------------------------------------------------------------------------


def _result(step: Step, status: Status, **extra: str) -> StepResult:
    return StepResult(
        mode=Mode.REGIONAL, step=step, status=status, seconds=0.25, host="h", message="m", **extra
    )


def test_junit_xml_parses_and_counts() -> None:
    report = SmokeReport.of(
        "run1",
        (
            ModeReport(
                mode=Mode.REGIONAL,
                account="a",
                host="h",
                pinned_address=None,
                steps=(
                    _result(Step.DNS, Status.PASSED),
                    _result(Step.READY, Status.FAILED, expected="200", got="503", cause="c"),
                    _result(Step.CAS_ROUNDTRIP, Status.SKIPPED),
                ),
            ),
        ),
    )
    assert not report.passed
    root = ET.fromstring(junit_xml(report))
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("3", "1", "1")
    (failure,) = root.iter("failure")
    assert failure.text == "expected: 200\ngot: 503\nlikely cause: c"
    assert step_event(report.modes[0].steps[1])["event"] == "ready"


# --- the Kura node's auth ------------------------------------------------------------------------

CONFIG = NodeConfig(
    storage=Path("/nonexistent"),
    region="eu-central",
    tenant_id="acme",
    introspect_url="http://cp/oauth2/introspect",
    client_id="id",
    client_secret="secret",
)
GRANTS = {"active": True, "sub": "t", "cache_grants": {"account": {"read": ["acme"], "write": []}}}


@pytest.mark.parametrize(
    ("header", "tenant", "write", "answer", "status"),
    [
        (None, "acme", False, (200, GRANTS), 401),
        ("Bearer x", None, False, (200, GRANTS), 400),
        ("Bearer x", "other", False, (200, GRANTS), 403),
        ("Bearer x", "acme", False, (200, {"active": False}), 401),
        ("Bearer x", "acme", False, (400, {"error": "invalid_request"}), 503),
        ("Bearer x", "acme", False, OSError("refused"), 503),
        ("Bearer x", "acme", True, (200, GRANTS), 403),
        ("Bearer x", "acme", False, (200, GRANTS), None),
    ],
)
def test_kura_auth_semantics(
    header: str | None, tenant: str | None, write: bool, answer: object, status: int | None
) -> None:
    def introspect(token: str) -> object:
        if isinstance(answer, OSError):
            raise answer
        return answer

    if status is None:
        assert (
            authenticate(
                CONFIG, authorization=header, tenant=tenant, write=write, introspect=introspect
            )
            == "t"
        )
        return
    with pytest.raises(Refused) as refused:
        authenticate(
            CONFIG, authorization=header, tenant=tenant, write=write, introspect=introspect
        )
    assert refused.value.status == status


# --- progress ------------------------------------------------------------------------------------


def test_progress_shows_only_for_people_at_a_terminal() -> None:
    assert isinstance(view_for("table", stdout_is_tty=True), Bars)
    assert isinstance(view_for("json", stdout_is_tty=True), Silent)
    assert isinstance(view_for("table", stdout_is_tty=False), Silent)
    screen = io.StringIO()
    bars = Bars(Console(file=screen, force_terminal=True, width=100))
    with bars.task("POST /api/cache/cas/x", total=2048) as task:
        task.advance(1024)
        task.describe("half way")
    assert "POST /api/cache/cas/x" in screen.getvalue()
