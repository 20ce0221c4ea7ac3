from __future__ import annotations

from importlib.metadata import entry_points, version

import kura_dashboard
from kura_core.plugins import PluginHost


def test_package_is_versioned() -> None:
    assert kura_dashboard.__version__ == version("kura-dashboard")


def test_registered_in_the_kura_entry_point_group() -> None:
    (entry,) = [ep for ep in entry_points(group="kura") if ep.name == "dashboard"]
    assert entry.dist is not None
    assert entry.dist.name == "kura-dashboard"
    infos = {
        info.name: info
        for info in PluginHost(environ={"KURA_LOAD_PLUGINS": "dashboard"}).plugin_infos()
    }
    assert infos["dashboard"].version == version("kura-dashboard")
