"""How the smoke reaches Kubernetes: kura-kube's synchronous client, under its own field manager.

Writes are a create, or a server-side apply under the field manager ``kura-smoke`` with
``force`` over an object the caller has read and found to be the smoke's own; deletes carry the
uid read before them as a precondition (:mod:`kura_smoke.provision`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from kura_core import InputError
from kura_kube.client import KubeClient

FIELD_MANAGER = "kura-smoke"


def connect(kubeconfig: Path | None, context: str | None, *, timeout: float) -> KubeClient:
    """A client from a kubeconfig, or the in-cluster service account when there is none
    (``KubeError`` when neither is usable)."""
    return KubeClient.from_kubeconfig(kubeconfig, context, timeout=timeout)


class ObjectRef(BaseModel):
    """``namespace/name`` of a namespaced object."""

    model_config = ConfigDict(frozen=True)

    namespace: str
    name: str

    @classmethod
    def parse(cls, text: str, *, option: str) -> ObjectRef:
        namespace, sep, name = text.partition("/")
        if not (sep and namespace and name) or "/" in name:
            raise InputError(f"{option} {text!r}: expected NAMESPACE/NAME")
        return cls(namespace=namespace, name=name)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"
