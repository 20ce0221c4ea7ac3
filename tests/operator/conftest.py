"""Fixtures for the kura-operator tests: ``kube``, a Kubernetes API double on its own thread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.operator.harness import Cluster
from tests.operator.harness import cluster as running_cluster
from tests.support.kube_double import KubeDouble


@pytest.fixture
def kube() -> Iterator[KubeDouble]:
    """A started :class:`KubeDouble` serving the standard resources at ``kube.url``."""
    with KubeDouble.in_thread() as double:
        yield double


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """The double with namespace ``kura``; start operators with ``cluster.start_operator()``."""
    with running_cluster(tmp_path) as running:
        yield running
