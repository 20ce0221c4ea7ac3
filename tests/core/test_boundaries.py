"""The package boundaries the README promises (Architecture, "Boundaries"), each checked."""

from __future__ import annotations

import ast
import functools
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("textual", "kopf", "kubernetes", "hcloud", "urllib3")


@functools.cache  # each source file is checked by up to five rules: parsed once
def imported_modules(path: Path) -> frozenset[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return frozenset(names)


def sources(package_dir: str) -> list[Path]:
    return sorted((ROOT / "packages" / package_dir / "src").rglob("*.py"))


def heavy_modules_loaded(code: str) -> list[str]:
    """The heavy dependencies a fresh interpreter has loaded after running ``code``."""
    code += (
        f"\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    loaded: list[str] = json.loads(out)
    return loaded


def test_importing_kura_core_and_its_cli_loads_no_heavy_dependency() -> None:
    code = "import kura_core, kura_core.cli.app, kura_core.plugins, kura_core.regions"
    assert heavy_modules_loaded(code) == []


def test_building_the_cli_with_every_plugin_loads_no_heavy_dependency() -> None:
    # Every kura command pays for what plugins import at load time: keep it light.
    code = (
        "from kura_core.cli.app import build_cli\n"
        "from kura_core.plugins import PluginHost\n"
        "host = PluginHost(environ={})\n"
        "build_cli(host); host.providers; host.catalogs\n"
        "assert not host.problems, host.problems\n"
    )
    assert heavy_modules_loaded(code) == []


@pytest.mark.parametrize("path", sources("kura-core"), ids=lambda p: p.name)
def test_kura_core_source_never_imports_heavy_dependencies(path: Path) -> None:
    bad = {m for m in imported_modules(path) if m.split(".")[0] in HEAVY}
    assert not bad, f"{path} imports {sorted(bad)}"


@pytest.mark.parametrize(
    "path",
    [
        p
        for d in (
            "kura-core",
            "kura-kube",
            "kura-operator",
            "kura-dashboard",
            "kura-smoke",
            "kura-provider-hetzner",
            "kura-provider-gateway-api",
        )
        for p in sources(d)
    ],
    ids=lambda p: f"{p.parts[-4]}/{p.name}",
)
def test_nothing_imports_a_provider_directly(path: Path) -> None:
    own = path.parts[-2]
    providers = {"kura_provider_hetzner", "kura_provider_gateway_api"} - {own}
    bad = {m for m in imported_modules(path) if m.split(".")[0] in providers}
    assert not bad, f"{path} imports {sorted(bad)}: reach providers through the plugin manager"


def test_every_package_has_its_own_test_folder_with_a_conftest() -> None:
    packages = sorted(p.name for p in (ROOT / "packages").iterdir() if p.is_dir())
    folders = {
        "kura-core": "core",
        "kura-kube": "kube",
        "kura-provider-hetzner": "provider_hetzner",
        "kura-provider-gateway-api": "provider_gateway_api",
        "kura-operator": "operator",
        "kura-dashboard": "dashboard",
        "kura-smoke": "smoke",
        "kura-testing": "testing",
    }
    assert packages == sorted(folders)
    for folder in folders.values():
        assert (ROOT / "tests" / folder / "conftest.py").is_file()


def test_every_public_name_of_kura_core_resolves_to_its_module() -> None:
    import kura_core

    for name in kura_core.__all__:
        value = getattr(kura_core, name)
        if name != "__version__":
            module = importlib.import_module(kura_core._PUBLIC[name])
            assert getattr(module, name) is value, name
    with pytest.raises(AttributeError, match="no attribute 'internal_helper'"):
        kura_core.internal_helper  # noqa: B018


def test_every_public_name_is_documented_for_plugin_authors() -> None:
    import kura_core

    page = (ROOT / "docs" / "plugin-utilities.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)(?:\(|`)", page))
    public = set(kura_core.__all__) - {"__version__"}
    assert sorted(public - documented) == []


def test_the_example_plugin_imports_only_the_public_api() -> None:
    example = ROOT / "docs" / "examples" / "third_party_plugin.py"
    assert {m for m in imported_modules(example) if m.startswith("kura")} == {"kura_core"}


@pytest.mark.parametrize(
    "path",
    [
        p
        for d in (
            "kura-kube",
            "kura-provider-hetzner",
            "kura-provider-gateway-api",
            "kura-operator",
            "kura-dashboard",
            "kura-smoke",
        )
        for p in sources(d)
    ],
    ids=lambda p: f"{p.parts[-4]}/{p.name}",
)
def test_plugins_import_only_kura_cores_public_api(path: Path) -> None:
    internal = sorted(m for m in imported_modules(path) if m.startswith("kura_core."))
    assert not internal, (
        f"{path} imports {internal}: import from `kura_core` itself "
        "(docs/plugin-utilities.md); add a name to kura_core.__all__ if a plugin needs it"
    )


def test_importing_kura_kube_loads_no_kubernetes_client() -> None:
    # Its error and requests are what every caller needs; a client is imported where it is used.
    assert heavy_modules_loaded("import kura_kube, kura_kube.requests") == []


@pytest.mark.parametrize(
    "path",
    [p for d in ("kura-provider-hetzner", "kura-provider-gateway-api") for p in sources(d)],
    ids=lambda p: f"{p.parts[-4]}/{p.name}",
)
def test_providers_render_and_never_reach_kubernetes(path: Path) -> None:
    # A provider turns resources into objects; the operator applies them.
    bad = {m for m in imported_modules(path) if m.split(".")[0] in {"kura_kube", "kubernetes"}}
    assert not bad, f"{path} imports {sorted(bad)}"


@pytest.mark.parametrize(
    "path",
    [p for d in ("kura-operator", "kura-dashboard", "kura-smoke") for p in sources(d)],
    ids=lambda p: f"{p.parts[-4]}/{p.name}",
)
def test_kubernetes_is_reached_only_through_kura_kube(path: Path) -> None:
    # One request builder and one error type: no package speaks to the API server on its own.
    reaching = {"kubernetes", "kubernetes_asyncio"}
    bad = {m for m in imported_modules(path) if m.split(".")[0] in reaching}
    assert not bad, f"{path} imports {sorted(bad)}: use kura_kube"
