"""Fixtures for the kura-smoke tests: a running test bed, the Kubernetes double, a ``kura`` runner.

The test bed runs the real nginx (skipped without it on a laptop, required in CI); its Kura
nodes and control plane run on threads of the test process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kura_core.cli.app import build_cli
from kura_core.plugins import PluginHost
from kura_smoke.testbed.bed import TestBed, TestBedSettings
from kura_testing.binaries import require_binary

InvokeKura = Callable[..., Result]


@pytest.fixture(scope="session")
def plugin_host() -> PluginHost:
    """Every installed plugin, as ``kura`` loads them (the ingress-nginx provider included)."""
    return PluginHost(environ={})


@pytest.fixture
def make_bed(tmp_path: Path, plugin_host: PluginHost) -> Iterator[Callable[..., TestBed]]:
    """Start a test bed with the given settings; every bed started is stopped after the test."""
    nginx = require_binary("nginx")
    beds: list[TestBed] = []

    def make(**settings: Any) -> TestBed:
        bed_settings = TestBedSettings(**settings)
        region = plugin_host.catalog(bed_settings.env).get("eu-central")
        bed = TestBed(
            bed_settings,
            region=region,
            ingress_provider=plugin_host.ingress_provider(region.ingress_provider),
            load_balancer_provider=plugin_host.load_balancer_provider(
                region.load_balancer_provider
            ),
            directory=tmp_path / f"bed{len(beds)}",
            nginx_binary=nginx,
        )
        beds.append(bed)
        bed.start()
        return bed

    yield make
    for bed in beds:
        bed.stop()


@pytest.fixture
def bed(make_bed: Callable[..., TestBed]) -> TestBed:
    return make_bed()


@pytest.fixture
def kura(plugin_host: PluginHost) -> InvokeKura:
    """``kura <args>`` in-process; stdout and stderr stay apart."""

    def invoke(*args: str, env: dict[str, str | None] | None = None) -> Result:
        return CliRunner().invoke(build_cli(plugin_host), list(args), env=env)

    return invoke
