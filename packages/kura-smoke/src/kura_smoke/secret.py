"""The smoke token: where it comes from, and how it is kept out of every output.

A token reaches the smoke from ``--token-file`` or ``KURA_SMOKE_TOKEN`` and lives only in a
:class:`Secret`, whose ``str``/``repr`` never show it. Every text a run emits (tables, JSON
events, JUnit XML, errors) goes through :class:`Redactor`, and while a run is active the same
redactor rewrites every log record, so a library that logs a header cannot leak it either.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path

from kura_core import InputError, read_text

TOKEN_ENV = "KURA_SMOKE_TOKEN"
MASK = "***"


class Secret:
    """A value that prints as ``***``; :meth:`reveal` is the only way to the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({MASK})"


def load_token(token_file: Path | None, environ: Mapping[str, str]) -> Secret:
    """The token from ``token_file`` (surrounding whitespace dropped), else from the env."""
    if token_file is not None:
        value = read_text(token_file, "token file").strip()
        source = f"token file {token_file}"
    else:
        value = environ.get(TOKEN_ENV, "").strip()
        source = TOKEN_ENV
        if not value:
            raise InputError(f"a token is required: pass --token-file or set {TOKEN_ENV}")
    if not value:
        raise InputError(f"{source} is empty")
    if any(ch.isspace() for ch in value):
        raise InputError(f"{source} holds more than one word; a bearer token has no spaces")
    return Secret(value)


class Redactor:
    """Replaces every secret it knows with ``***``."""

    def __init__(self, *secrets: Secret) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self._values = sorted({s.reveal() for s in secrets if s.reveal()}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, MASK)
        return text

    @contextlib.contextmanager
    def logging(self) -> Iterator[None]:
        """While active, every log record's message is redacted before any handler sees it."""
        previous = logging.getLogRecordFactory()

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            message = record.getMessage()
            redacted = self(message)
            if redacted != message or record.args:
                record.msg, record.args = redacted, None
            return record

        logging.setLogRecordFactory(factory)
        try:
            yield
        finally:
            logging.setLogRecordFactory(previous)
