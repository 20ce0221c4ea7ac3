"""Test support for kura and its plugins.

``kura-envtest`` builds a real Kubernetes control plane (etcd, kube-apiserver and
kube-controller-manager) from the Go module proxy and runs it on loopback; the pytest plugin
registered by this package yields it to tests as the ``kube_control_plane`` fixture.
"""

from kura_testing.client import KubeClient, KubeRequestError
from kura_testing.control_plane import ControlPlane, ControlPlaneError
from kura_testing.release import KUBERNETES_VERSION, Binaries, BinariesMissing

__all__ = [
    "KUBERNETES_VERSION",
    "Binaries",
    "BinariesMissing",
    "ControlPlane",
    "ControlPlaneError",
    "KubeClient",
    "KubeRequestError",
]
