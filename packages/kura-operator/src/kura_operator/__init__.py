"""kura-operator: The in-cluster kura operator: reconciles KuraGateway and KuraInstance."""

from __future__ import annotations

from importlib.metadata import version

__version__ = version("kura-operator")
