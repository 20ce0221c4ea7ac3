"""``kura-envtest install``: build the control plane from the Go module proxy, once per machine."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kura_testing.release import (
    ETCD_VERSION,
    GO_MODULE,
    GO_PACKAGES,
    KUBERNETES_VERSION,
    MANIFEST,
    Binaries,
)

MINIMUM_GO = (1, 26)
# Debian installs Go's official tarball layout nowhere on PATH by default.
GO_FALLBACKS = (Path("/usr/local/go/bin/go"), Path("/usr/lib/go/bin/go"))
PROGRESS_EVERY = 10.0


class BuildError(Exception):
    """Go is missing, too old, or the build failed: the message says which and what to do."""


Say = Callable[[str], None]


def find_go() -> str:
    found = shutil.which("go") or next((str(p) for p in GO_FALLBACKS if p.is_file()), None)
    if found is None:
        raise BuildError(
            "Go is not installed: kura-envtest builds kube-apiserver, kube-controller-manager and "
            f"etcd from source and needs Go {'.'.join(map(str, MINIMUM_GO))} or newer on PATH"
        )
    answer = subprocess.run([found, "env", "GOVERSION"], capture_output=True, text=True)
    match = re.match(r"go(\d+)\.(\d+)", answer.stdout.strip())
    if answer.returncode != 0 or match is None:
        raise BuildError(f"{found} did not say its version: {answer.stderr.strip()}")
    if (int(match[1]), int(match[2])) < MINIMUM_GO:
        raise BuildError(
            f"{found} is {answer.stdout.strip()}; the control plane needs Go "
            f"{'.'.join(map(str, MINIMUM_GO))} or newer"
        )
    return found


def module_digest() -> str:
    """What the build depends on: go.mod, go.sum and our own Go source."""
    digest = hashlib.sha256()
    for path in sorted(GO_MODULE.rglob("*")):
        if path.is_file() and path.suffix in {".mod", ".sum", ".go"}:
            digest.update(path.relative_to(GO_MODULE).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def is_current(binaries: Binaries) -> bool:
    if not binaries.complete:
        return False
    manifest = json.loads((binaries.directory / MANIFEST).read_text())
    return bool(manifest.get("module_digest") == module_digest())


@contextmanager
def _exclusive(root: Path) -> Iterator[None]:
    """One build per cache at a time: parallel test workers or two shells wait for each other."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _go_env(go: str) -> dict[str, str]:
    env = dict(os.environ)
    # The committed go.sum is the truth: never rewrite it, never reach for a newer module.
    env["GOFLAGS"] = "-mod=readonly -buildvcs=false"
    env["CGO_ENABLED"] = "0"
    env.setdefault("GOTOOLCHAIN", "local")
    return env


def _ldflags() -> str:
    major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    # component-base is what the servers report; client-go's is their own user agent.
    flags = ["-s", "-w"]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {package}.gitVersion={KUBERNETES_VERSION}",
            f"-X {package}.gitMajor={major}",
            f"-X {package}.gitMinor={minor}",
            f"-X {package}.gitTreeState=clean",
        ]
    return " ".join(flags)


def install(binaries: Binaries, *, say: Say, force: bool = False) -> Binaries:
    """Build the binaries into ``binaries.directory`` unless a complete, current build is there."""
    with _exclusive(binaries.directory.parent):
        if not force and is_current(binaries):
            say(f"kura-envtest: Kubernetes {KUBERNETES_VERSION} is built in {binaries.directory}")
            return binaries
        go = find_go()
        env = _go_env(go)
        packages = list(GO_PACKAGES.values())
        say(f"kura-envtest: building Kubernetes {KUBERNETES_VERSION} and etcd {ETCD_VERSION}")
        say("kura-envtest: listing packages (downloads the modules on first use)")
        listed = _run([go, "list", "-deps", *packages], env=env)
        total = len(listed.split())
        staging = binaries.directory.parent / f".build-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        started = time.monotonic()
        command = [go, "build", "-v", "-trimpath", "-ldflags", _ldflags(), "-o", f"{staging}/"]
        _build([*command, *packages], env=env, total=total, say=say)
        manifest = {
            "kubernetes": KUBERNETES_VERSION,
            "etcd": ETCD_VERSION,
            "module_digest": module_digest(),
            "build_seconds": round(time.monotonic() - started, 1),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        shutil.rmtree(binaries.directory, ignore_errors=True)
        staging.rename(binaries.directory)
        say(f"kura-envtest: built in {manifest['build_seconds']:.0f} s into {binaries.directory}")
        return binaries


def _run(command: list[str], *, env: dict[str, str]) -> str:
    answer = subprocess.run(command, cwd=GO_MODULE, env=env, capture_output=True, text=True)
    if answer.returncode != 0:
        raise BuildError(f"`{' '.join(command[1:3])}` failed:\n{answer.stderr.strip()}")
    return answer.stdout


def _build(command: list[str], *, env: dict[str, str], total: int, say: Say) -> None:
    """``go build -v`` names each package as it compiles it: that is the progress."""
    process = subprocess.Popen(
        command, cwd=GO_MODULE, env=env, stderr=subprocess.PIPE, text=True, bufsize=1
    )
    assert process.stderr is not None
    compiled, errors, last = 0, [], time.monotonic()
    for line in process.stderr:
        if re.fullmatch(r"[\w.\-/]+", line.strip()):
            compiled += 1
        else:
            errors.append(line.rstrip())
        if time.monotonic() - last >= PROGRESS_EVERY:
            last = time.monotonic()
            say(f"kura-envtest: compiled {compiled} of at most {total} packages")
    if process.wait() != 0:
        raise BuildError("go build failed:\n" + "\n".join(errors[-30:]))
