"""pydantic validation errors as the one-line problems kura reports."""

from __future__ import annotations

from pydantic import ValidationError


def validation_problems(error: ValidationError, prefix: str = "") -> list[str]:
    """One ``<prefix><path>: message`` per problem; paths as written on the wire."""
    problems = []
    for item in error.errors():
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in item["loc"])
        where = prefix + path if prefix else path.lstrip(".") or "(object)"
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {message}")
    return problems
