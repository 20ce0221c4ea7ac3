"""``kura regions``: the regions an environment offers."""

from __future__ import annotations

import click
from pydantic import BaseModel

from kura_core.cli.context import KuraContext, env_option, pass_kura
from kura_core.cli.output import emit, output_option, simple_table
from kura_core.regions import Region


class RegionView(BaseModel):
    id: str
    display_name: str
    cluster_id: str
    location: str
    ingress_class_name: str
    node_selector: dict[str, str]
    storage_class: str
    public_host_template: str
    grpc_host_template: str
    load_balancer_provider: str
    ingress_provider: str

    @classmethod
    def of(cls, region: Region) -> RegionView:
        return cls(
            id=region.id,
            display_name=region.display_name,
            cluster_id=region.cluster_id,
            location=region.location,
            ingress_class_name=region.ingress_class_name,
            node_selector=region.node_selector,
            storage_class=region.storage_class,
            public_host_template=region.public_host_template,
            grpc_host_template=region.grpc_host_template,
            load_balancer_provider=region.load_balancer_provider,
            ingress_provider=region.ingress_provider,
        )


@click.command("regions")
@env_option
@output_option
@pass_kura
def regions_command(kura: KuraContext, env: str, output: str) -> None:
    """List the regions an environment offers.

    -o yaml (or json) is a list of regions that `kura --catalog FILE` reads back: saved to a
    file, it offers those regions in every env.
    """
    views = [RegionView.of(region) for region in kura.catalog(env)]
    emit(
        views,
        output,
        lambda: simple_table(
            f"Regions ({env})",
            ["ID", "NAME", "CLUSTER", "LOCATION", "INGRESS CLASS", "NODE POOL", "PROVIDERS"],
            [
                [
                    v.id,
                    v.display_name,
                    v.cluster_id,
                    v.location,
                    v.ingress_class_name,
                    ",".join(f"{k}={val}" for k, val in v.node_selector.items()),
                    f"{v.load_balancer_provider}, {v.ingress_provider}",
                ]
                for v in views
            ],
        ),
    )
