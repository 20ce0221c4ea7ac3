"""``kura drift``: does the platform chart and the cluster match the region catalog?"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import RenderableType

from kura_core.cli.context import KuraContext, env_option, pass_kura
from kura_core.cli.output import emit, output_option, simple_table
from kura_core.drift import DriftReport, find_drift, load_cluster, load_values
from kura_core.errors import CheckFailed
from kura_core.names import regional_load_balancer_name
from kura_core.regions import Region


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
    For each region of the env:
    - the kura-<region>-ingress-nginx block exists and is enabled;
    - controller.ingressClass and controller.ingressClassResource.name are the
      region's ingress class;
    - controller.service.annotations carry every annotation the region's
      load-balancer provider expects (name, location, node selector, ...);
    - the machine deployment labelled node.cluster.x-k8s.io/pool=<pool> has
      failureDomain = the region's location.
    Enabled kura-*-ingress-nginx blocks for regions the env does not offer are drift.

    json/yaml fields: env, values, cluster, regions, findings[] (region, check, expected,
    actual, message). check is one of values-block, enabled, ingress-class,
    ingress-class-resource, lb-annotation, node-pool, failure-domain, extra-block.

    Exit codes: 0 no drift, 1 drift found, 2 unreadable or malformed files.
    """
    catalog = kura.catalog(env)
    values = load_values(values_files)
    cluster = load_cluster(cluster_file)

    def expected_annotations(region: Region) -> dict[str, str]:
        provider = kura.host.load_balancer_provider(region.load_balancer_provider)
        return provider.service_annotations(
            region,
            load_balancer_name=regional_load_balancer_name(region.id),
            node_selector=region.node_selector,
        )

    findings = find_drift(
        catalog,
        values,
        cluster,
        expected_annotations,
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
