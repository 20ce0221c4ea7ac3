"""Reading YAML input files with one clear error per problem."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from kura_core.errors import InputError

T = TypeVar("T")

# libyaml's parser when PyYAML was built with it (its wheels are): tens of times faster, and it
# refuses nesting past 1,000 levels at once where the pure-Python one recurses for seconds.
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
STRING_LOADER: type[yaml.BaseLoader] = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
NESTING_LIMIT = "exceeded maximum nesting depth"


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


def _loaded(load: Callable[[], T], source: str) -> T:
    try:
        return load()
    except yaml.YAMLError as exc:
        if NESTING_LIMIT in str(getattr(exc, "problem", "")):
            raise InputError(f"{source}: not valid YAML (nested too deeply)") from None
        raise InputError(f"{source}: not valid YAML ({yaml_problem(exc)})") from None
    except RecursionError:
        # PyYAML composes nested collections recursively: `[[[[…` thousands deep overflows.
        raise InputError(f"{source}: not valid YAML (nested too deeply)") from None


def parse_yaml(text: str, source: str) -> Any:
    return _loaded(lambda: yaml.load(text, Loader=SAFE_LOADER), source)


def parse_yaml_stream(text: str, source: str, *, strings: bool = False) -> list[Any]:
    """Every non-empty document of a YAML stream; with ``strings``, every scalar is a string."""
    loader = STRING_LOADER if strings else SAFE_LOADER
    return _loaded(lambda: [d for d in yaml.load_all(text, Loader=loader) if d is not None], source)


def read_yaml(path: Path, what: str) -> Any:
    """Load one YAML document from ``path``; ``what`` names the file in errors."""
    return parse_yaml(read_text(path, what), str(path))


def list_items(document: Mapping[str, Any], source: str) -> list[Mapping[str, Any]]:
    """The items of a ``kind: List`` (what ``kubectl get -o yaml`` prints); another object is
    its own single item."""
    if not (str(document.get("kind", "")).endswith("List") and "items" in document):
        return [document]
    items = document["items"] or []
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise InputError(f"{source}: {document['kind']} items must be a list of objects")
    return items
