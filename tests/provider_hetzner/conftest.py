"""Fixtures for the kura-provider-hetzner tests: the Hetzner API double and a ``kura`` runner."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner, Result

from kura_core.cli.app import build_cli
from kura_core.plugins import PluginHost
from kura_testing.hcloud_double import HetznerDouble, running_double

# Distinctive, so a test can grep every output for it.
TOKEN = "kuraTestToken0123456789abcdefSECRET"
# Small, so the never-answering server fails the test quickly.
TEST_TIMEOUT = "0.5"

InvokeKura = Callable[..., Result]


@pytest.fixture
def hetzner() -> Iterator[HetznerDouble]:
    """A running API double that accepts :data:`TOKEN` and holds no load balancers yet."""
    with running_double(TOKEN) as double:
        yield double


@pytest.fixture
def kura(hetzner: HetznerDouble) -> InvokeKura:
    """Run ``kura`` with only the hetzner plugin, ``HCLOUD_*`` pointing at the double.

    ``env`` entries are added to (or, set to ``None``, removed from) that environment.
    """

    def run(
        *args: str, env: dict[str, str | None] | None = None, input: str | None = None
    ) -> Result:
        host = PluginHost(environ={"KURA_LOAD_PLUGINS": "hetzner"})
        environ: dict[str, str | None] = {
            "HCLOUD_TOKEN": TOKEN,
            "HCLOUD_ENDPOINT": hetzner.url,
            "KURA_ENV": None,
            "KURA_CATALOG": None,
            "KURA_HETZNER_LB_PLANNING_BANDWIDTH": None,
        }
        environ.update(env or {})
        return CliRunner().invoke(
            build_cli(host), list(args), env=environ, input=input, catch_exceptions=False
        )

    return run
