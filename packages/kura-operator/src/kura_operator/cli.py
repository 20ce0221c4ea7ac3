"""``kura operator run`` and the ``kura-operator`` console script."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click

from kura_core import InputError, KuraError, KuraGroup
from kura_operator.settings import LEADER_ELECTION_ID, PREVIOUS_FIELD_MANAGERS


class OperatorCrashed(KuraError):
    exit_code = 1


@click.command("run")
@click.option(
    "--namespace",
    # Upstream's controller's name for the same flag.
    "--watch-namespace",
    default="kura",
    show_default=True,
    help="Namespace to watch.",
)
@click.option(
    "--all-namespaces",
    is_flag=True,
    help="Watch KuraGateways and KuraInstances in every namespace.",
)
@click.option(
    "--env",
    # Upstream's controller's name: the env also names the pods' deployment environment.
    "--deployment-environment",
    default="production",
    show_default=True,
    help="Region catalog env, and the pods' deployment environment.",
)
@click.option(
    "--catalog",
    "catalog_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Region catalog YAML instead of the built-in and plugin catalogs.",
)
@click.option(
    "--bind-address",
    default="0.0.0.0",
    show_default=True,
    help="Address the metrics and health servers listen on (127.0.0.1: this host only).",
)
@click.option("--metrics-port", type=int, default=8080, show_default=True, help="0 disables.")
@click.option("--health-port", type=int, default=8081, show_default=True, help="0 disables.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Log the intended changes and write nothing (implies --leader-elect=false).",
)
@click.option(
    "--leader-elect",
    type=click.BOOL,
    default=True,
    is_flag=False,
    flag_value=True,
    metavar="[true|false]",
    show_default=True,
    help="Reconcile only while holding the Lease --leader-election-id in --namespace, so one "
    "replica (or controller sharing the Lease) works at a time; false: for one replica only.",
)
@click.option(
    "--leader-election-id",
    default=LEADER_ELECTION_ID,
    show_default=True,
    help="Name of the leader election's Lease (upstream's controller holds the default one).",
)
@click.option(
    "--resync", "resync_seconds", type=float, default=300.0, show_default=True,
    help="Seconds between full resyncs that catch unannounced drift.",
)  # fmt: skip
@click.option(
    "--self-check-interval", "self_check_seconds", type=float, default=60.0, show_default=True,
    help="Seconds between self-checks (CRDs, permissions); problems are logged each time.",
)  # fmt: skip
@click.option(
    "--permanent-error-retry", "permanent_error_retry_seconds", type=float, default=300.0,
    show_default=True,
    help="Seconds between retries of a reconcile the API server refused for good (403, 422, a "
    "kind not served), in case the cluster is fixed; the failure shows in the object's status.",
)  # fmt: skip
@click.option(
    "--gateway-service-account",
    # Upstream's controller's name for the same flag.
    "--gateway-service-account-name",
    default="kura-gateway-ingress-nginx",
    show_default=True,
    help="ServiceAccount the dedicated gateways' ingress-nginx pods run as.",
)
@click.option(
    "--cluster-issuer",
    # Upstream's controller's name for the same flag.
    "--grpc-cluster-issuer",
    default="letsencrypt-cloudflare",
    show_default=True,
    help="cert-manager ClusterIssuer of the instances' public TLS Certificates; an empty value "
    "renders none (the TLS Secrets then come from elsewhere).",
)
@click.option(
    "--scraper-namespace",
    "scraper_namespaces",
    multiple=True,
    help="Namespace whose pods may scrape the Kura pods' /metrics (repeatable); besides these, "
    "only an instance's gateway reaches its HTTP port.",
)
@click.option(
    "--otlp-traces-endpoint",
    default="",
    help="OTLP endpoint the Kura pods send their traces to "
    "(KURA_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, unless an instance's extraEnv sets it); "
    "empty: none.",
)
@click.option(
    "--take-over-field-manager",
    "take_over_field_managers",
    multiple=True,
    default=PREVIOUS_FIELD_MANAGERS,
    show_default=True,
    help="Field manager of a controller this one replaces (repeatable): its fields of the "
    "children the operator applies become the operator's, so nothing of it is left behind; "
    "'' takes over from none.",
)
@click.option("--log-format", type=click.Choice(["json", "text"]), default="json")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def run_command(
    namespace: str,
    all_namespaces: bool,
    env: str,
    catalog_file: Path | None,
    bind_address: str,
    metrics_port: int,
    health_port: int,
    dry_run: bool,
    leader_elect: bool,
    leader_election_id: str,
    resync_seconds: float,
    self_check_seconds: float,
    permanent_error_retry_seconds: float,
    gateway_service_account: str,
    cluster_issuer: str,
    scraper_namespaces: tuple[str, ...],
    otlp_traces_endpoint: str,
    take_over_field_managers: tuple[str, ...],
    log_format: str,
    verbose: bool,
) -> None:
    """Run the operator: reconcile KuraGateways and KuraInstances until stopped (SIGINT or SIGTERM).

    The --env also names the pods' deployment environment (KURA_OTEL_DEPLOYMENT_ENVIRONMENT).
    """
    from pydantic import ValidationError

    from kura_operator.settings import OperatorSettings

    try:
        settings = OperatorSettings(
            namespace=namespace,
            all_namespaces=all_namespaces,
            env=env,
            catalog_file=catalog_file,
            bind_address=bind_address,
            metrics_port=metrics_port,
            health_port=health_port,
            dry_run=dry_run,
            # The Lease is a write; a dry run writes nothing at all.
            leader_elect=leader_elect and not dry_run,
            leader_election_id=leader_election_id,
            resync_seconds=resync_seconds,
            self_check_seconds=self_check_seconds,
            permanent_error_retry_seconds=permanent_error_retry_seconds,
            gateway_service_account=gateway_service_account,
            cluster_issuer=cluster_issuer,
            scraper_namespaces=scraper_namespaces,
            otlp_traces_endpoint=otlp_traces_endpoint,
            take_over_field_managers=tuple(m for m in take_over_field_managers if m),
        )
    except ValidationError as exc:
        from kura_core import validation_problems

        raise InputError("; ".join(validation_problems(exc))) from None
    # kopf (its log format) and the API client are heavy; only this command pays for them.
    import kopf

    from kura_operator.runner import run_operator

    kopf.configure(
        verbose=verbose,
        log_format=kopf.LogFormat.JSON if log_format == "json" else kopf.LogFormat.FULL,
        log_refkey="object",
    )
    try:
        asyncio.run(run_operator(settings))
    except KuraError:
        raise
    except Exception as exc:
        # The traceback goes to the log; the process still ends non-zero, in one line.
        logging.getLogger("kura_operator").exception("the operator crashed")
        raise OperatorCrashed(f"the operator stopped: {type(exc).__name__}: {exc}") from None


@click.group("operator", cls=KuraGroup)
def operator_group() -> None:
    """The in-cluster operator that reconciles KuraGateways and KuraInstances."""


operator_group.add_command(run_command)


def main() -> None:
    """The ``kura-operator`` console script: ``kura operator run`` on its own."""
    try:
        run_command.main(prog_name="kura-operator", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        sys.exit(130)
    except KuraError as exc:
        click.echo(f"kura-operator: error: {exc}", err=True)
        sys.exit(exc.exit_code)
