from __future__ import annotations

import json
from pathlib import Path

import pytest

from kura_core.errors import CatalogError, InputError
from kura_core.regions import (
    NODE_POOL_LABEL,
    Region,
    RegionCatalog,
    catalogs_from_mapping,
    load_catalog_file,
    managed_catalogs,
)
from tests.core.conftest import Invoke, LabCatalog


def test_managed_production_catalog_matches_upstream_table() -> None:
    production = managed_catalogs()["production"]
    rows = [
        (r.id, r.display_name, r.cluster_id, r.location, r.ingress_class_name, r.node_selector)
        for r in production
    ]
    assert rows == [
        (
            "eu-central",
            "EU Central",
            "eu-central-1",
            "fsn1",
            "kura-eu-central",
            {NODE_POOL_LABEL: "kura"},
        ),
        (
            "us-east",
            "US East",
            "us-east-1",
            "ash",
            "kura-us-east",
            {NODE_POOL_LABEL: "kura-us-east"},
        ),
        (
            "us-west",
            "US West",
            "us-west-1",
            "hil",
            "kura-us-west",
            {NODE_POOL_LABEL: "kura-us-west"},
        ),
    ]


@pytest.mark.parametrize("env", ["staging", "canary"])
def test_staging_and_canary_offer_only_eu_central(env: str) -> None:
    assert managed_catalogs()[env].ids == ["eu-central"]


def test_region_hosts_lowercase_the_handle() -> None:
    region = managed_catalogs()["production"].get("us-east")
    assert region.public_host("Acme") == "acme-us-east-1.kura.tuist.dev"
    assert region.grpc_host("Acme") == "grpc.acme-us-east-1.kura.tuist.dev"
    assert region.load_balancer_provider == "hetzner"
    assert region.ingress_provider == "ingress-nginx"


def test_catalog_reports_every_problem_at_once() -> None:
    data = {
        "environments": {
            "production": [
                {"id": "US_East", "display_name": "x", "location": "ash", "node_pool": "p"},
                {"id": "ok", "display_name": "", "location": "ash", "node_pool": "p"},
                {"id": "ok2", "display_name": "y", "location": "ash", "node_pool": "p", "bogus": 1},
            ]
        }
    }
    with pytest.raises(CatalogError) as raised:
        catalogs_from_mapping(data, source="cat.yaml")
    problems = raised.value.problems
    assert len(problems) == 3
    assert any("production[0].id" in p and "'US_East' is not a DNS label" in p for p in problems)
    assert any("production[1].display_name" in p for p in problems)
    assert any("production[2].bogus" in p for p in problems)


def test_duplicate_ids_and_classes_are_reported() -> None:
    catalog = RegionCatalog(
        [
            Region(id="a", display_name="A", location="fsn1", node_pool="p"),
            Region(id="a", display_name="A2", location="fsn1", node_pool="p"),
            Region(
                id="b",
                display_name="B",
                location="fsn1",
                node_pool="p",
                ingress_class_name="kura-a",
            ),
        ]
    )
    problems = catalog.problems()
    assert "region id 'a' is defined 2 times" in problems
    assert "region 'b': ingress class 'kura-a' is already used by region 'a'" in problems


def test_unknown_provider_names_are_reported() -> None:
    catalog = RegionCatalog(
        [Region(id="a", display_name="A", location="fsn1", node_pool="p", ingress_provider="envoy")]
    )
    assert catalog.problems(
        load_balancer_providers=["hetzner"], ingress_providers=["ingress-nginx"]
    ) == ["region 'a': unknown ingress provider 'envoy' (known: ingress-nginx)"]
    assert catalog.problems() == []


def test_invalid_ingress_class_override_is_rejected() -> None:
    with pytest.raises(ValueError, match="ingress class name 'Kura_A' is not a DNS label"):
        Region(
            id="a", display_name="A", location="fsn1", node_pool="p", ingress_class_name="Kura_A"
        )


def test_host_template_must_carry_handle_and_cluster() -> None:
    with pytest.raises(ValueError, match=r"lacks \{account_handle\}"):
        Region(
            id="a",
            display_name="A",
            location="fsn1",
            node_pool="p",
            public_host_template="{cluster_id}.x",
        )


@pytest.mark.parametrize(
    "template",
    ["{account_handle}-{cluster_id}.kura.tuist.dev", "{handle}-{cluster_id}.kura.tuist.dev"],
)
def test_upstreams_host_template_and_keys_are_accepted(template: str) -> None:
    # A region as upstream's server configures it: its key names, its placeholders.
    region = Region.model_validate(
        {
            "id": "us-east",
            "display_name": "US East",
            "hetzner_location": "ash",
            "node_selector": {"node.cluster.x-k8s.io/pool": "kura-us-east"},
            "public_host_template": template,
            "grpc_public_host_template": "grpc." + template,
        }
    )
    assert (region.location, region.node_pool) == ("ash", "kura-us-east")
    assert region.public_host("Acme") == "acme-us-east-1.kura.tuist.dev"
    assert region.grpc_host("Acme") == "grpc.acme-us-east-1.kura.tuist.dev"


def test_upstream_and_kura_key_names_must_agree() -> None:
    with pytest.raises(ValueError, match="hetzner_location and location differ"):
        Region.model_validate(
            {"id": "a", "display_name": "A", "location": "fsn1", "hetzner_location": "ash",
             "node_pool": "p"}
        )  # fmt: skip


def test_a_host_template_with_another_placeholder_is_refused() -> None:
    with pytest.raises(ValueError, match="may only use"):
        Region(
            id="a", display_name="A", location="fsn1", node_pool="p",
            public_host_template="{account_handle}-{cluster_id}.{zone}",
        )  # fmt: skip


def test_staging_and_canary_hosts_carry_their_env() -> None:
    # One account in three envs: three hosts, so DNS records and certificates never collide.
    hosts = {
        env: catalog.get("eu-central").public_host("acme")
        for env, catalog in managed_catalogs().items()
    }
    assert hosts == {
        "production": "acme-eu-central-1.kura.tuist.dev",
        "staging": "acme-eu-central-1-staging.kura.tuist.dev",
        "canary": "acme-eu-central-1-canary.kura.tuist.dev",
    }
    staging = managed_catalogs()["staging"].get("eu-central")
    assert staging.grpc_host("acme") == "grpc.acme-eu-central-1-staging.kura.tuist.dev"


def test_available_regions_restrict_what_an_env_offers(invoke: Invoke) -> None:
    env = {"TUIST_KURA_AVAILABLE_REGIONS": " us-west , eu-central,,"}
    result = invoke("regions", "-o", "json", env=env)
    assert result.exit_code == 0, result.output
    assert [region["id"] for region in json.loads(result.stdout)] == ["eu-central", "us-west"]
    refused = invoke("assign", "--account-id", "1", "--handle", "a", "--region", "us-east", env=env)
    assert refused.exit_code == 2
    assert refused.stderr == (
        "kura: error: region 'us-east' is not offered in env 'production': "
        "TUIST_KURA_AVAILABLE_REGIONS lists eu-central, us-west\n"
    )


def test_available_regions_naming_an_unknown_region_is_one_error(invoke: Invoke) -> None:
    result = invoke("regions", env={"TUIST_KURA_AVAILABLE_REGIONS": "eu-central,mars"})
    assert result.exit_code == 2
    assert result.stderr == (
        "kura: error: TUIST_KURA_AVAILABLE_REGIONS names region(s) mars not offered in env "
        "'production' (offered: eu-central, us-east, us-west)\n"
    )


def test_unknown_region_lists_offered() -> None:
    with pytest.raises(
        InputError, match=r"unknown region 'mars' in env 'production' \(offered: eu-central"
    ):
        managed_catalogs()["production"].get("mars", env="production")


def test_load_catalog_file(lab_catalog: LabCatalog) -> None:
    catalogs = load_catalog_file(lab_catalog())
    assert catalogs["lab"].get("lab-1").cluster_id == "lab-1-1"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("environments: [\n", "not valid YAML"),
        ("- just a list\n", "a region is a mapping, not 'just a list'"),
        ("regions: []\n", "expected `environments: {<env>: \\[<region>, ...\\]}`"),
    ],
)
def test_broken_catalog_file_is_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        load_catalog_file(path)


def test_regions_command_lists_env(invoke: Invoke) -> None:
    result = invoke("regions", "--env", "staging", "-o", "json")
    assert result.exit_code == 0, result.output
    assert '"id": "eu-central"' in result.stdout
    assert "us-east" not in result.stdout


def test_regions_command_with_catalog_file(invoke: Invoke, lab_catalog: LabCatalog) -> None:
    path = lab_catalog()
    result = invoke("--catalog", str(path), "regions", "--env", "lab", "-o", "yaml")
    assert result.exit_code == 0, result.output
    assert "id: lab-1" in result.stdout


def test_regions_command_rejects_unknown_env(invoke: Invoke) -> None:
    result = invoke("regions", "--env", "moon")
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == "kura: error: unknown env 'moon' (known: canary, production, staging)"
    )


def test_catalog_naming_an_unloaded_provider_fails_clearly(
    invoke: Invoke, lab_catalog: LabCatalog
) -> None:
    path = lab_catalog(load_balancer_provider="openstack")
    result = invoke("--catalog", str(path), "regions", "--env", "lab")
    assert result.exit_code == 2
    assert "unknown load-balancer provider 'openstack' (known: hetzner)" in result.stderr
    assert "Traceback" not in result.output
