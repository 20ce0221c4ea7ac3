from __future__ import annotations

from importlib.metadata import entry_points, version

import kura_operator
from kura_core.plugins import PluginHost


def test_package_is_versioned() -> None:
    assert kura_operator.__version__ == version("kura-operator")


def test_registered_in_the_kura_entry_point_group() -> None:
    (entry,) = [ep for ep in entry_points(group="kura") if ep.name == "operator"]
    assert entry.dist is not None
    assert entry.dist.name == "kura-operator"
    infos = {
        info.name: info
        for info in PluginHost(environ={"KURA_LOAD_PLUGINS": "operator"}).plugin_infos()
    }
    assert infos["operator"].version == version("kura-operator")
