"""``kura drift``: does the platform chart and the cluster match the region catalog?"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import RenderableType

from kura_core.cli.context import KuraContext, env_option, pass_kura
from kura_core.cli.output import emit, output_option, simple_table
from kura_core.drift import DriftReport, find_drift, load_cluster, load_values, region_values
from kura_core.errors import CheckFailed


def _table(report: DriftReport) -> RenderableType:
    if not report.findings:
        return (
            f"no drift: {len(report.regions)} region(s) of env {report.env} "
            f"({', '.join(report.regions)}) match {', '.join(report.values)} and {report.cluster}"
        )
    return simple_table(
        f"Drift ({report.env})",
        ["REGION", "CHECK", "EXPECTED", "ACTUAL", "MESSAGE"],
        [[f.region, f.check, f.expected, f.actual, f.message] for f in report.findings],
    )


@click.command("drift")
@click.option(
    "--values",
    "values_files",
    type=click.Path(path_type=Path, dir_okay=False),
    multiple=True,
    required=True,
    help="Platform chart values YAML. Repeat to layer overlays as `helm -f` does "
    "(values.yaml, then values-<cluster>.yaml).",
)
@click.option(
    "--cluster",
    "cluster_file",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Cluster API Cluster YAML with spec.topology.workers.machineDeployments.",
)
@env_option
@output_option
@pass_kura
def drift_command(
    kura: KuraContext, values_files: tuple[Path, ...], cluster_file: Path, env: str, output: str
) -> None:
    """Check the region catalog against the platform chart values and the node pools.

    \b
    For each region of the env, with the values blocks its ingress provider
    renders (what `kura gateway values` prints; ingress-nginx:
    kura-<region>-ingress-nginx, gateway-api: kura-<region>-gateway-api):
    - each block exists and is enabled;
    - every field the provider fills with the region's ingress class holds it
      (ingress-nginx: controller.ingressClass and
      controller.ingressClassResource.name);
    - the annotations the region's load-balancer provider expects (name,
      location, node selector, ...) are set where the provider puts them;
    - the machine deployment labelled node.cluster.x-k8s.io/pool=<pool> has
      failureDomain = the region's location.
    Enabled blocks of a provider's shape for regions the env does not offer, or
    of a provider the region no longer uses, are drift.

    json/yaml fields: env, values, cluster, regions, findings[] (region, check, expected,
    actual, message). check is one of values-block, enabled, ingress-class, lb-annotation,
    node-pool, failure-domain, extra-block.

    Exit codes: 0 no drift, 1 drift found, 2 unreadable or malformed files.
    """
    catalog = kura.catalog(env)
    values = load_values(values_files)
    cluster = load_cluster(cluster_file)

    findings = find_drift(
        catalog,
        values,
        cluster,
        lambda region: region_values(region, kura.host.providers),
        values_source=", ".join(str(path) for path in values_files),
        cluster_source=str(cluster_file),
    )
    report = DriftReport(
        env=env,
        values=[str(path) for path in values_files],
        cluster=str(cluster_file),
        regions=catalog.ids,
        findings=findings,
    )
    emit(report, output, lambda: _table(report))
    if findings:
        raise CheckFailed([finding.message for finding in findings])
