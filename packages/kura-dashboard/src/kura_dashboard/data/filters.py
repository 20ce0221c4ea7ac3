"""The ``/`` filter: terms that narrow a table's rows, k9s-style.

Terms are separated by spaces and must all match. ``text`` matches any column (a
case-insensitive regular expression); ``key:text`` matches one field (``region:eu``,
``kind:dedicated``, ``level:crit``, ``account:acme``); a leading ``!`` inverts a term.
An invalid regular expression is an error with its reason, never a silent "no rows".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


class FilterError(ValueError):
    """The filter text does not parse; the message says why."""


@dataclass(frozen=True)
class Term:
    pattern: re.Pattern[str]
    field: str | None = None
    negated: bool = False

    def matches(self, fields: Mapping[str, str]) -> bool:
        if self.field is not None:
            found = self.field in fields and bool(self.pattern.search(fields[self.field]))
        else:
            found = any(self.pattern.search(value) for value in fields.values())
        return found != self.negated


@dataclass(frozen=True)
class RowFilter:
    text: str = ""
    terms: tuple[Term, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.terms)

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all(term.matches(fields) for term in self.terms)


NO_FILTER = RowFilter()
_FIELD = re.compile(r"^(?P<field>[a-z][a-z0-9_-]*):(?P<rest>.*)$")


def parse_filter(text: str) -> RowFilter:
    """The filter typed after ``/``; raises :class:`FilterError` on a bad term."""
    terms = []
    for raw in text.split():
        negated = raw.startswith("!")
        body = raw[1:] if negated else raw
        field = None
        match = _FIELD.match(body)
        if match:
            field, body = match["field"], match["rest"]
        if not body:
            raise FilterError(f"{raw!r}: nothing to match")
        try:
            pattern = re.compile(body, re.IGNORECASE)
        except re.error as exc:
            raise FilterError(f"{raw!r} is not a valid regular expression: {exc}") from None
        terms.append(Term(pattern, field, negated))
    return RowFilter(text.strip(), tuple(terms))
