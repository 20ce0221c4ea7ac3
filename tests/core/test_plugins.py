"""The plugin host: loading, filtering, broken plugins, and one test per hook."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from docs.examples.third_party_plugin import FakeIngress, FakeLoadBalancers, ThirdPartyPlugin

from kura_core import hookimpl, hookspecs
from kura_core.cli.app import build_cli
from kura_core.errors import ProviderNotFoundError
from kura_core.plugins import PluginHost
from kura_core.providers import (
    IngressProvider,
    LoadBalancerProvider,
    ignored_annotations_warning,
)
from kura_core.regions import Region, RegionCatalog
from kura_core.resources import parse_gateway
from tests.core.conftest import LabCatalog

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugin-hooks.md"
HOOK_NAMES = sorted(name for name in dir(hookspecs) if name.startswith("kura_"))


def bare_host() -> PluginHost:
    """A host with only the built-in plugins: entry points are not loaded."""
    return PluginHost(load_entry_points=False)


# --- one test per hook (test_every_hook_has_a_test enforces it) ---------------------------------


def test_hook_kura_register_load_balancer_providers() -> None:
    class Plugin:
        @hookimpl
        def kura_register_load_balancer_providers(
            self, register: Callable[[LoadBalancerProvider], None]
        ) -> None:
            register(FakeLoadBalancers())

    host = bare_host()
    host.register(Plugin(), name="fake")
    provider = host.load_balancer_provider("fake-lb")
    region = Region(id="lab", display_name="Lab", location="nbg1", node_pool="lab")
    assert provider.service_annotations(region, load_balancer_name="lb-1") == {
        "fake/name": "lb-1",
        "fake/where": "nbg1",
    }


def test_hook_kura_register_ingress_providers() -> None:
    class Plugin:
        @hookimpl
        def kura_register_ingress_providers(
            self, register: Callable[[IngressProvider], None]
        ) -> None:
            register(FakeIngress())

    host = bare_host()
    host.register(Plugin(), name="fake")
    assert host.ingress_provider("fake-ingress").default_controller_class("c") == "example.com/c"


def test_hook_kura_register_regions() -> None:
    class Plugin:
        @hookimpl
        def kura_register_regions(self, register: Callable[[str, RegionCatalog], None]) -> None:
            register(
                "lab",
                RegionCatalog(
                    [Region(id="lab-1", display_name="Lab", location="nbg1", node_pool="lab")]
                ),
            )
            register(
                "production",
                RegionCatalog(
                    [Region(id="ap-south", display_name="AP", location="sin", node_pool="ap")]
                ),
            )

    host = bare_host()
    host.register(Plugin(), name="fake")
    assert host.catalog("lab").ids == ["lab-1"]
    assert host.catalog("production").ids == ["eu-central", "us-east", "us-west", "ap-south"]


def test_hook_kura_register_commands() -> None:
    class Plugin:
        @hookimpl
        def kura_register_commands(self, cli: click.Group) -> None:
            @cli.command("hello")
            def hello() -> None:
                click.echo("hello from a plugin")

    host = bare_host()
    host.register(Plugin(), name="fake")
    result = CliRunner().invoke(build_cli(host), ["hello"])
    assert result.exit_code == 0
    assert result.stdout == "hello from a plugin\n"


# --- the hook contract ----------------------------------------------------------------------


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_every_hook_has_a_test(hook: str) -> None:
    assert f"test_hook_{hook}" in globals(), f"hook {hook} has no test_hook_{hook}"


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_every_hook_is_documented_with_its_signature(hook: str) -> None:
    caller = getattr(bare_host().pm.hook, hook)
    signature = f"{hook}({', '.join(caller.spec.argnames)})"
    assert signature in DOCS.read_text(encoding="utf-8"), f"{signature} missing from {DOCS.name}"


def test_every_hook_is_prefixed_and_specs_are_the_only_hooks() -> None:
    host = bare_host()
    assert sorted(name for name in dir(host.pm.hook) if not name.startswith("_")) == HOOK_NAMES
    assert HOOK_NAMES, "no hooks found"


# --- loading and filtering ------------------------------------------------------------------


@pytest.fixture
def fake_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A site directory on sys.path where tests write plugin distributions."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("kura_fake_")]:
        del sys.modules[name]


def write_plugin(site: Path, dist: str, ep_name: str, module: str, source: str) -> None:
    info = site / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[kura]\n{ep_name} = {module}\n")
    (site / f"{module}.py").write_text(textwrap.dedent(source))


def test_installed_plugins_load_with_versions() -> None:
    host = PluginHost(environ={})
    infos = {info.name: info for info in host.plugin_infos()}
    assert infos["hetzner"].distribution == "kura-provider-hetzner"
    assert infos["hetzner"].hooks == (
        "kura_register_commands",
        "kura_register_ingress_providers",
        "kura_register_load_balancer_providers",
    )
    assert infos["kura_core.builtin"].hooks == ("kura_register_regions",)
    assert {"operator", "dashboard", "smoke"} <= set(infos)
    assert host.problems == []


def test_empty_allow_list_loads_no_entry_points() -> None:
    host = PluginHost(environ={"KURA_LOAD_PLUGINS": ""})
    assert [info.name for info in host.plugin_infos()] == ["kura_core.builtin"]
    with pytest.raises(
        ProviderNotFoundError, match="no plugin provides the load-balancer provider 'hetzner'"
    ):
        host.load_balancer_provider("hetzner")


def test_allow_list_by_entry_point_or_distribution_name() -> None:
    by_ep = PluginHost(environ={"KURA_LOAD_PLUGINS": "hetzner"})
    by_dist = PluginHost(environ={"KURA_LOAD_PLUGINS": " kura-operator , "})
    assert {i.name for i in by_ep.plugin_infos()} == {"kura_core.builtin", "hetzner"}
    assert {i.name for i in by_dist.plugin_infos()} == {"kura_core.builtin", "operator"}


def test_disabled_plugins_are_blocked() -> None:
    host = PluginHost(environ={"KURA_DISABLED_PLUGINS": "hetzner,smoke"})
    names = {info.name for info in host.plugin_infos()}
    assert "hetzner" not in names
    assert "smoke" not in names
    assert "operator" in names


def test_plugin_that_fails_to_import_is_reported_and_skipped(fake_distribution: Path) -> None:
    write_plugin(
        fake_distribution,
        "kura-fake-broken",
        "broken",
        "kura_fake_broken",
        "import does_not_exist\n",
    )
    host = PluginHost(environ={})
    assert "broken" not in {info.name for info in host.plugin_infos()}
    assert any(
        "plugin 'broken' failed to load and was skipped: ModuleNotFoundError" in p
        for p in host.problems
    )
    assert "hetzner" in host.providers.load_balancers


def test_misspelled_hook_is_reported_by_check_pending(fake_distribution: Path) -> None:
    write_plugin(
        fake_distribution,
        "kura-fake-typo",
        "typo",
        "kura_fake_typo",
        """
        from kura_core import hookimpl

        @hookimpl
        def kura_register_regionz(register):
            pass
        """,
    )
    host = PluginHost(environ={})
    assert "typo" not in {info.name for info in host.plugin_infos()}
    assert any("plugin 'typo' skipped" in p and "kura_register_regionz" in p for p in host.problems)


def test_external_plugin_is_listed_with_its_distribution_version(fake_distribution: Path) -> None:
    write_plugin(
        fake_distribution,
        "kura-fake-ok",
        "fakeok",
        "kura_fake_ok",
        """
        from kura_core import hookimpl

        @hookimpl
        def kura_register_commands(cli):
            pass
        """,
    )
    infos = {info.name: info for info in PluginHost(environ={}).plugin_infos()}
    assert infos["fakeok"].distribution == "kura-fake-ok"
    assert infos["fakeok"].version == "1.2.3"
    assert infos["fakeok"].hooks == ("kura_register_commands",)


def test_failing_hook_leaves_nothing_half_registered() -> None:
    class Half:
        @hookimpl
        def kura_register_ingress_providers(
            self, register: Callable[[IngressProvider], None]
        ) -> None:
            register(FakeIngress())
            raise RuntimeError("boom")

    host = bare_host()
    host.register(Half(), name="half")
    assert host.providers.ingresses == {}
    assert host.problems == [
        "plugin 'half': kura_register_ingress_providers failed and was skipped: boom"
    ]


def test_duplicate_provider_name_is_reported() -> None:
    class One:
        @hookimpl
        def kura_register_ingress_providers(
            self, register: Callable[[IngressProvider], None]
        ) -> None:
            register(FakeIngress())

    class Two:
        @hookimpl
        def kura_register_ingress_providers(
            self, register: Callable[[IngressProvider], None]
        ) -> None:
            register(FakeIngress())

    host = bare_host()
    host.register(One(), name="one")
    host.register(Two(), name="two")
    assert list(host.providers.ingresses) == ["fake-ingress"]
    # pluggy calls the last registered plugin first, so the earlier one is the duplicate.
    assert host.problems == [
        "plugin 'one': kura_register_ingress_providers failed and was skipped: "
        "ingress provider 'fake-ingress' is registered twice"
    ]


def test_object_not_implementing_the_protocol_is_rejected() -> None:
    class Bad:
        @hookimpl
        def kura_register_load_balancer_providers(self, register: Callable[[object], None]) -> None:
            register(object())

    host = bare_host()
    host.register(Bad(), name="bad")
    assert host.providers.load_balancers == {}
    assert "does not implement the load-balancer provider protocol" in host.problems[0]


def test_region_clash_between_plugins_is_reported() -> None:
    class Clash:
        @hookimpl
        def kura_register_regions(self, register: Callable[[str, RegionCatalog], None]) -> None:
            register(
                "production",
                RegionCatalog(
                    [Region(id="us-east", display_name="X", location="ash", node_pool="x")]
                ),
            )

    host = bare_host()
    host.register(Clash(), name="clash")
    assert host.catalog("production").get("us-east").node_pool == "kura-us-east"
    assert "env 'production' already defines region(s) us-east" in host.problems[0]


def order_recorder(
    name: str, calls: list[str], *, tryfirst: bool = False, trylast: bool = False
) -> object:
    class Plugin:
        @hookimpl(tryfirst=tryfirst, trylast=trylast)
        def kura_register_regions(self) -> None:
            calls.append(name)

    return Plugin()


def test_hooks_are_called_in_pluggys_order() -> None:
    calls: list[str] = []
    host = bare_host()
    host.register(order_recorder("first", calls), name="first")
    host.register(order_recorder("second", calls), name="second")
    host.register(order_recorder("late", calls, trylast=True), name="late")
    host.register(order_recorder("early", calls, tryfirst=True), name="early")
    host.catalogs  # noqa: B018
    assert calls == ["early", "second", "first", "late"]
    assert host.problems == []


def test_hookimpl_with_fewer_arguments_than_the_spec_is_called() -> None:
    class NoArguments:
        @hookimpl
        def kura_register_commands(self) -> None:
            calls.append("called")

    calls: list[str] = []
    host = PluginHost(environ={})
    host.register(NoArguments(), name="no-arguments")
    build_cli(host)
    assert calls == ["called"]
    assert host.problems == []


@pytest.mark.parametrize("new_style", [True, False])
def test_wrapper_of_a_registration_hook_is_rejected(new_style: bool) -> None:
    class Wrapper:
        @hookimpl(wrapper=new_style, hookwrapper=not new_style)
        def kura_register_regions(self, register: Callable[[str, RegionCatalog], None]) -> Any:
            yield

    host = bare_host()
    assert not host.register(Wrapper(), name="wrapper")
    assert host.problems == [
        "plugin 'wrapper' skipped: kura_register_regions cannot be a wrapper hook "
        "(registration hooks are called once per plugin)"
    ]
    assert not host.pm.has_plugin("wrapper")
    assert host.catalog("production").get("us-east").node_pool == "kura-us-east"


def test_command_name_clash_is_reported_and_skipped() -> None:
    class Clash:
        @hookimpl
        def kura_register_commands(self, cli: click.Group) -> None:
            @cli.command("regions")
            def regions() -> None:
                click.echo("hijacked")

    host = PluginHost(environ={})
    host.register(Clash(), name="clash")
    result = CliRunner().invoke(build_cli(host), ["regions", "-o", "json"])
    assert result.exit_code == 0
    assert "hijacked" not in result.stdout
    assert "plugin 'clash': command 'regions' already exists; skipped" in result.stderr


@pytest.fixture
def third_party_lab(lab_catalog: LabCatalog) -> Callable[..., Any]:
    """Runs ``kura --catalog <lab> ...`` with only the built-ins and the throwaway providers."""
    catalog = lab_catalog(load_balancer_provider="fake-lb", ingress_provider="fake-ingress")
    host = bare_host()
    host.register(ThirdPartyPlugin(), name="third-party")

    def run(*args: str) -> Any:
        result = CliRunner().invoke(build_cli(host), ["--catalog", str(catalog), *args])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    return run


def test_region_can_name_a_third_party_provider_without_core_changes(
    third_party_lab: Callable[..., Any],
) -> None:
    (region,) = third_party_lab("regions", "--env", "lab", "-o", "json")
    assert (region["load_balancer_provider"], region["ingress_provider"]) == (
        "fake-lb",
        "fake-ingress",
    )


def test_third_party_load_balancer_annotates_the_dedicated_gateway(
    third_party_lab: Callable[..., Any],
) -> None:
    gateway, instance = third_party_lab(
        "render", "--env", "lab", "--region", "lab-1", "--account-id", "7", "--handle", "acme",
        "--plan", "enterprise", "--hosted", "--control-plane-url", "https://tuist.example",
        "-o", "json",
    )  # fmt: skip
    assert gateway["spec"]["loadBalancerAnnotations"] == {
        "fake/name": f"tuist-{gateway['metadata']['name']}-ingress",
        "fake/where": "nbg1",
    }
    assert instance["spec"]["ingressClassName"] == gateway["spec"]["ingressClassName"]


def test_third_party_capacity_figures_reach_the_plan(third_party_lab: Callable[..., Any]) -> None:
    plan = third_party_lab("plan", "--env", "lab", "-o", "json")
    (region,) = plan["regions"]
    assert region["binding"] == "regional-lb"
    assert region["shard_ceiling_gbps"] == 3.0
    # The fake ingress provider gives no data-plane figure: nginx's is not used in its place.
    assert region["unknown_components"] == ["data-plane"]
    names = [component["name"] for component in region["components"]]
    assert "nginx-workers" not in names
    (data_plane,) = [c for c in region["components"] if c["name"] == "data-plane"]
    assert (data_plane["figure"], data_plane["effective_gbps"]) == ("unknown", None)
    assert data_plane["source"] == (
        "the ingress provider fake-ingress gives no figure for its data plane"
    )


def test_plugins_command_lists_hooks_versions_and_providers() -> None:
    result = CliRunner().invoke(build_cli(PluginHost(environ={})), ["plugins", "-o", "json"])
    assert result.exit_code == 0, result.output
    assert '"load_balancer_providers": [\n    "hetzner"\n  ]' in result.stdout
    assert '"distribution": "kura-provider-hetzner"' in result.stdout
    assert '"problems": []' in result.stdout


def test_plugins_table_says_which_plugin_registers_which_provider() -> None:
    cli = build_cli(PluginHost(environ={}))
    report = json.loads(CliRunner().invoke(cli, ["plugins", "-o", "json"]).stdout)
    providers = {plugin["name"]: plugin["providers"] for plugin in report["plugins"]}
    assert providers["hetzner"] == ["hetzner (load balancer)", "ingress-nginx (ingress)"]
    assert providers["kura_core.builtin"] == []
    table = CliRunner().invoke(cli, ["plugins"]).stdout
    assert "PROVIDERS" in table
    assert "hetzner (load balancer), ingress-nginx (ingress)" in table


@pytest.mark.parametrize("variable", ["KURA_LOAD_PLUGINS", "KURA_DISABLED_PLUGINS"])
def test_a_plugin_name_that_matches_nothing_is_a_warning_and_exit_1(variable: str) -> None:
    host = PluginHost(environ={variable: "nonexistent"})
    result = CliRunner().invoke(build_cli(host), ["plugins"])
    assert result.exit_code == 1
    assert f"kura: warning: {variable} names 'nonexistent', which is no installed plugin" in (
        result.stderr
    )
    # Other commands still run; the warning is all they say about it.
    burst = ["burst", "--jobs", "1", "--size", "1GB", "--window", "1m"]
    other = CliRunner().invoke(build_cli(host), burst)
    assert other.exit_code == 0
    assert "names 'nonexistent'" in other.stderr


# --- load-balancer overrides -----------------------------------------------------------------


class _KeepsItsName(FakeLoadBalancers):
    """Honours every override but its name, and drops any `fake/drop`."""

    def service_annotations(self, region: Region | None, **options: Any) -> dict[str, str]:
        kept = {k: v for k, v in (options["overrides"] or {}).items() if k != "fake/drop"}
        return {**kept, "fake/name": options["load_balancer_name"]}


def test_the_overrides_a_provider_does_not_honour_are_named() -> None:
    region = Region(id="lab", display_name="Lab", location="nbg1", node_pool="lab")
    gateway = parse_gateway(
        {
            "apiVersion": "kura.tuist.dev/v1alpha1",
            "kind": "KuraGateway",
            "metadata": {"name": "kgw-0123456789ab-lab"},
            "spec": {
                "region": "lab",
                "ingressClassName": "kura-lab-kgw-0123456789ab-lab",
                "loadBalancerAnnotations": {
                    "fake/name": "other",
                    "fake/drop": "x",
                    "fake/size": "big",
                },
            },
        }
    )
    assert ignored_annotations_warning(gateway, region, FakeLoadBalancers()) is None
    assert ignored_annotations_warning(gateway, region, _KeepsItsName()) == (
        "spec.loadBalancerAnnotations: ignored fake/drop (left out), fake/name (kept "
        "'tuist-kgw-0123456789ab-lab-ingress'): the load-balancer provider 'fake-lb' sets them "
        "from the gateway's name and region"
    )
