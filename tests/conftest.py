"""Settings shared by every test folder."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings
from kubernetes_validate import utils as schemas

if TYPE_CHECKING:
    from kura_testing.control_plane import ControlPlane
    from kura_testing.kube_double import KubeDouble

# Tests never assert on wall-clock time, and hypothesis's per-example deadline is one: on two
# shared cores an example that takes 20 ms alone can take 2 s.
settings.register_profile("local", deadline=None)
# CI must not fail on an example no developer has seen: there, properties run the same
# examples every time. Locally they stay random, which is how new edge cases are found.
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "local")

# kubernetes-validate reads its multi-megabyte schema files again on every call (60 ms each),
# and lists its schema folder twice per call; neither changes, so tests that validate thousands
# of objects read each file and the listing once.
schemas.schema_contents = functools.cache(schemas.schema_contents)
schemas.all_versions = functools.cache(schemas.all_versions)


# The fixtures import what they start when they start it: xdist's controller reads this file
# too, and no worker starts before it has (the operator's test harness alone takes a second).


@pytest.fixture
def kube() -> Iterator[KubeDouble]:
    """A started :class:`KubeDouble` serving the standard resources at ``kube.url``."""
    from kura_testing.kube_double import KubeDouble

    with KubeDouble.in_thread() as double:
        yield double


@pytest.fixture(scope="session")
def operator_control_plane(kube_control_plane: ControlPlane) -> ControlPlane:
    """The real control plane with the operator's deploy base applied by ``kubectl apply -k``."""
    from tests.operator.real_cluster import install_deploy_base

    install_deploy_base(kube_control_plane)
    return kube_control_plane


# Fixtures that start real processes: the control plane, the operator, nginx, prometheus. A test
# that uses one is end to end (``-m "not e2e"`` is the fast lane); one that starts a process
# by other means carries the mark itself.
E2E_FIXTURES = frozenset(
    {
        "cluster",
        "kube_control_plane",
        "kube_admin",
        "kube_namespace",
        "operator_control_plane",
        "make_bed",
        "bed",
        "server",
        "lone_server",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)
