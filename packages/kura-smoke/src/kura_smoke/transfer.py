"""Streaming uploads and downloads: hashed on the way, timed, never held in memory.

An upload sends a :class:`~kura_smoke.payload.Payload` with its ``Content-Length`` (Kura's
Gradle PUT requires it) straight from the generator; a download feeds each network chunk to a
hash (and, when given, a :class:`~kura_smoke.payload.Comparer`) and drops it. Only an error
response's first few KiB are kept, to explain the failure.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import httpx

from kura_smoke.payload import Comparer, Payload

Progress = Callable[[int], None]
ERROR_BODY_LIMIT = 4096


def _ignore(_: int) -> None:
    return None


@dataclass(frozen=True)
class Transfer:
    """One request: status, body bytes moved, timing, and the SHA-256 of the body moved."""

    status: int
    bytes: int
    seconds: float
    first_byte_seconds: float
    sha256: str
    error_body: str
    checksum_header: str | None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _error_text(data: bytes) -> str:
    return data[:ERROR_BODY_LIMIT].decode("utf-8", errors="replace").strip()


def upload(
    client: httpx.Client,
    method: str,
    url: str,
    payload: Payload,
    *,
    headers: Mapping[str, str],
    progress: Progress = _ignore,
) -> Transfer:
    """Stream ``payload`` as the body of ``method url``; the hash is of what was sent."""
    digest = hashlib.sha256()
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        for piece in payload.chunks():
            digest.update(piece)
            yield piece
            sent += len(piece)
            progress(len(piece))

    start = time.perf_counter()
    request = client.build_request(
        method,
        url,
        content=body(),
        headers={
            **headers,
            "Content-Length": str(payload.size),
            "Content-Type": "application/octet-stream",
        },
    )
    response = client.send(request, stream=True)
    try:
        first = time.perf_counter() - start
        data = response.read()
    finally:
        response.close()
    return Transfer(
        status=response.status_code,
        bytes=sent,
        seconds=time.perf_counter() - start,
        first_byte_seconds=first,
        sha256=digest.hexdigest(),
        error_body="" if response.is_success else _error_text(data),
        checksum_header=response.headers.get("tuist-checksum-sha256"),
    )


def download(
    client: httpx.Client,
    url: str,
    *,
    headers: Mapping[str, str],
    comparer: Comparer | None = None,
    progress: Progress = _ignore,
) -> Transfer:
    """GET ``url``, hashing (and comparing) the body as it streams in."""
    digest = hashlib.sha256()
    received = 0
    error = b""
    start = time.perf_counter()
    first: float | None = None
    with client.stream("GET", url, headers=dict(headers)) as response:
        for piece in response.iter_raw():
            if first is None:
                first = time.perf_counter() - start
            received += len(piece)
            if not response.is_success:
                if len(error) < ERROR_BODY_LIMIT:
                    error += piece
                continue
            digest.update(piece)
            if comparer is not None:
                comparer.feed(piece)
            progress(len(piece))
    elapsed = time.perf_counter() - start
    return Transfer(
        status=response.status_code,
        bytes=received,
        seconds=elapsed,
        first_byte_seconds=elapsed if first is None else first,
        sha256=digest.hexdigest(),
        error_body="" if response.is_success else _error_text(error),
        checksum_header=response.headers.get("tuist-checksum-sha256"),
    )
