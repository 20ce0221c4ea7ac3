"""Output of commands whose product is Kubernetes manifests (``kura render``, ``kura crds``).

Their output is piped into ``kubectl apply -f -`` and friends, so YAML is the default and is a
YAML stream (one ``---`` document per object), not a YAML list. ``-o json`` is a JSON list of the
same objects; ``-o table`` is a summary for people.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import click
from rich.console import RenderableType

from kura_core.cli.output import emit, yaml_output_option
from kura_core.manifests import yaml_stream

_F = TypeVar("_F", bound=Callable[..., Any])


def manifest_output_option(func: _F) -> _F:
    """``-o/--output`` defaulting to ``yaml``."""
    return yaml_output_option(
        "yaml: a YAML stream of the objects; json: a JSON list of them; table: a summary."
    )(func)


def emit_manifests(
    objects: Sequence[Mapping[str, Any]],
    output: str,
    table: Callable[[], RenderableType],
) -> None:
    if output == "yaml":
        click.echo(yaml_stream(objects), nl=False)
    else:
        emit([dict(obj) for obj in objects], output, table)
