from __future__ import annotations

from importlib.metadata import entry_points, version

import kura_provider_hetzner
from kura_core.plugins import PluginHost


def test_package_is_versioned() -> None:
    assert kura_provider_hetzner.__version__ == version("kura-provider-hetzner")


def test_registered_in_the_kura_entry_point_group() -> None:
    (entry,) = [ep for ep in entry_points(group="kura") if ep.name == "hetzner"]
    assert entry.dist is not None
    assert entry.dist.name == "kura-provider-hetzner"
    infos = {
        info.name: info
        for info in PluginHost(environ={"KURA_LOAD_PLUGINS": "hetzner"}).plugin_infos()
    }
    assert infos["hetzner"].version == version("kura-provider-hetzner")
