"""etcd, kube-apiserver and kube-controller-manager on 127.0.0.1, started and stopped together.

Each run gets free ports, a temporary data directory, its own CA, serving certificate and
ServiceAccount signing key, and an admin token (group ``system:masters``) that only this run's
kubeconfig carries. ServiceAccount tokens come from the TokenRequest API
(:meth:`KubeClient.create_token`), as a kubelet would get them. There are no nodes, kubelet or
scheduler: Deployments and StatefulSets get their ReplicaSets and pods from the real controllers,
and :mod:`kura_testing.kubelet` plays the kubelet for the pods a test wants Ready.
"""

from __future__ import annotations

import ctypes
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from kura_testing.client import KubeClient, kubeconfig_yaml, wait_for
from kura_testing.pki import Pki, generate
from kura_testing.ports import free_port
from kura_testing.release import Binaries

ADMIN = "kura-envtest-admin"
# An allocation range for Service ClusterIPs only: no traffic is ever sent there. A /16, since
# every LoadBalancer Service takes one: a /24 ran out at 253 gateways in the scale benchmark.
SERVICE_CIDR = "10.0.0.0/16"
START_TIMEOUT = 60.0
_PR_SET_PDEATHSIG = 1


class ControlPlaneError(Exception):
    """A component did not start or stopped early; the message carries the end of its log."""


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: if the process that started it dies, even by
    # SIGKILL, the kernel sends SIGTERM, so no control plane outlives its owner.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def audit_policy(*, reads: bool, writes: str = "Metadata") -> str:
    """Every write at level ``writes`` (``Request`` adds its body) and, with ``reads``, every
    read at ``Metadata``; nothing else."""
    read_level = "Metadata" if reads else "None"
    return (
        "apiVersion: audit.k8s.io/v1\nkind: Policy\n"
        'omitStages: ["RequestReceived"]\nrules:\n'
        f'  - level: {read_level}\n    verbs: ["get", "list", "watch"]\n'
        f"  - level: {writes}\n"
    )


class ControlPlane:
    """A running control plane; a context manager that stops everything it started."""

    def __init__(
        self,
        binaries: Binaries,
        *,
        audit_log: Path | None = None,
        audit_reads: bool = False,
        audit_bodies: bool = False,
        workdir: Path | None = None,
        crds: Sequence[Mapping[str, Any]] = (),
        node_ports: str = "30000-32767",
        controller_qps: int | None = None,
    ) -> None:
        """``controller_qps``: kube-controller-manager's requests per second to the API server
        (``--kube-api-qps``, burst twice that; its default, 20, paces thousands of Deployments
        to many minutes)."""
        self.binaries = binaries.require()
        self.controller_qps = controller_qps
        self.crds = list(crds)
        # Kubernetes' default: about 920 LoadBalancer Services with a health-check port each.
        self.node_ports = node_ports
        self.audit_log = audit_log
        self.audit_reads = audit_reads
        self.audit_bodies = audit_bodies
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="kura-envtest-"))
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.token = secrets.token_urlsafe(32)
        self.port = 0
        self._admin: KubeClient | None = None
        self._pki: Pki | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> ControlPlane:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        assert self._pki is not None
        return self._pki.ca_cert

    @property
    def admin(self) -> KubeClient:
        """A client with the admin token."""
        if self._admin is None:
            self._admin = KubeClient(self.url, self.token, self.ca_file)
        return self._admin

    def log(self, component: str) -> Path:
        return self.workdir / f"{component}.log"

    def start(self) -> None:
        pki = self._pki = generate(self.workdir / "pki")
        etcd_client, etcd_peer, self.port = free_port(), free_port(), free_port()
        self._spawn(
            "etcd",
            [
                "--name=envtest",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{etcd_client}",
                f"--advertise-client-urls=http://127.0.0.1:{etcd_client}",
                f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-cluster=envtest=http://127.0.0.1:{etcd_peer}",
                # Test data only: nothing here must survive a power cut.
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        tokens = self.workdir / "tokens.csv"
        tokens.write_text(f"{self.token},{ADMIN},{ADMIN},system:masters\n")
        tokens.chmod(0o600)
        audit: list[str] = []
        if self.audit_log is not None:
            policy = self.workdir / "audit-policy.yaml"
            writes = "Request" if self.audit_bodies else "Metadata"
            policy.write_text(audit_policy(reads=self.audit_reads, writes=writes))
            audit = [
                f"--audit-policy-file={policy}",
                f"--audit-log-path={self.audit_log}",
                "--audit-log-format=json",
                "--audit-log-maxbackup=0",
                # Never rotated (the default rotates at 100 MB): readers keep an offset in it.
                "--audit-log-maxsize=1048576",
            ]
        self._spawn(
            "kube-apiserver",
            [
                f"--etcd-servers=http://127.0.0.1:{etcd_client}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.port}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--service-node-port-range={self.node_ports}",
                f"--service-account-issuer=https://127.0.0.1:{self.port}",
                f"--service-account-key-file={pki.service_account_public_key}",
                f"--service-account-signing-key-file={pki.service_account_key}",
                f"--token-auth-file={tokens}",
                "--authorization-mode=RBAC",
                "--enable-priority-and-fairness=true",
                *audit,
            ],
        )
        self._wait_ready()
        # Before the controllers start: the garbage collector and the namespace controller learn
        # the served kinds at start and then only every 30 s, so owner references to a kind
        # installed later go unnoticed for that long.
        self.admin.apply_all(self.crds, field_manager="kura-envtest")
        kubeconfig = self.workdir / "controller-manager.kubeconfig"
        kubeconfig.write_text(kubeconfig_yaml(self.url, pki.ca_cert, self.token, "default"))
        kubeconfig.chmod(0o600)
        self._spawn(
            "kube-controller-manager",
            [
                f"--kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                # No serving port: nothing scrapes it, and nothing else may reach it.
                "--secure-port=0",
                "--leader-elect=false",
                f"--root-ca-file={pki.ca_cert}",
                f"--service-account-private-key-file={pki.service_account_key}",
                f"--cluster-signing-cert-file={pki.ca_cert}",
                f"--cluster-signing-key-file={pki.ca_key}",
                "--use-service-account-credentials=false",
                # Nodes are not real here: nothing may taint or evict on their behalf.
                "--controllers=*,-nodelifecycle,-nodeipam",
                *(
                    [
                        f"--kube-api-qps={self.controller_qps}",
                        f"--kube-api-burst={2 * self.controller_qps}",
                    ]
                    if self.controller_qps
                    else []
                ),
            ],
        )
        # The ServiceAccount controller creating `default` proves the controllers are running.
        wait_for(
            lambda: (
                self.check_alive()
                and self.admin.get("serviceaccounts", "default", "default") is not None
            ),
            "kube-controller-manager to start its controllers",
            START_TIMEOUT,
        )

    def _spawn(self, name: str, args: list[str]) -> None:
        log = self.log(name).open("wb")
        self.processes[name] = subprocess.Popen(
            [str(self.binaries.path(name)), *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        log.close()

    def check_alive(self) -> bool:
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = self.log(name).read_text(errors="replace")[-3000:]
                raise ControlPlaneError(
                    f"{name} exited with {process.returncode}; the end of its log:\n{tail}"
                )
        return True

    def _wait_ready(self) -> None:
        def ready() -> bool:
            self.check_alive()
            return self.admin.healthy("/readyz")

        wait_for(ready, "kube-apiserver /readyz", START_TIMEOUT)

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        # Controllers first, etcd last: each stops while what it talks to is still there.
        for name in reversed(list(self.processes)):
            process = self.processes[name]
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
        self.processes.clear()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # --- conveniences --------------------------------------------------------------------------

    def write_kubeconfig(
        self, path: Path, *, token: str | None = None, namespace: str = "default"
    ) -> Path:
        path.write_text(kubeconfig_yaml(self.url, self.ca_file, token or self.token, namespace))
        path.chmod(0o600)
        return path
