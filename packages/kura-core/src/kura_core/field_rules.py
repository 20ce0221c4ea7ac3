"""Field rules of the custom resources, each stated once for both places that enforce it.

The API server enforces them through the CRD schema when an object is created or changed: OpenAPI
keywords (``pattern``, ``maxLength``, ``maxProperties``, ...) and, where no keyword can say it,
``x-kubernetes-validations`` CEL rules. The pydantic models enforce the very same rules for the
CLI and for the operator, which checks every object before it writes anything (an object stored
before the schema was tightened still gets a clear refusal).

Each rule is pydantic metadata for ``Annotated``: it validates in Python and writes its keywords
into the model's JSON schema, from which :mod:`kura_core.crds` builds the CRDs. A CEL rule has a
Python twin here; the tests run both on the same inputs, the CEL side on a real API server.

CEL cost: the API server refuses a CRD whose rules' estimated worst case is too expensive, and it
estimates from ``maxLength``/``maxItems``/``maxProperties``, so every string, list or map a rule
walks is bounded here too.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from kura_core.dns import DNS_SUBDOMAIN_MAX, LABEL_KEY_MAX, LABEL_KEY_PATTERN, is_label_key

_SHOWN_MAX = 80


def shown(value: str) -> str:
    """``value`` quoted for a message, cut short when long (a message is one readable line)."""
    if len(value) <= _SHOWN_MAX:
        return repr(value)
    return f"{value[:_SHOWN_MAX]!r}... ({len(value)} characters)"


def _cel_string(value: str) -> str:
    """A CEL single-quoted raw string literal: RE2 backslashes stay as they are."""
    if "'" in value:
        raise ValueError(f"no quote may appear in a CEL rule's literal: {value!r}")
    return f"r'{value}'"


class _Rule(abc.ABC):
    """Validates after the type's own checks and adds ``keywords()`` to the JSON schema."""

    @abc.abstractmethod
    def check(self, value: Any) -> Any:
        """``value`` unchanged, or ``ValueError`` saying what is wrong with it."""

    @abc.abstractmethod
    def keywords(self) -> dict[str, Any]:
        """The rule's OpenAPI keywords and CEL rules, as the CRD carries them."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.update(self.keywords())
        return json_schema


@dataclass(frozen=True)
class Text(_Rule):
    """A string of ``min_length`` to ``max_length`` characters matching ``pattern``.

    ``what`` completes "is not ..." in messages, e.g. "a DNS name (...)".
    """

    what: str
    max_length: int
    pattern: str | None = None
    min_length: int = 1

    def check(self, value: str) -> str:
        if len(value) > self.max_length:
            raise ValueError(
                f"{shown(value)} is longer than {self.max_length} characters; "
                f"it must be {self.what}"
            )
        if len(value) < self.min_length or (
            self.pattern is not None and not re.fullmatch(self.pattern, value)
        ):
            raise ValueError(f"{shown(value)} is not {self.what}")
        return value

    def keywords(self) -> dict[str, Any]:
        found: dict[str, Any] = {"maxLength": self.max_length}
        if self.min_length:
            found["minLength"] = self.min_length
        if self.pattern is not None:
            found["pattern"] = self.pattern
        return found


@dataclass(frozen=True)
class Utf8Size(_Rule):
    """A string of at most ``max_bytes`` bytes in UTF-8: what a ConfigMap or an annotation
    holds is counted in bytes, ``maxLength`` in characters (which also bounds the rule's cost)."""

    max_bytes: int

    def check(self, value: str) -> str:
        size = len(value.encode())
        if size > self.max_bytes:
            raise ValueError(f"must be at most {self.max_bytes} bytes in UTF-8, not {size}")
        return value

    def keywords(self) -> dict[str, Any]:
        return {
            "maxLength": self.max_bytes,
            "x-kubernetes-validations": [
                {
                    "rule": f"size(bytes(self)) <= {self.max_bytes}",
                    "message": f"must be at most {self.max_bytes} bytes in UTF-8",
                }
            ],
        }


# The label-key rule in CEL: the pattern, and the prefix's length (RE2 cannot count it).
_CEL_LABEL_KEY = (
    f"k.matches({_cel_string(LABEL_KEY_PATTERN)}) && k.indexOf('/') <= {DNS_SUBDOMAIN_MAX}"
)

_LABEL_KEY_RULE = (
    "every key must be a label key (an optional DNS-subdomain prefix and '/', then at most 63 "
    f"letters, digits, '-', '_' or '.', alphanumeric at both ends; {LABEL_KEY_MAX} characters "
    "in all)"
)


@dataclass(frozen=True)
class LabelKeys(_Rule):
    """A map of at most ``max_properties`` entries whose keys are label keys (qualified names),
    as node selectors and annotations need them."""

    max_properties: int

    def check(self, value: Mapping[str, Any]) -> Mapping[str, Any]:
        if len(value) > self.max_properties:
            raise ValueError(f"must have at most {self.max_properties} entries, not {len(value)}")
        bad = [shown(key) for key in value if not is_label_key(key)]
        if bad:
            raise ValueError(
                f"{_LABEL_KEY_RULE}; {', '.join(bad)} {'is' if len(bad) == 1 else 'are'} not"
            )
        return value

    def keywords(self) -> dict[str, Any]:
        return {
            "maxProperties": self.max_properties,
            "x-kubernetes-validations": [
                {
                    "rule": f"self.all(k, {_CEL_LABEL_KEY})",
                    # Names the first key at fault (joining them all is beyond the cost
                    # budget the API server allows a message).
                    "messageExpression": (
                        f'"{_LABEL_KEY_RULE}; \'" + '
                        f'self.filter(k, !({_CEL_LABEL_KEY}))[0] + "\' is not"'
                    ),
                }
            ],
        }


@dataclass(frozen=True)
class UniqueNames(_Rule):
    """A list of at most ``max_items`` objects whose ``name`` fields differ."""

    max_items: int

    def check(self, value: Sequence[Any]) -> Sequence[Any]:
        if len(value) > self.max_items:
            raise ValueError(f"must have at most {self.max_items} items, not {len(value)}")
        names = [item.name for item in value]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"names must be unique; set more than once: {', '.join(twice)}")
        return value

    def keywords(self) -> dict[str, Any]:
        return {
            "maxItems": self.max_items,
            "x-kubernetes-validations": [
                {
                    "rule": "self.all(e, self.exists_one(f, f.name == e.name))",
                    "message": "names must be unique",
                }
            ],
        }
