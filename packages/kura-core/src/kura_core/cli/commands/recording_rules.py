"""``kura recording-rules``: the Prometheus rules the dashboard reads its gateways from."""

from __future__ import annotations

import click
from rich.console import RenderableType

from kura_core.cli.context import KuraContext, env_option, pass_kura
from kura_core.cli.output import emit, simple_table, yaml_output_option
from kura_core.cli.params import DURATION
from kura_core.metric_queries import MetricQueries
from kura_core.recording_rules import DEFAULT_INTERVAL, rule_groups
from kura_core.units import Duration


@click.command("recording-rules")
@env_option
@click.option(
    "--interval",
    type=DURATION,
    default=str(DEFAULT_INTERVAL),
    show_default=True,
    help="How often Prometheus evaluates the rules (whole seconds): how old a recorded "
    "figure can be.",
)
@yaml_output_option("yaml: a Prometheus rule file; json: the same groups; table: a summary.")
@pass_kura
def recording_rules_command(kura: KuraContext, env: str, interval: Duration, output: str) -> None:
    """Print the recording rules of the env's ingress providers' dashboard queries.

    One group per ingress provider the env's regions use (kura-ingress-nginx,
    kura-gateway-api), one rule per gateway query: the query as the expression, recorded
    under the name the dashboard looks for. Load the file with Prometheus's rule_files (or as
    the spec of a prometheus-operator PrometheusRule); `kura dashboard --prometheus URL` then
    reads the recorded series wherever Prometheus reports the rule loaded and healthy, and
    the raw queries elsewhere. Read-only.
    """
    providers = {region.ingress_provider for region in kura.catalog(env)}
    query_sets: dict[str, MetricQueries] = {
        name: kura.host.ingress_provider(name).metric_queries() for name in providers
    }
    rules = rule_groups(query_sets, interval)

    def table() -> RenderableType:
        return simple_table(
            f"Recording rules ({env})",
            ["GROUP", "INTERVAL", "RECORD", "LABELS"],
            [
                [
                    group["name"],
                    group["interval"],
                    rule["record"],
                    ",".join(f"{k}={v}" for k, v in rule.get("labels", {}).items()),
                ]
                for group in rules["groups"]
                for rule in group["rules"]
            ],
        )

    emit(rules, output, table)
