"""Fixtures for the kura-operator tests: ``kube``, a Kubernetes API double on its own thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.kube_double import KubeDouble


@pytest.fixture
def kube() -> Iterator[KubeDouble]:
    """A started :class:`KubeDouble` serving the standard resources at ``kube.url``."""
    with KubeDouble.in_thread() as double:
        yield double
