"""Equality-based label selectors, as the operator writes them (``a=b,c``), matched in memory
against the objects of its cache."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# {label key: the value it must have, or None when it only has to be there}
Selector = Mapping[str, str | None]


def parse_selector(text: str) -> dict[str, str | None]:
    """``a=b,c`` (``a==b`` too) as {"a": "b", "c": None}; set-based terms are refused."""
    wanted: dict[str, str | None] = {}
    for term in filter(None, (part.strip() for part in text.split(","))):
        key, equals, value = term.partition("=")
        if not key or key.endswith("!") or key.startswith("!") or any(c in term for c in " ()"):
            raise ValueError(f"unsupported label selector term {term!r}")
        wanted[key] = value.removeprefix("=") if equals else None
    return wanted


def selected(obj: Mapping[str, Any], wanted: Selector) -> bool:
    """Whether ``obj``'s labels satisfy ``wanted``."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(
        key in labels if value is None else labels.get(key) == value
        for key, value in wanted.items()
    )


def implies(narrow: Selector, broad: Selector) -> bool:
    """Whether every object ``narrow`` selects is one ``broad`` selects too."""
    return all(
        key in narrow and (value is None or narrow[key] == value) for key, value in broad.items()
    )
