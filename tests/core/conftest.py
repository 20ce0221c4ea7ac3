"""Fixtures for kura-core tests: a plugin host with the installed plugins, and a CLI runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from kura_core.cli.app import build_cli
from kura_core.plugins import PluginHost

Invoke = Callable[..., Result]
LabCatalog = Callable[..., Path]


@pytest.fixture
def lab_catalog(tmp_path: Path) -> LabCatalog:
    """Writes a catalog file with env ``lab`` and one region ``lab-1``; extra keys are merged in."""

    def write(**extra: str) -> Path:
        region = {"id": "lab-1", "display_name": "Lab", "location": "nbg1", "node_pool": "lab"}
        path = tmp_path / "catalog.yaml"
        path.write_text(yaml.safe_dump({"environments": {"lab": [region | extra]}}))
        return path

    return write


@pytest.fixture
def host() -> PluginHost:
    """A host that loads the workspace's installed plugins, as the real CLI does."""
    return PluginHost(environ={})


@pytest.fixture
def invoke(host: PluginHost) -> Invoke:
    """Run ``kura`` with arguments; stdout and stderr are kept apart."""

    def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
        return CliRunner().invoke(build_cli(host), list(args), env=env, catch_exceptions=False)

    return run
