"""``kura smoke run`` against the test bed: the real nginx, Kura nodes and the control plane.

Each failure mode must fail the right step with the right words, and the token must never
appear in anything the run writes.
"""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import Result

from kura_smoke.report import Mode
from kura_smoke.testbed.bed import TestBed
from kura_smoke.testbed.certs import write_ca
from kura_smoke.testbed.control_plane import Grant
from tests.smoke.conftest import InvokeKura
from tests.smoke.smoke_support import FAST, events, statuses, step

PASSED_STEPS = {
    "dns": "passed",
    "ready": "passed",
    "cas-roundtrip": "passed",
    "gradle-roundtrip": "passed",
    "auth-no-token": "passed",
    "auth-bogus-token": "passed",
}


def smoke(
    kura: InvokeKura, bed: TestBed, *extra: str, modes: tuple[Mode, ...] = tuple(Mode)
) -> Result:
    return kura("smoke", "run", "--no-cluster", *bed.smoke_args(modes), *FAST, *extra)


def assert_no_token(bed: TestBed, *texts: str) -> None:
    token = bed.token.reveal()
    for text in texts:
        assert token not in text


def test_both_modes_pass_through_their_gateways(
    kura: InvokeKura, bed: TestBed, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    junit = tmp_path / "smoke.xml"
    result = smoke(kura, bed, "-o", "json", "--junit", str(junit))
    assert result.exit_code == 0, result.output
    found = events(result)
    for mode, address in (("regional", "127.0.0.1"), ("dedicated", "127.0.0.2")):
        assert {k: v for k, v in statuses(found, mode).items() if v != "skipped"} == PASSED_STEPS
        ready = step(found, mode, "ready")
        assert ready["pinned_address"] == address
        assert ready["host"] == bed.accounts[Mode(mode)].host
        assert ready["seconds"] >= 0
    assert found[-1]["event"] == "summary"
    assert found[-1]["passed"] is True
    # Both nodes saw an upload: each account reached its own instance through its gateway.
    for mode in Mode:
        assert bed.nodes[mode].stats.written["cas"] == 64 * 1024
        assert bed.nodes[mode].stats.written["gradle"] == 64 * 1024
    suites = ET.parse(junit).getroot()
    assert suites.get("failures") == "0"
    assert {s.get("name") for s in suites} == {"kura-smoke.regional", "kura-smoke.dedicated"}
    assert nginx_never_spooled(bed)
    logs = "\n".join(record.getMessage() for record in caplog.records)
    assert_no_token(bed, result.stdout, result.stderr, junit.read_text(), logs)


def nginx_never_spooled(bed: TestBed) -> bool:
    assert bed.nginx is not None
    return bed.nginx.temp_bytes() == 0 and bed.nginx.spooling_lines() == []


def test_the_table_summarises_every_step(kura: InvokeKura, bed: TestBed) -> None:
    result = smoke(kura, bed, "--mode", "regional", "--http1")
    assert result.exit_code == 0, result.output
    for name in ("platform", "dns", "ready", "cas-roundtrip", "gradle-roundtrip", "cleanup"):
        assert name in result.stdout
    assert "PASSED" in result.stdout


def test_introspection_down_gives_503_and_the_credentials_diagnosis(
    kura: InvokeKura, bed: TestBed, tmp_path: Path
) -> None:
    bed.control_plane.stop()
    junit = tmp_path / "smoke.xml"
    result = smoke(kura, bed, "-o", "json", "--junit", str(junit), modes=(Mode.REGIONAL,))
    assert result.exit_code == 1
    found = events(result)
    roundtrip = step(found, "regional", "cas-roundtrip")
    assert roundtrip["status"] == "failed"
    assert roundtrip["got"].startswith("503")
    assert "Authentication backend unavailable" in roundtrip["got"]
    assert "control-plane client credentials" in roundtrip["cause"]
    assert "/oauth2/introspect is reachable" in roundtrip["cause"]
    bogus = step(found, "regional", "auth-bogus-token")
    assert bogus["status"] == "failed"
    assert "not 401" in bogus["message"]
    # No token is rejected before introspection, so that probe still passes.
    assert step(found, "regional", "auth-no-token")["status"] == "passed"
    assert "problem(s) found" in result.stderr
    failures = ET.parse(junit).getroot().findall(".//failure")
    assert {f.get("message") for f in failures} >= {roundtrip["message"], bogus["message"]}
    assert_no_token(bed, result.stdout, result.stderr, junit.read_text())


def test_a_non_uuid_client_id_is_the_seed_staging_bug(kura: InvokeKura, make_bed: object) -> None:
    bed = make_bed(client_id="kura-control-plane")  # type: ignore[operator]
    result = smoke(kura, bed, "-o", "json", modes=(Mode.DEDICATED,))
    assert result.exit_code == 1
    bogus = step(events(result), "dedicated", "auth-bogus-token")
    assert bogus["got"].startswith("503")
    assert "the id must be the UUID" in bogus["cause"]


def test_a_corrupted_body_is_a_mismatch(kura: InvokeKura, bed: TestBed) -> None:
    bed.nodes[Mode.REGIONAL].knobs.corrupt_downloads = True
    result = smoke(kura, bed, "-o", "json", modes=(Mode.REGIONAL,))
    assert result.exit_code == 1
    roundtrip = step(events(result), "regional", "cas-roundtrip")
    assert roundtrip["status"] == "failed"
    assert roundtrip["message"].endswith("returned other bytes than were uploaded")
    assert f"first difference at byte {32 * 1024}" in roundtrip["got"]
    assert "altered or cut" in roundtrip["cause"]


def test_a_stopped_nginx_is_a_connection_error(kura: InvokeKura, bed: TestBed) -> None:
    assert bed.nginx is not None
    bed.nginx.stop()
    result = smoke(kura, bed, "-o", "json")
    assert result.exit_code == 1
    found = events(result)
    for mode in ("regional", "dedicated"):
        ready = step(found, mode, "ready")
        assert ready["status"] == "failed"
        assert "connection error" in ready["got"]
        assert "the gateway (nginx) is down" in ready["cause"]
        assert step(found, mode, "cas-roundtrip")["status"] == "skipped"
        assert step(found, mode, "cas-roundtrip")["message"] == "not run: ready failed"


def test_a_tenant_mismatch_is_403(kura: InvokeKura, bed: TestBed) -> None:
    node = bed.nodes[Mode.REGIONAL]
    node.reconfigure(dataclasses.replace(node.config, tenant_id="someone-else"))
    result = smoke(kura, bed, "-o", "json", modes=(Mode.REGIONAL,))
    roundtrip = step(events(result), "regional", "cas-roundtrip")
    assert roundtrip["got"].startswith("403")
    assert "not the instance's tenant" in roundtrip["cause"]


def test_a_token_without_a_grant_is_403_and_an_unknown_one_401(
    kura: InvokeKura, bed: TestBed
) -> None:
    bed.control_plane.add_token(bed.token.reveal(), Grant(subject="nobody"))
    denied = step(
        events(smoke(kura, bed, "-o", "json", modes=(Mode.DEDICATED,))),
        "dedicated",
        "gradle-roundtrip",
    )
    assert denied["got"].startswith("403 ")
    assert "not granted write" in denied["got"]
    bed.control_plane.state.tokens.clear()
    expired = step(
        events(smoke(kura, bed, "-o", "json", modes=(Mode.DEDICATED,))),
        "dedicated",
        "cas-roundtrip",
    )
    assert expired["got"].startswith("401 ")
    assert "invalid or expired" in expired["cause"]


def test_a_wrong_ca_is_a_tls_error(kura: InvokeKura, bed: TestBed, tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    _, _, other_ca = write_ca(tmp_path / "other", now=datetime.now(UTC))
    result = smoke(kura, bed, "-o", "json", "--ca-file", str(other_ca), modes=(Mode.REGIONAL,))
    ready = step(events(result), "regional", "ready")
    assert ready["status"] == "failed"
    assert ready["got"].startswith("after ")
    assert "TLS error" in ready["got"]
    assert "CERTIFICATE_VERIFY_FAILED" in ready["got"]
    assert "not trusted for the host" in ready["cause"]


def test_a_hanging_node_is_a_timeout(kura: InvokeKura, bed: TestBed) -> None:
    bed.nodes[Mode.REGIONAL].knobs.delay_seconds = 5.0
    result = smoke(kura, bed, "-o", "json", "--timeout", "0.3", modes=(Mode.REGIONAL,))
    roundtrip = step(events(result), "regional", "cas-roundtrip")
    assert roundtrip["got"] == "timeout: ReadTimeout"
    assert "did not answer in time" in roundtrip["cause"]


def test_a_node_that_is_not_ready_fails_readiness_after_retrying(
    kura: InvokeKura, bed: TestBed
) -> None:
    bed.nodes[Mode.DEDICATED].knobs.ready = False
    result = smoke(kura, bed, "-o", "json", modes=(Mode.DEDICATED,))
    ready = step(events(result), "dedicated", "ready")
    assert ready["message"] == f"{bed.accounts[Mode.DEDICATED].host} is not ready within 0.5s"
    assert '503 {"ready": false}' in ready["got"]
    assert "attempt(s)" in ready["got"]


def test_without_a_token_the_run_is_refused(kura: InvokeKura, bed: TestBed) -> None:
    args = [a for a in bed.smoke_args() if a != str(bed.token_file) and a != "--token-file"]
    result = kura("smoke", "run", "--no-cluster", *args, env={"KURA_SMOKE_TOKEN": ""})
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "kura: error: a token is required: pass --token-file or set KURA_SMOKE_TOKEN"
    )


def test_the_token_may_come_from_the_environment(kura: InvokeKura, bed: TestBed) -> None:
    args = [a for a in bed.smoke_args() if a != str(bed.token_file) and a != "--token-file"]
    result = kura(
        "smoke", "run", "--no-cluster", *args, *FAST, "--json",
        env={"KURA_SMOKE_TOKEN": bed.token.reveal()},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert_no_token(bed, result.stdout, result.stderr)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--resolve", "nohost"], "expected HOST:PORT:ADDR"),
        (["--resolve", "h:99999:127.0.0.1"], "is not a TCP port"),
        (["--resolve", "h:443:not-an-ip"], "is not an IP address"),
        (["--size", "lots"], "'--size': 'lots' is not a data size"),
    ],
)
def test_bad_options_are_one_line_errors(
    kura: InvokeKura, bed: TestBed, args: list[str], message: str
) -> None:
    result = smoke(kura, bed, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_closed_stdout_keeps_the_junit_report(bed: TestBed, tmp_path: Path) -> None:
    # `kura smoke run --json | head -1`: the reader is gone before the run writes anything.
    junit = tmp_path / "smoke.xml"
    kura = Path(sys.executable).with_name("kura")
    args = [str(kura), "smoke", "run", "--no-cluster", *bed.smoke_args(tuple(Mode)), *FAST]
    process = subprocess.Popen(
        [*args, "--json", "--junit", str(junit)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.close()
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert f"stdout was closed early; the run passed, the JUnit report is in {junit}" in stderr
    assert ET.parse(junit).getroot().findall(".//failure") == []
