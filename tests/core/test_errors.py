"""The words of a request that got no answer, whichever HTTP client wrapped the failure."""

from __future__ import annotations

import socket

import pytest
import urllib3

from kura_core import transport_reason

_CONNECTION = urllib3.connection.HTTPConnection("prom.invalid", 9090)


@pytest.mark.parametrize(
    ("failure", "words"),
    [
        (
            urllib3.exceptions.NewConnectionError(
                _CONNECTION, "Failed to establish a new connection: [Errno 111] Connection refused"
            ),
            "connection refused",
        ),
        (
            urllib3.exceptions.NameResolutionError(
                "prom.invalid", _CONNECTION, socket.gaierror(-2, "Name or service not known")
            ),
            "name or service not known",
        ),
        (
            urllib3.exceptions.ProtocolError(
                "Connection aborted.", ConnectionResetError(104, "Connection reset by peer")
            ),
            "connection reset by peer",
        ),
    ],
)
def test_a_connection_failure_is_said_in_the_sockets_words(
    failure: BaseException, words: str
) -> None:
    assert transport_reason(failure) == words
