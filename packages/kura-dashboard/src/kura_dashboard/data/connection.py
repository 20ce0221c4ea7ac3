"""Connection state per source: connecting, ok, degraded or unreachable, in words, with backoff.

k9s users found "Dial K8s Toast [4/5]" cryptic (#2193): the last error is kept in full words.
An unreachable source is retried with exponential backoff, so a dead Prometheus is not hammered;
a manual refresh retries at once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class ConnectionState(StrEnum):
    CONNECTING = "connecting"
    OK = "ok"
    DEGRADED = "degraded"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class SourceStatus:
    """What the header shows for one source."""

    source: str
    target: str
    state: ConnectionState = ConnectionState.CONNECTING
    error: str = ""
    checked_at: float | None = None
    ok_at: float | None = None
    failures: int = 0
    retry_at: float | None = None
    note: str = ""
    """How the source read its last answer, when it has more than one way."""

    def describe(self, now: float) -> str:
        """``prometheus unreachable: <error> (last answer 40s ago; retry in 8s)``, in words;
        ``prometheus ok (recording rules)`` with a note."""
        text = f"{self.source} {self.state.value}"
        if self.note:
            text += f" ({self.note})"
        if self.error:
            text += f": {self.error}"
        if self.state is ConnectionState.UNREACHABLE:
            notes = []
            if self.ok_at is not None:
                notes.append(f"last answer {max(0.0, now - self.ok_at):.0f}s ago")
            if self.retry_at is not None:
                notes.append(f"retry in {max(0.0, self.retry_at - now):.0f}s")
            text += f" ({'; '.join(notes)})" if notes else ""
        return text


class SourceHealth:
    """Tracks one source's status across refreshes and when to try it next."""

    def __init__(
        self, source: str, target: str, *, base_backoff: float = 2.0, max_backoff: float = 60.0
    ) -> None:
        self.status = SourceStatus(source, target)
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff

    def due(self, now: float) -> bool:
        retry_at = self.status.retry_at
        return retry_at is None or now >= retry_at

    def record_ok(self, now: float, problems: tuple[str, ...] = (), note: str = "") -> SourceStatus:
        state = ConnectionState.DEGRADED if problems else ConnectionState.OK
        self.status = replace(
            self.status,
            state=state,
            note=note,
            error="; ".join(problems),
            checked_at=now,
            ok_at=now,
            failures=0,
            retry_at=None,
        )
        return self.status

    def record_failure(self, now: float, error: str, *, unreachable: bool) -> SourceStatus:
        failures = self.status.failures + 1
        delay = min(self.max_backoff, self.base_backoff * 2 ** (failures - 1))
        self.status = replace(
            self.status,
            state=ConnectionState.UNREACHABLE if unreachable else ConnectionState.DEGRADED,
            # A failed refresh read nothing: the note of an earlier answer would mislead.
            note="",
            error=error,
            checked_at=now,
            failures=failures,
            retry_at=now + delay if unreachable else None,
        )
        return self.status
