"""``kura config check``: are the Kura control-plane credentials usable?"""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.console import Group, RenderableType

from kura_core.cli.output import emit, output_option, simple_table
from kura_core.credentials import (
    EXTERNAL_SECRET,
    SECRET_SOURCE,
    CredentialReport,
    check_credentials,
    load_credentials_file,
)
from kura_core.errors import CheckFailed


@click.group("config")
def config_group() -> None:
    """Check kura's configuration."""


def _table(report: CredentialReport) -> RenderableType:
    summary = simple_table(
        "Kura control-plane credentials",
        ["SOURCE", "FORMAT", "CLIENT ID", "SECRET"],
        [
            [
                report.source,
                report.format,
                ("valid" if report.client_id_valid else "invalid")
                if report.client_id_present
                else "missing",
                report.secret,
            ]
        ],
    )
    if not report.findings:
        return Group(summary, "no problems found")
    findings = simple_table(
        "Findings",
        ["SEVERITY", "CHECK", "KEY", "MESSAGE"],
        [[f.severity, f.check, f.key, f.message] for f in report.findings],
    )
    return Group(summary, findings)


@config_group.command("check")
@click.option(
    "--file",
    "file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read the credentials from FILE instead of the environment: KEY=VALUE lines (dotenv), "
    "a YAML mapping, or a Kubernetes Secret manifest (data and/or stringData). "
    "The format is detected.",
)
@click.option(
    "--external-secret",
    is_flag=True,
    help=f"The secret is synced by an external secret store (ESO), so it may be absent here. "
    f"Same as {SECRET_SOURCE}={EXTERNAL_SECRET} in the checked variables.",
)
@output_option
def check_command(file: Path | None, external_secret: bool, output: str) -> None:
    """Check the Kura control-plane OAuth client credentials.

    \b
    Rules, all reported at once:
    - KURA_CONTROL_PLANE_CLIENT_ID is set and UUID-shaped (the server's OAuth
      validates client ids as UUIDs; any other id makes token introspection
      fail and Kura answer 503).
    - KURA_CONTROL_PLANE_CLIENT_SECRET is set, unless an external secret source
      is declared (--external-secret, or
      KURA_CONTROL_PLANE_SECRET_SOURCE=external-secret).
    - TUIST_KURA_TUIST_BASE_URL, when set, is an https URL (plain http only on
      loopback) without credentials, query or fragment: `kura render` puts it into
      every instance as the URL of the control plane.
    - Legacy KURA_EXTENSION_TUIST_INTROSPECT_* or TUIST_KURA_INTROSPECTION_* variables
      are warnings: only older Kura hooks read them.

    Secret values are never printed; the report says whether the secret is present.
    json/yaml fields: source, format (environment|dotenv|yaml|kubernetes-secret),
    client_id_present, client_id_valid, secret (present|missing|external),
    findings[] (severity error|warning, check, key, message).

    Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 unreadable or malformed file.
    """
    if file is None:
        report = check_credentials(os.environ, external_secret=external_secret)
    else:
        report = load_credentials_file(file, external_secret=external_secret)
    emit(report, output, lambda: _table(report))
    if not report.ok:
        raise CheckFailed([finding.message for finding in report.errors])
