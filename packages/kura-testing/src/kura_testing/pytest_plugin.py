"""pytest fixtures around the real control plane; registered through the ``pytest11`` entry point.

One control plane per session (per xdist worker): starting one costs a few seconds, a namespace
costs milliseconds, so tests isolate themselves with ``kube_namespace``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from kura_testing.client import KubeClient, KubeRequestError
from kura_testing.control_plane import ControlPlane
from kura_testing.crds import kura_platform_crds
from kura_testing.release import INSTALL_COMMAND, Binaries

PLATFORM_NAMESPACE = "kura"
FIELD_MANAGER = "kura-testing"


def unavailable(reason: str) -> None:
    """Skip on a laptop; fail under ``CI=true``, where a missing part is a broken set-up."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI must have it)")
    pytest.skip(reason)


def install_platform(admin: KubeClient) -> None:
    """The namespace a kura cluster has before the operator runs (the CRDs come with the start)."""
    admin.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": PLATFORM_NAMESPACE}},
        field_manager=FIELD_MANAGER,
    )


@pytest.fixture(scope="session")
def kube_control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A running control plane with kura's platform CRDs and namespace ``kura``.

    Its audit log (every request, reads included; writes with their bodies) is at
    ``kube_control_plane.audit_log``: tests count and read an operator's requests from it.
    """
    binaries = Binaries.cached()
    if not binaries.complete:
        unavailable(f"the real Kubernetes control plane is not built: run `{INSTALL_COMMAND}`")
    workdir = tmp_path_factory.mktemp("control-plane")
    audit_log = workdir / "audit.jsonl"
    with ControlPlane(
        binaries,
        audit_log=audit_log,
        audit_reads=True,
        audit_bodies=True,
        workdir=workdir,
        crds=kura_platform_crds(),
    ) as plane:
        install_platform(plane.admin)
        yield plane


@pytest.fixture(scope="session")
def kube_admin(kube_control_plane: ControlPlane) -> KubeClient:
    return kube_control_plane.admin


@pytest.fixture
def kube_namespace(kube_admin: KubeClient) -> Iterator[str]:
    """A fresh namespace for one test; deleted afterwards (the namespace controller empties it)."""
    name = f"t-{secrets.token_hex(4)}"
    kube_admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    try:
        kube_admin.delete("namespaces", None, name)
    except KubeRequestError as exc:
        if exc.status != 409:
            raise
