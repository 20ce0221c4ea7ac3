"""Seeded artifact payloads that are generated while they stream, never held whole.

A payload of any size comes from a seed: one random block, then each following block is that
block rotated by a seed-derived stride. Generating it costs a slice per chunk, so a 2 GiB
artifact streams at memory speed in constant memory, and the same seed yields the same bytes
again, which is how a download is compared byte for byte without keeping the upload.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator

BLOCK = 1024 * 1024
CHUNK = 256 * 1024


class Payload:
    """``size`` bytes determined by ``seed``; :meth:`chunks` may be iterated any number of times."""

    def __init__(self, size: int, seed: int, *, chunk: int = CHUNK) -> None:
        if size < 0:
            raise ValueError("a payload size cannot be negative")
        self.size = size
        self.seed = seed
        self.chunk = chunk
        rng = random.Random(seed)
        block = rng.randbytes(min(size, BLOCK) or 1)
        self._doubled = memoryview(block + block)
        self._block = len(block)
        # An odd stride keeps consecutive blocks distinct.
        self._stride = rng.randrange(1, self._block, 2) if self._block > 1 else 0

    def chunks(self) -> Iterator[bytes]:
        """The payload in pieces of at most ``chunk`` bytes."""
        sent = 0
        index = 0
        while sent < self.size:
            start = (index * self._stride) % self._block
            segment = self._doubled[start : start + self._block]
            take = min(self._block, self.size - sent)
            for offset in range(0, take, self.chunk):
                yield bytes(segment[offset : min(offset + self.chunk, take)])
            sent += take
            index += 1

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for piece in self.chunks():
            digest.update(piece)
        return digest.hexdigest()


class Mismatch(Exception):
    """Downloaded bytes differ from the payload."""


class Comparer:
    """Checks a download against a payload as it arrives, without keeping either."""

    def __init__(self, payload: Payload) -> None:
        self._expected = payload.chunks()
        self._pending = memoryview(b"")
        self.size = payload.size
        self.received = 0
        self.first_difference: int | None = None

    def _take(self, count: int) -> bytes:
        parts: list[bytes] = []
        while count > 0:
            if not self._pending:
                try:
                    self._pending = memoryview(next(self._expected))
                except StopIteration:
                    break
            piece = self._pending[:count]
            self._pending = self._pending[count:]
            parts.append(bytes(piece))
            count -= len(piece)
        return b"".join(parts)

    def feed(self, data: bytes) -> None:
        if self.first_difference is None:
            expected = self._take(len(data))
            if expected != data:
                index = next(
                    (i for i, (a, b) in enumerate(zip(expected, data, strict=False)) if a != b),
                    min(len(expected), len(data)),
                )
                self.first_difference = self.received + index
        self.received += len(data)

    @property
    def identical(self) -> bool:
        return self.first_difference is None and self.received == self.size
