"""What the README promises a new user holds."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import click
import pytest

from kura_core.cli.app import build_cli
from kura_core.plugins import PluginHost
from kura_testing import binaries

ROOT = Path(__file__).resolve().parents[2]
README = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
BOOTSTRAP = ROOT / "scripts" / "bootstrap"


def _leaf_commands(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(command, click.Group):
        return [
            leaf
            for name, sub in sorted(command.commands.items())
            for leaf in _leaf_commands(sub, (*path, name))
        ]
    return [path]


def test_every_command_takes_o_but_the_ones_the_readme_names() -> None:
    cli = build_cli(PluginHost(environ={}))
    without = []
    for path in _leaf_commands(cli):
        command: click.Command = cli
        for name in path:
            assert isinstance(command, click.Group)
            command = command.commands[name]
        if not any("-o" in getattr(param, "opts", []) for param in command.params):
            without.append(" ".join(path))
    assert without == ["dashboard", "operator run"]
    assert "Every command but `kura dashboard` (" in README
    assert "`kura operator run` (a long-running controller) takes `-o table|json|yaml`" in README


def test_the_readme_names_the_binaries_next_to_the_test_command() -> None:
    start = README.index("./scripts/test")
    assert "`nginx` and `prometheus` (the Debian package, which has `promtool`)" in README[start:]


def _fake_path(tmp_path: Path, *binaries: str, uid: int = 1000) -> dict[str, str]:
    for name in binaries:
        fake = tmp_path / name
        fake.write_text("#!/bin/sh\n")
        fake.chmod(0o755)
    fake_id = tmp_path / "id"
    fake_id.write_text(f"#!/bin/sh\necho {uid}\n")
    fake_id.chmod(0o755)
    return {**os.environ, "PATH": str(tmp_path)}


def test_bootstrap_is_quiet_when_everything_is_there(tmp_path: Path) -> None:
    env = _fake_path(tmp_path, "nginx", "prometheus", "promtool", "curl", "jq")
    done = subprocess.run(["/bin/bash", str(BOOTSTRAP)], env=env, capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_bootstrap_names_the_install_command_when_it_cannot_install(tmp_path: Path) -> None:
    # Not root: nothing is installed, the command to run is named, and the tests go on (skipping).
    env = _fake_path(tmp_path, "nginx", uid=1000)
    done = subprocess.run(["/bin/bash", str(BOOTSTRAP)], env=env, capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stdout == ""
    assert "prometheus curl jq missing" in done.stderr
    assert "sudo apt-get install prometheus curl jq" in done.stderr


def test_scripts_test_runs_bootstrap_first() -> None:
    steps = [
        line
        for line in (ROOT / "scripts" / "test").read_text().splitlines()
        if line and not line.startswith(("#", "set ", "cd "))
    ]
    assert steps[0] == "scripts/bootstrap"


def test_a_missing_promtool_names_the_package_that_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(binaries, "find_binary", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"apt-get install prometheus\)"):
        binaries.require_binary("promtool")
