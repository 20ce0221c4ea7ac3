"""Input and output of the preview commands: objects of one kind in, rendered objects out.

``kura gateway render`` and ``kura instance render`` read a file or stdin (``-``), as written by
``kura render`` or ``kubectl get -o yaml``, keep the documents of their kind, and print what the
providers render for each as a manifest stream.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from kura_core.cli.manifest_output import emit_manifests
from kura_core.cli.output import simple_table
from kura_core.errors import InputError, NothingRendered
from kura_core.files import list_items, parse_yaml_stream, read_text

_F = TypeVar("_F", bound=Callable[..., Any])

STDIN = "-"


def source_argument(func: _F) -> _F:
    """The ``[FILE|-]`` argument (``-``, the default, reads stdin) and ``--allow-empty``."""
    func = click.option(
        "--allow-empty",
        is_flag=True,
        help="Exit 0 when the input holds no object of the kind (default: exit 1).",
    )(func)
    return click.argument(
        "source",
        default=STDIN,
        metavar="[FILE|-]",
        type=click.Path(dir_okay=False, allow_dash=True),
    )(func)


def read_documents(source: str) -> list[Any]:
    """Every non-empty document of the YAML stream in ``source`` (a path, or ``-``)."""
    if source == STDIN:
        return parse_yaml_stream(sys.stdin.read(), "<stdin>")
    return parse_yaml_stream(read_text(Path(source), "input"), source)


def objects_of_kind(source: str, kind: str) -> list[Mapping[str, Any]]:
    """The objects of ``kind``, in stream order, a ``kind: List``'s items included; other
    kinds are skipped.

    A document that is not a mapping is not a Kubernetes object: :class:`InputError`.
    """
    found: list[Mapping[str, Any]] = []
    name = "<stdin>" if source == STDIN else source
    for index, document in enumerate(read_documents(source), start=1):
        if not isinstance(document, Mapping):
            raise InputError(
                f"{name}: document {index} is not a Kubernetes object "
                f"(a mapping), but {type(document).__name__}"
            )
        found.extend(item for item in list_items(document, name) if item.get("kind") == kind)
    return found


def emit_rendered(
    rendered: list[tuple[str, dict[str, Any]]],
    output: str,
    *,
    kind: str,
    found: int,
    title: str,
    allow_empty: bool,
) -> None:
    """Print the objects rendered for ``found`` input objects of ``kind``.

    ``rendered`` pairs each object with the name of the input object it was rendered for; the
    table shows that name beside the object's kind, namespace and name. No input object is
    :class:`NothingRendered` unless ``allow_empty``, which only warns.
    """
    if not found:
        if not allow_empty:
            raise NothingRendered(
                f"no {kind} objects in the input, nothing rendered (--allow-empty accepts that)"
            )
        click.echo(f"kura: warning: no {kind} objects in the input", err=True)
    emit_manifests(
        [obj for _, obj in rendered],
        output,
        lambda: simple_table(
            title,
            [kind.upper(), "KIND", "NAMESPACE", "NAME"],
            [
                [name, obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"]]
                for name, obj in rendered
            ],
        ),
    )
