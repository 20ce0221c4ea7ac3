"""Reading YAML input files with one clear error per problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kura_core.errors import InputError


def yaml_problem(exc: yaml.YAMLError) -> str:
    """A one-line description of a YAML parse error, with its position."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "parse error"
    if mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return str(problem)


def read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"cannot read {what} {path}: not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: not valid YAML ({yaml_problem(exc)})") from None


def parse_yaml_stream(text: str, source: str) -> list[Any]:
    """Every non-empty document of a YAML stream."""
    try:
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: not valid YAML ({yaml_problem(exc)})") from None


def read_yaml(path: Path, what: str) -> Any:
    """Load one YAML document from ``path``; ``what`` names the file in errors."""
    return parse_yaml(read_text(path, what), str(path))
