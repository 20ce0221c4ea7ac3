"""Fixtures for the kura-operator tests.

``cluster`` is the Kubernetes double by default. Modules whose tests are end to end run it on the
real control plane instead, with ``pytestmark = REAL`` (one control plane per xdist worker, a
namespace per test); the double stays for what a real server cannot do on demand (injected
faults, hangs, dropped watches): a test in such a module that needs it is marked ``double``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.operator.harness import Cluster
from tests.operator.harness import cluster as double_cluster
from tests.operator.real_cluster import real_cluster

REAL = [pytest.mark.e2e, pytest.mark.real]


@pytest.fixture
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    """Namespace ``kura`` on the double, or (``real``) a test namespace on the control plane;
    start operators with ``cluster.start_operator()``."""
    marked_real = request.node.get_closest_marker("real") is not None
    if marked_real and request.node.get_closest_marker("double") is None:
        plane = request.getfixturevalue("operator_control_plane")
        namespace = request.getfixturevalue("kube_namespace")
        with real_cluster(plane, tmp_path, namespace) as running:
            yield running
    else:
        with double_cluster(tmp_path) as running:
            yield running
