"""``kura-envtest``: the build cache, its error messages and the ``up`` command's contract."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kura_testing import build
from kura_testing.build import BuildError, find_go, install, is_current, module_digest
from kura_testing.release import GO_PACKAGES, MANIFEST, Binaries, BinariesMissing, cache_root

ENVTEST = Path(sys.executable).parent / "kura-envtest"


def test_the_cache_follows_the_environment(tmp_path: Path) -> None:
    assert cache_root({"KURA_ENVTEST_CACHE": str(tmp_path)}) == tmp_path
    assert cache_root({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "kura" / "envtest"


def _fake_build(directory: Path, digest: str) -> Binaries:
    directory.mkdir(parents=True)
    for name in GO_PACKAGES:
        (directory / name).write_text("")
    (directory / MANIFEST).write_text(json.dumps({"module_digest": digest}))
    return Binaries(directory)


def test_a_complete_build_of_the_same_module_is_reused(tmp_path: Path) -> None:
    binaries = _fake_build(tmp_path / "v", module_digest())
    said: list[str] = []
    assert install(binaries, say=said.append) == binaries
    assert said == [f"kura-envtest: Kubernetes v1.36.3 is built in {binaries.directory}"]


def test_a_build_of_another_module_or_an_incomplete_one_is_not_current(tmp_path: Path) -> None:
    assert not is_current(_fake_build(tmp_path / "a", "another"))
    incomplete = _fake_build(tmp_path / "b", module_digest())
    (incomplete.directory / "etcd").unlink()
    assert not is_current(incomplete)
    with pytest.raises(BinariesMissing, match="run `uv run kura-envtest install`"):
        incomplete.require()


def test_without_go_the_error_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(build, "GO_FALLBACKS", ())
    with pytest.raises(BuildError, match=r"Go is not installed.*needs Go 1\.26 or newer"):
        find_go()


def test_an_old_go_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    go = tmp_path / "go"
    go.write_text("#!/bin/sh\necho go1.22.5\n")
    go.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BuildError, match=r"is go1\.22\.5; the control plane needs Go 1\.26"):
        find_go()


def test_up_without_a_build_is_one_line_and_exit_1(tmp_path: Path) -> None:
    env = {**os.environ, "KURA_ENVTEST_CACHE": str(tmp_path)}
    answer = subprocess.run(
        [str(ENVTEST), "up", "--kubeconfig", str(tmp_path / "kc")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert answer.returncode == 1
    assert answer.stdout == ""
    assert answer.stderr.count("\n") == 1
    assert "run `uv run kura-envtest install`" in answer.stderr


def test_path_names_the_built_binaries_or_says_how_to_build_them(tmp_path: Path) -> None:
    env = {**os.environ, "KURA_ENVTEST_CACHE": str(tmp_path)}
    missing = subprocess.run([str(ENVTEST), "path"], env=env, capture_output=True, text=True)
    assert missing.returncode == 1
    assert "run `uv run kura-envtest install`" in missing.stderr
    built = _fake_build(tmp_path / "v1.36.3", module_digest())
    found = subprocess.run([str(ENVTEST), "path"], env=env, capture_output=True, text=True)
    assert (found.returncode, found.stdout) == (0, f"{built.directory}\n")


def _children(pid: int) -> set[int]:
    found = set()
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(status.parent.name))
    return found


def _gone(pids: set[int], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not [p for p in pids if Path(f"/proc/{p}").exists()]:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.e2e
@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT"])
def test_up_prints_ready_serves_and_stops_everything_on_a_signal(tmp_path: Path, how: str) -> None:
    if not Binaries.cached().complete:
        pytest.skip("the control plane is not built: run `uv run kura-envtest install`")
    kubeconfig, audit = tmp_path / "kubeconfig", tmp_path / "audit.jsonl"
    with subprocess.Popen(
        [str(ENVTEST), "up", "--kubeconfig", str(kubeconfig), "--audit-log", str(audit)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
        components = _children(process.pid)
        assert len(components) == 3
        kubectl = Path(sys.executable).parent / "kubectl"
        answer = subprocess.run(
            [str(kubectl), "--kubeconfig", str(kubeconfig), "create", "namespace", "probe"],
            capture_output=True,
            text=True,
        )
        assert answer.returncode == 0, answer.stderr
        assert '"verb":"create"' in audit.read_text()
        process.send_signal(getattr(signal, how))
        assert process.wait(30) == 0
        assert _gone(components)


@pytest.mark.e2e
def test_up_stops_everything_when_its_parent_dies(tmp_path: Path) -> None:
    if not Binaries.cached().complete:
        pytest.skip("the control plane is not built: run `uv run kura-envtest install`")
    kubeconfig = tmp_path / "kubeconfig"
    # A parent shell that starts `up`, reports its pid, then is killed with SIGKILL.
    with subprocess.Popen(
        ["sh", "-c", f'"{ENVTEST}" up --kubeconfig "{kubeconfig}" 2>/dev/null & echo $!; wait'],
        stdout=subprocess.PIPE,
        text=True,
    ) as parent:
        assert parent.stdout is not None
        up = int(parent.stdout.readline())
        assert parent.stdout.readline() == "ready\n"
        components = _children(up)
        assert len(components) == 3
        parent.kill()
        parent.wait(5)
        assert _gone({up, *components})
