"""Which control plane kura tests against, and where its binaries are cached.

The versions are the ones pinned in the Go module beside this file (``go/go.mod``): one
``k8s.io/kubernetes`` release with every staging module at the matching ``v0.<minor>.<patch>``,
and the etcd server release that this Kubernetes release itself requires.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.8"
GO_MODULE = Path(__file__).parent / "go"
# Built in one `go build`: the two Kubernetes commands from k8s.io/kubernetes, etcd from ours.
GO_PACKAGES = {
    "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
    "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
    "etcd": "./cmd/etcd",
}
INSTALL_COMMAND = "uv run kura-envtest install"
MANIFEST = "manifest.json"


class BinariesMissing(Exception):
    """The control plane has not been built on this machine (or its cache is incomplete)."""


def cache_root(environ: dict[str, str] | None = None) -> Path:
    """``$KURA_ENVTEST_CACHE``, else ``$XDG_CACHE_HOME/kura/envtest``, else ``~/.cache/…``."""
    env = os.environ if environ is None else environ
    if env.get("KURA_ENVTEST_CACHE"):
        return Path(env["KURA_ENVTEST_CACHE"])
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "kura" / "envtest"


@dataclass(frozen=True)
class Binaries:
    """The three binaries of one cached release."""

    directory: Path

    @classmethod
    def cached(cls, environ: dict[str, str] | None = None) -> Binaries:
        return cls(cache_root(environ) / KUBERNETES_VERSION)

    def path(self, name: str) -> Path:
        return self.directory / name

    @property
    def complete(self) -> bool:
        # The manifest is written last, after every binary is in place.
        return (self.directory / MANIFEST).is_file() and all(
            self.path(name).is_file() for name in GO_PACKAGES
        )

    def require(self) -> Binaries:
        if not self.complete:
            raise BinariesMissing(
                f"the Kubernetes {KUBERNETES_VERSION} control plane is not built in "
                f"{self.directory}: run `{INSTALL_COMMAND}` (needs Go 1.26 or newer)"
            )
        return self
