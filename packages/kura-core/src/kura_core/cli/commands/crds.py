"""``kura crds``: the kura.tuist.dev CustomResourceDefinitions, generated from the models."""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import BaseModel

from kura_core.cli.manifest_output import emit_manifests, manifest_output_option
from kura_core.cli.output import emit, simple_table
from kura_core.crds import KINDS, crd_file_name, crd_files, custom_resource_definitions
from kura_core.errors import InputError
from kura_core.resources import GROUP


class WrittenFile(BaseModel):
    """One CRD file ``kura crds --write`` wrote; ``changed`` is false when it was up to date."""

    kind: str
    path: str
    changed: bool


def _write(directory: Path) -> list[WrittenFile]:
    written = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        files = crd_files()
        for crd in custom_resource_definitions():
            name = crd_file_name(crd)
            text = files[name]
            path = directory / name
            changed = not path.is_file() or path.read_text(encoding="utf-8") != text
            if changed:
                path.write_text(text, encoding="utf-8")
            written.append(
                WrittenFile(kind=crd["spec"]["names"]["kind"], path=str(path), changed=changed)
            )
    except OSError as exc:
        raise InputError(f"cannot write CRDs to {directory}: {exc.strerror or exc}") from None
    return written


@click.command("crds")
@click.option(
    "--write",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write one <group>_<plural>.yaml file per CRD into this directory instead of printing.",
)
@manifest_output_option
def crds_command(directory: Path | None, output: str) -> None:
    """Print the KuraGateway and KuraInstance CRDs (apiextensions.k8s.io/v1).

    Default output is a YAML stream for `kubectl apply -f -`; -o json is a JSON list of the CRD
    objects; -o table summarises kind, group, short names and printer columns. With --write,
    prints the files written instead (JSON/YAML keys: kind, path, changed).
    """
    if directory is not None:
        written = _write(directory)
        emit(
            written,
            output,
            lambda: simple_table(
                f"CRDs in {directory}",
                ["KIND", "FILE", "CHANGED"],
                [[w.kind, w.path, "yes" if w.changed else "no"] for w in written],
            ),
        )
        return
    emit_manifests(
        custom_resource_definitions(),
        output,
        lambda: simple_table(
            "kura custom resources",
            ["KIND", "GROUP", "SHORT NAMES", "COLUMNS"],
            [
                [
                    kind.kind,
                    GROUP,
                    ", ".join(kind.short_names),
                    ", ".join(column.name for column in kind.columns),
                ]
                for kind in KINDS
            ],
        ),
    )
