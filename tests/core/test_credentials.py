from __future__ import annotations

import base64
import json
import os
import uuid
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from kura_core.credentials import (
    CLIENT_ID,
    CLIENT_SECRET,
    SECRET_SOURCE,
    CredentialReport,
    Severity,
    check_credentials,
    is_uuid_shaped,
    parse_dotenv,
    values_from_text,
)
from kura_core.errors import InputError
from tests.core.conftest import Invoke

GOOD_ID = "0f3b6c1e-8f5d-4c33-9b2a-2f4e9e1d7a10"
SECRET = "s3cr3t-VALUE-never-shown-9f8e7d"
LEGACY_NAMES = {
    "KURA_EXTENSION_TUIST_INTROSPECT_CLIENT_ID": CLIENT_ID,
    "KURA_EXTENSION_TUIST_INTROSPECT_CLIENT_SECRET": CLIENT_SECRET,
    "TUIST_KURA_INTROSPECTION_CLIENT_ID": CLIENT_ID,
    "TUIST_KURA_INTROSPECTION_CLIENT_SECRET": CLIENT_SECRET,
}


def errors(report: CredentialReport) -> list[tuple[str, str]]:
    return [(f.check, f.key) for f in report.findings if f.severity is Severity.ERROR]


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No kura variables from the machine running the tests leak into env-mode checks."""
    for key in list(os.environ):
        if key.startswith(("KURA_", "TUIST_")):
            monkeypatch.delenv(key)


# --- the pure check ---------------------------------------------------------------------------


def test_uuid_id_and_secret_pass() -> None:
    report = check_credentials({CLIENT_ID: GOOD_ID, CLIENT_SECRET: SECRET}, external_secret=False)
    assert report.ok
    assert report.findings == []
    assert (report.client_id_present, report.client_id_valid, report.secret) == (
        True,
        True,
        "present",
    )


def test_the_staging_client_id_is_rejected_with_the_reason() -> None:
    report = check_credentials(
        {CLIENT_ID: "kura-control-plane", CLIENT_SECRET: SECRET}, external_secret=False
    )
    assert errors(report) == [("client-id", CLIENT_ID)]
    assert (report.client_id_present, report.client_id_valid) == (True, False)
    message = report.findings[0].message
    assert "'kura-control-plane'" in message
    for fact in (
        "Boruta",
        "UUID",
        "400 invalid_request",
        "503",
        "Authentication backend unavailable",
    ):
        assert fact in message


@pytest.mark.parametrize(
    ("client_id", "valid"),
    [
        (GOOD_ID, True),
        (GOOD_ID.upper(), True),
        ("00000000-0000-0000-0000-000000000000", True),
        (GOOD_ID.replace("-", ""), False),
        ("{" + GOOD_ID + "}", False),
        ("urn:uuid:" + GOOD_ID, False),
        (GOOD_ID[:-1] + "g", False),
        (GOOD_ID + "\n", False),
        ("kura-control-plane", False),
    ],
)
def test_uuid_shape(client_id: str, valid: bool) -> None:
    assert is_uuid_shaped(client_id) is valid


@given(st.uuids())
def test_every_uuid_is_accepted(value: uuid.UUID) -> None:
    report = check_credentials(
        {CLIENT_ID: str(value), CLIENT_SECRET: SECRET}, external_secret=False
    )
    assert report.ok


def test_whitespace_around_a_uuid_is_named() -> None:
    report = check_credentials(
        {CLIENT_ID: f" {GOOD_ID}\n", CLIENT_SECRET: SECRET}, external_secret=False
    )
    assert errors(report) == [("client-id", CLIENT_ID)]
    assert "whitespace" in report.findings[0].message


def test_missing_id_and_secret_are_both_reported() -> None:
    report = check_credentials({}, external_secret=False)
    assert errors(report) == [("client-id", CLIENT_ID), ("client-secret", CLIENT_SECRET)]
    assert (report.client_id_present, report.secret) == (False, "missing")


def test_empty_values_count_as_missing() -> None:
    report = check_credentials({CLIENT_ID: "", CLIENT_SECRET: ""}, external_secret=False)
    assert errors(report) == [("client-id", CLIENT_ID), ("client-secret", CLIENT_SECRET)]


@pytest.mark.parametrize(
    ("values", "flag"),
    [
        ({CLIENT_ID: GOOD_ID}, True),
        ({CLIENT_ID: GOOD_ID, SECRET_SOURCE: "external-secret"}, False),
    ],
)
def test_an_external_secret_source_makes_the_secret_optional(
    values: dict[str, str], flag: bool
) -> None:
    report = check_credentials(values, external_secret=flag)
    assert report.ok
    assert report.secret == "external"


def test_a_present_secret_is_present_even_when_external() -> None:
    report = check_credentials({CLIENT_ID: GOOD_ID, CLIENT_SECRET: SECRET}, external_secret=True)
    assert report.secret == "present"


def test_an_unknown_secret_source_is_an_error() -> None:
    report = check_credentials({CLIENT_ID: GOOD_ID, SECRET_SOURCE: "vault"}, external_secret=False)
    assert errors(report) == [
        ("secret-source", SECRET_SOURCE),
        ("client-secret", CLIENT_SECRET),
    ]
    assert "'external-secret'" in report.findings[0].message


def warnings(report: CredentialReport) -> list[tuple[str, str]]:
    return [(f.check, f.key) for f in report.findings if f.severity is Severity.WARNING]


@pytest.mark.parametrize(("legacy", "canonical"), sorted(LEGACY_NAMES.items()))
def test_legacy_names_are_warnings_naming_the_canonical_name(legacy: str, canonical: str) -> None:
    # Upstream's chart writes them beside the canonical names: a Secret it made passes.
    values = {CLIENT_ID: GOOD_ID, CLIENT_SECRET: SECRET, legacy: "anything"}
    report = check_credentials(values, external_secret=False)
    assert report.ok
    assert warnings(report) == [("legacy-name", legacy)]
    assert f"use {canonical}" in report.findings[0].message


def test_any_legacy_prefixed_name_is_a_warning() -> None:
    values = {CLIENT_ID: GOOD_ID, CLIENT_SECRET: SECRET, "TUIST_KURA_INTROSPECTION_URL": "x"}
    report = check_credentials(values, external_secret=False)
    assert warnings(report) == [("legacy-name", "TUIST_KURA_INTROSPECTION_URL")]
    assert f"{CLIENT_ID} / {CLIENT_SECRET}" in report.findings[0].message


def test_all_findings_are_reported_at_once() -> None:
    values = {
        CLIENT_ID: "kura-control-plane",
        "KURA_EXTENSION_TUIST_INTROSPECT_CLIENT_ID": "kura-control-plane",
        "TUIST_KURA_INTROSPECTION_CLIENT_SECRET": SECRET,
    }
    report = check_credentials(values, external_secret=False)
    assert errors(report) == [("client-id", CLIENT_ID), ("client-secret", CLIENT_SECRET)]
    assert warnings(report) == [
        ("legacy-name", "KURA_EXTENSION_TUIST_INTROSPECT_CLIENT_ID"),
        ("legacy-name", "TUIST_KURA_INTROSPECTION_CLIENT_SECRET"),
    ]


def test_a_secret_with_a_trailing_newline_is_a_warning_only() -> None:
    report = check_credentials(
        {CLIENT_ID: GOOD_ID, CLIENT_SECRET: SECRET + "\n"}, external_secret=False
    )
    assert report.ok
    assert [(f.severity, f.check) for f in report.findings] == [(Severity.WARNING, "client-secret")]


def test_a_secret_in_the_id_slot_is_not_echoed() -> None:
    report = check_credentials({CLIENT_ID: SECRET, CLIENT_SECRET: SECRET}, external_secret=False)
    assert errors(report) == [("client-id", CLIENT_ID)]
    assert SECRET not in report.model_dump_json()


@given(
    st.text(min_size=1).filter(lambda s: s == s.strip()),
    st.text(min_size=1).filter(lambda s: s == s.strip()),
)
def test_the_report_depends_only_on_the_secret_being_there(first: str, second: str) -> None:
    def report(secret: str) -> CredentialReport:
        return check_credentials({CLIENT_ID: GOOD_ID, CLIENT_SECRET: secret}, external_secret=False)

    assert report(first) == report(second)


# --- file formats -----------------------------------------------------------------------------


def test_dotenv_with_comments_quotes_and_export() -> None:
    text = (
        "# Kura credentials\n"
        "\n"
        f"export {CLIENT_ID}={GOOD_ID}  # the OAuth client\n"
        f'{CLIENT_SECRET}="a b#c \\"q\\""\n'
        "  HASH=a#b\n"
        "EMPTY=\n"
    )
    values, fmt = values_from_text(text, "creds.env")
    assert fmt == "dotenv"
    assert values == {CLIENT_ID: GOOD_ID, CLIENT_SECRET: 'a b#c "q"', "HASH": "a#b", "EMPTY": ""}


def test_dotenv_quoted_values() -> None:
    values = parse_dotenv(
        "A='single # not a comment'\nB=\"line\\nbreak\"\nC=plain value # comment\n", "f"
    )
    assert values == {"A": "single # not a comment", "B": "line\nbreak", "C": "plain value"}


def test_yaml_mapping_keeps_values_as_written() -> None:
    values, fmt = values_from_text(f"{CLIENT_ID}: {GOOD_ID}\n{CLIENT_SECRET}: 0123\n", "c.yaml")
    assert fmt == "yaml"
    assert values == {CLIENT_ID: GOOD_ID, CLIENT_SECRET: "0123"}


def test_kubernetes_secret_with_data_and_string_data() -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "kura-shared-secrets"},
        "data": {
            CLIENT_ID: base64.b64encode(b"kura-control-plane").decode(),
            CLIENT_SECRET: base64.b64encode(SECRET.encode()).decode(),
        },
        "stringData": {CLIENT_ID: GOOD_ID},
    }
    values, fmt = values_from_text(yaml.safe_dump(manifest), "secret.yaml")
    assert fmt == "kubernetes-secret"
    # stringData wins over data, as the API server merges them.
    assert values == {CLIENT_ID: GOOD_ID, CLIENT_SECRET: SECRET}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("FOO=1\nnot a variable\n", "line 2 is not KEY=VALUE"),
        (f"{CLIENT_SECRET}='{SECRET}\n", "unterminated single quote"),
        (f'{CLIENT_SECRET}="{SECRET}\n', "unterminated double quote"),
        (f"{CLIENT_SECRET}='{SECRET}' trailing\n", "unexpected text after the closing quote"),
        ("a: [1, 2\n", "not valid YAML"),
        ("- one\n- two\n", "expected KEY=VALUE lines, a YAML mapping or a Kubernetes Secret"),
        ("a: 1\n---\nb: 2\n", "expected one YAML document, found 2"),
        (
            "apiVersion: v1\nkind: ConfigMap\ndata: {}\n",
            "is a Kubernetes ConfigMap, expected a Secret",
        ),
        (f"{CLIENT_ID}:\n  nested: {SECRET}\n", f"{CLIENT_ID} must be a string, not a mapping"),
        (
            f"apiVersion: v1\nkind: Secret\ndata:\n  {CLIENT_SECRET}: '{SECRET}!'\n",
            f"data.{CLIENT_SECRET} is not base64-encoded UTF-8 text",
        ),
        ("apiVersion: v1\nkind: Secret\nstringData: [a]\n", "stringData must be a mapping"),
    ],
)
def test_malformed_files_raise_input_errors_without_values(text: str, problem: str) -> None:
    with pytest.raises(InputError) as info:
        values_from_text(text, "creds")
    assert problem in str(info.value)
    assert str(info.value).startswith("creds")
    assert SECRET not in str(info.value)


# --- the command ------------------------------------------------------------------------------


def write_formats(tmp_path: Path, values: dict[str, str]) -> dict[str, Path]:
    dotenv = tmp_path / "creds.env"
    escaped = {
        k: v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        for k, v in values.items()
    }
    dotenv.write_text("".join(f'{key}="{value}"\n' for key, value in escaped.items()))
    mapping = tmp_path / "creds.yaml"
    mapping.write_text(yaml.safe_dump(values))
    secret = tmp_path / "secret.yaml"
    secret.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "kura-shared-secrets"},
                "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()},
            }
        )
    )
    return {"dotenv": dotenv, "yaml": mapping, "kubernetes-secret": secret}


@pytest.mark.parametrize("fmt", ["dotenv", "yaml", "kubernetes-secret"])
def test_check_file_passes(invoke: Invoke, tmp_path: Path, fmt: str) -> None:
    path = write_formats(tmp_path, {CLIENT_ID: GOOD_ID, CLIENT_SECRET: SECRET})[fmt]
    result = invoke("config", "check", "--file", str(path), "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "source": str(path),
        "format": fmt,
        "client_id_present": True,
        "client_id_valid": True,
        "secret": "present",
        "findings": [],
    }


@pytest.mark.usefixtures("clean_environ")
def test_check_environment_fails_with_every_finding(invoke: Invoke) -> None:
    env = {CLIENT_ID: "kura-control-plane", "TUIST_KURA_INTROSPECTION_CLIENT_SECRET": SECRET}
    result = invoke("config", "check", "-o", "yaml", env=env)
    assert result.exit_code == 1
    report = yaml.safe_load(result.stdout)
    assert report["source"] == "environment"
    assert report["secret"] == "missing"
    assert [(f["severity"], f["check"], f["key"]) for f in report["findings"]] == [
        ("error", "client-id", CLIENT_ID),
        ("error", "client-secret", CLIENT_SECRET),
        ("warning", "legacy-name", "TUIST_KURA_INTROSPECTION_CLIENT_SECRET"),
    ]
    assert result.stderr == "kura: 2 problem(s) found\n"


@pytest.mark.usefixtures("clean_environ")
@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--external-secret"], {CLIENT_ID: GOOD_ID}),
        ([], {CLIENT_ID: GOOD_ID, SECRET_SOURCE: "external-secret"}),
    ],
)
def test_check_environment_with_an_external_secret(
    invoke: Invoke, args: list[str], env: dict[str, str]
) -> None:
    result = invoke("config", "check", *args, "-o", "json", env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["secret"] == "external"


@pytest.mark.usefixtures("clean_environ")
def test_table_output_names_the_problem(invoke: Invoke) -> None:
    result = invoke("config", "check", env={CLIENT_ID: "kura-control-plane"})
    assert result.exit_code == 1
    assert "Authentication backend unavailable" in " ".join(result.stdout.split())
    assert "missing" in result.stdout


@pytest.mark.usefixtures("clean_environ")
@pytest.mark.parametrize("output", ["table", "json", "yaml"])
@pytest.mark.parametrize(
    "values",
    [
        {CLIENT_ID: GOOD_ID, CLIENT_SECRET: SECRET},
        {CLIENT_ID: GOOD_ID, CLIENT_SECRET: SECRET + "\n"},
        {CLIENT_ID: "kura-control-plane", CLIENT_SECRET: SECRET},
        {CLIENT_ID: SECRET, CLIENT_SECRET: SECRET},
        {CLIENT_ID: GOOD_ID, "KURA_EXTENSION_TUIST_INTROSPECT_CLIENT_SECRET": SECRET},
    ],
)
def test_the_secret_never_reaches_the_output(
    invoke: Invoke, tmp_path: Path, output: str, values: dict[str, str]
) -> None:
    results = [invoke("config", "check", "-o", output, env=values)]
    results += [
        invoke("config", "check", "--file", str(path), "-o", output)
        for path in write_formats(tmp_path, values).values()
    ]
    for result in results:
        assert result.exit_code in (0, 1), result.output
        assert SECRET not in result.output
        assert SECRET not in result.stderr


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (f"{CLIENT_SECRET}='{SECRET}\n", "unterminated single quote"),
        (f"{CLIENT_ID}: [\n", "not valid YAML"),
    ],
)
def test_malformed_file_exits_2_with_one_line(
    invoke: Invoke, tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "creds"
    path.write_text(text)
    result = invoke("config", "check", "--file", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"kura: error: {path}")
    assert problem in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output
    assert SECRET not in result.output


def test_missing_file_exits_2(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("config", "check", "--file", str(tmp_path / "nope.env"))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "cannot read credentials file" in result.stderr


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://tuist.dev", "'http://tuist.dev' must be https (plain http only on loopback)"),
        ("tuist.dev", "'tuist.dev' is not an https URL with a host"),
        ("https://tuist.dev:99999", "'https://tuist.dev:99999' is not a URL"),
        ("https://kura:hunter2@tuist.dev", "carries credentials"),
    ],
)
def test_a_bad_control_plane_url_is_one_error(url: str, problem: str) -> None:
    values = {CLIENT_ID: GOOD_ID, CLIENT_SECRET: SECRET, "TUIST_KURA_TUIST_BASE_URL": url}
    report = check_credentials(values, external_secret=False)
    assert errors(report) == [("control-plane-url", "TUIST_KURA_TUIST_BASE_URL")]
    assert problem in report.findings[0].message
    assert "hunter2" not in report.findings[0].message


@pytest.mark.parametrize(
    "url", ["https://tuist.dev", "https://tuist.dev/", "http://127.0.0.1:8080"]
)
def test_a_good_control_plane_url_passes(url: str) -> None:
    values = {CLIENT_ID: GOOD_ID, CLIENT_SECRET: SECRET, "TUIST_KURA_TUIST_BASE_URL": url}
    assert check_credentials(values, external_secret=False).findings == []
