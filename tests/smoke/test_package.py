from __future__ import annotations

from importlib.metadata import entry_points, version

import kura_smoke
from kura_core.plugins import PluginHost


def test_package_is_versioned() -> None:
    assert kura_smoke.__version__ == version("kura-smoke")


def test_registered_in_the_kura_entry_point_group() -> None:
    (entry,) = [ep for ep in entry_points(group="kura") if ep.name == "smoke"]
    assert entry.dist is not None
    assert entry.dist.name == "kura-smoke"
    infos = {
        info.name: info
        for info in PluginHost(environ={"KURA_LOAD_PLUGINS": "smoke"}).plugin_infos()
    }
    assert infos["smoke"].version == version("kura-smoke")
