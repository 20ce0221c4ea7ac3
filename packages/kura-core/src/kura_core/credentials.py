"""The Kura control-plane OAuth client credentials: where they come from and whether they work.

Kura nodes introspect tokens against the Tuist server with ``KURA_CONTROL_PLANE_CLIENT_ID`` and
``KURA_CONTROL_PLANE_CLIENT_SECRET``. The server's OAuth library (Boruta) validates client ids as
UUIDs, so a non-UUID id makes introspection answer 400 invalid_request, which Kura reports as 503
"Authentication backend unavailable" (upstream's staging bug, docs/upstream.md). Secret values
never leave this module: reports and findings carry presence only.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from kura_core.errors import InputError
from kura_core.files import parse_yaml_stream, read_text
from kura_core.urls import url_problem

CLIENT_ID = "KURA_CONTROL_PLANE_CLIENT_ID"
# The Tuist server's base URL Kura nodes call (upstream's server setting).
CONTROL_PLANE_URL_ENV = "TUIST_KURA_TUIST_BASE_URL"
CLIENT_SECRET = "KURA_CONTROL_PLANE_CLIENT_SECRET"
SECRET_SOURCE = "KURA_CONTROL_PLANE_SECRET_SOURCE"
EXTERNAL_SECRET = "external-secret"
LEGACY_PREFIXES: tuple[str, ...] = ("KURA_EXTENSION_TUIST_INTROSPECT_", "TUIST_KURA_INTROSPECTION_")

# The hyphenated 8-4-4-4-12 form, the only text form Boruta's client_id check accepts.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


SecretState = Literal["present", "missing", "external"]
SourceFormat = Literal["environment", "dotenv", "yaml", "kubernetes-secret"]


class CredentialFinding(BaseModel):
    """One problem. ``check`` is a stable code; ``key`` the variable it concerns."""

    model_config = ConfigDict(frozen=True)

    severity: Severity
    check: str
    key: str
    message: str


class CredentialReport(BaseModel):
    """What ``kura config check`` found. Never holds a secret value."""

    model_config = ConfigDict(frozen=True)

    source: str
    format: SourceFormat
    client_id_present: bool
    client_id_valid: bool
    secret: SecretState
    findings: list[CredentialFinding]

    @property
    def errors(self) -> list[CredentialFinding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def ok(self) -> bool:
        return not self.errors


def is_uuid_shaped(value: str) -> bool:
    return _UUID.fullmatch(value) is not None


def _canonical_for(legacy_key: str) -> str:
    if legacy_key.endswith("_CLIENT_ID"):
        return CLIENT_ID
    if legacy_key.endswith("_CLIENT_SECRET"):
        return CLIENT_SECRET
    return f"{CLIENT_ID} / {CLIENT_SECRET}"


def check_credentials(
    values: Mapping[str, str],
    *,
    external_secret: bool,
    source: str = "environment",
    source_format: SourceFormat = "environment",
) -> CredentialReport:
    """Check every credential rule at once. ``values`` are variables (an environment, a file).

    The secret may be absent when ``external_secret`` is true or ``values`` declare
    ``KURA_CONTROL_PLANE_SECRET_SOURCE=external-secret`` (an External Secrets Operator sync).
    """
    findings: list[CredentialFinding] = []

    def finding(check: str, key: str, message: str, severity: Severity = Severity.ERROR) -> None:
        findings.append(CredentialFinding(severity=severity, check=check, key=key, message=message))

    client_id = values.get(CLIENT_ID, "")
    secret = values.get(CLIENT_SECRET, "")
    declared_source = values.get(SECRET_SOURCE, "")

    if declared_source and declared_source != EXTERNAL_SECRET:
        finding(
            "secret-source",
            SECRET_SOURCE,
            f"{SECRET_SOURCE} is {declared_source!r}; the only accepted value is "
            f"{EXTERNAL_SECRET!r} (unset means the secret is given inline)",
        )
    external = external_secret or declared_source == EXTERNAL_SECRET

    client_id_valid = is_uuid_shaped(client_id)
    if not client_id:
        finding("client-id", CLIENT_ID, f"{CLIENT_ID} is not set")
    elif secret and client_id == secret:
        # Checked before the UUID rule so the id (here the secret) is never echoed.
        client_id_valid = False
        finding("client-id", CLIENT_ID, f"{CLIENT_ID} holds the client secret, not the client id")
    elif not client_id_valid:
        why = (
            "has leading or trailing whitespace"
            if is_uuid_shaped(client_id.strip())
            else f"is {client_id!r}, not a UUID (8-4-4-4-12 hex digits)"
        )
        finding(
            "client-id",
            CLIENT_ID,
            f"{CLIENT_ID} {why}: the server's OAuth (Boruta) validates client ids as UUIDs, so "
            "token introspection would answer 400 invalid_request and Kura would report "
            '503 "Authentication backend unavailable"',
        )

    if secret:
        secret_state: SecretState = "present"
        if secret != secret.strip():
            finding(
                "client-secret",
                CLIENT_SECRET,
                f"{CLIENT_SECRET} has leading or trailing whitespace, which is part of the "
                "secret (a trailing newline from `echo ... | base64` is a common slip)",
                Severity.WARNING,
            )
    elif external:
        secret_state = "external"
    else:
        secret_state = "missing"
        finding(
            "client-secret",
            CLIENT_SECRET,
            f"{CLIENT_SECRET} is not set; set it, or declare an external secret source "
            f"(--external-secret or {SECRET_SOURCE}={EXTERNAL_SECRET})",
        )

    url = values.get(CONTROL_PLANE_URL_ENV)
    problem = url_problem(url) if url is not None else None
    if problem:
        shown = "" if "@" in (url or "") else f" {url!r}"
        finding(
            "control-plane-url", CONTROL_PLANE_URL_ENV, f"{CONTROL_PLANE_URL_ENV}{shown} {problem}"
        )

    # Upstream's chart still writes the legacy names beside the canonical ones, for older Kura
    # hooks: harmless, but only the canonical names count.
    for key in sorted(values):
        if key.startswith(LEGACY_PREFIXES):
            finding(
                "legacy-name",
                key,
                f"{key} is a legacy name, read only by older Kura hooks; use {_canonical_for(key)}",
                Severity.WARNING,
            )

    return CredentialReport(
        source=source,
        format=source_format,
        client_id_present=bool(client_id),
        client_id_valid=bool(client_id) and client_id_valid,
        secret=secret_state,
        findings=findings,
    )


# --- loaders ----------------------------------------------------------------------------------

_DOTENV_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")
_DOUBLE_QUOTED_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


def _significant_lines(text: str) -> list[tuple[int, str]]:
    return [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#")
    ]


def looks_like_dotenv(text: str) -> bool:
    """A file is dotenv when its first non-comment line is ``[export ]KEY=...``."""
    lines = _significant_lines(text)
    return bool(lines) and bool(_DOTENV_LINE.match(lines[0][1]))


def _dotenv_value(raw: str, where: str) -> str:
    raw = raw.strip()
    if raw[:1] == "'":
        end = raw.find("'", 1)
        if end < 0:
            raise InputError(f"{where}: unterminated single quote")
        value, rest = raw[1:end], raw[end + 1 :]
    elif raw[:1] == '"':
        chars: list[str] = []
        index = 1
        while index < len(raw) and raw[index] != '"':
            if raw[index] == "\\" and index + 1 < len(raw):
                nxt = raw[index + 1]
                chars.append(_DOUBLE_QUOTED_ESCAPES.get(nxt, "\\" + nxt))
                index += 2
            else:
                chars.append(raw[index])
                index += 1
        if index >= len(raw):
            raise InputError(f"{where}: unterminated double quote")
        value, rest = "".join(chars), raw[index + 1 :]
    else:
        # An unquoted value ends at " #", the start of a comment.
        return re.split(r"\s#", raw, maxsplit=1)[0].rstrip()
    if rest.strip() and not rest.strip().startswith("#"):
        raise InputError(f"{where}: unexpected text after the closing quote")
    return value


def parse_dotenv(text: str, source: str) -> dict[str, str]:
    """``KEY=VALUE`` lines with ``#`` comments, optional ``export`` and quotes.

    Errors name the line and key, never the value: it may be a secret.
    """
    values: dict[str, str] = {}
    for number, line in _significant_lines(text):
        match = _DOTENV_LINE.match(line)
        if match is None:
            raise InputError(f"{source}: line {number} is not KEY=VALUE")
        key = match.group(1)
        values[key] = _dotenv_value(match.group(2), f"{source}: line {number} ({key})")
    return values


def _string_map(data: Any, what: str) -> dict[str, str]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise InputError(f"{what} must be a mapping")
    result: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(value, str):
            shape = "mapping" if isinstance(value, Mapping) else "list"
            raise InputError(f"{what}: {key} must be a string, not a {shape}")
        result[str(key)] = value
    return result


def secret_values(manifest: Mapping[str, Any], source: str) -> dict[str, str]:
    """A Secret's variables: ``data`` base64-decoded, ``stringData`` winning on clashes."""
    values: dict[str, str] = {}
    for key, encoded in _string_map(manifest.get("data"), f"{source}: data").items():
        try:
            values[key] = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise InputError(f"{source}: data.{key} is not base64-encoded UTF-8 text") from None
    values.update(_string_map(manifest.get("stringData"), f"{source}: stringData"))
    return values


def values_from_text(text: str, source: str) -> tuple[dict[str, str], SourceFormat]:
    """Detect the format (dotenv, YAML mapping, Kubernetes Secret) and read the variables."""
    if looks_like_dotenv(text):
        return parse_dotenv(text, source), "dotenv"
    # BaseLoader keeps every scalar a string: "0123" and "yes" stay what was written.
    documents = [d for d in parse_yaml_stream(text, source, strings=True) if d != ""]
    if not documents:
        return {}, "yaml"
    if len(documents) > 1:
        raise InputError(f"{source}: expected one YAML document, found {len(documents)}")
    data = documents[0]
    if not isinstance(data, Mapping):
        raise InputError(
            f"{source}: expected KEY=VALUE lines, a YAML mapping or a Kubernetes Secret"
        )
    kind = data.get("kind")
    if kind == "Secret":
        return secret_values(data, source), "kubernetes-secret"
    if isinstance(kind, str) and "apiVersion" in data:
        raise InputError(f"{source}: is a Kubernetes {kind}, expected a Secret")
    return _string_map(data, source), "yaml"


def load_credentials_file(path: Path, *, external_secret: bool) -> CredentialReport:
    values, fmt = values_from_text(read_text(path, "credentials file"), str(path))
    return check_credentials(
        values, external_secret=external_secret, source=str(path), source_format=fmt
    )
