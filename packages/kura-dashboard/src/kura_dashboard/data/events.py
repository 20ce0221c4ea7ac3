"""The event log: threshold crossings, config reloads and their failures, phase changes,
connection errors and objects that do not fit the fleet (a KuraGateway in an unknown region);
capped and de-duplicated.

An alert list must not fill the screen (glances #2558): the log keeps at most ``capacity`` events,
and the same event (same kind, subject and message) within ``min_gap`` seconds of its last
occurrence only bumps a counter on the one already shown.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from kura_dashboard.data.thresholds import Level


class EventKind(StrEnum):
    THRESHOLD = "threshold"
    RELOAD = "reload"
    PHASE = "phase"
    CONNECTION = "connection"
    TOPOLOGY = "topology"


@dataclass
class Event:
    at: float
    kind: EventKind
    subject: str
    message: str
    level: Level
    count: int = 1
    last_at: float = 0.0

    def __post_init__(self) -> None:
        self.last_at = self.last_at or self.at

    @property
    def key(self) -> tuple[EventKind, str, str]:
        return (self.kind, self.subject, self.message)


class EventLog:
    """The newest ``capacity`` events, oldest dropped first."""

    def __init__(self, capacity: int = 200, min_gap: float = 60.0) -> None:
        if capacity < 1:
            raise ValueError("an event log holds at least one event")
        self.capacity = capacity
        self.min_gap = min_gap
        self._events: deque[Event] = deque()
        self._latest: dict[tuple[EventKind, str, str], Event] = {}
        self.dropped = 0

    def add(
        self, at: float, kind: EventKind, subject: str, message: str, level: Level = Level.OK
    ) -> Event | None:
        """Record an event; ``None`` when it repeats one seen less than ``min_gap`` ago."""
        key = (kind, subject, message)
        seen = self._latest.get(key)
        if seen is not None and at - seen.last_at < self.min_gap:
            seen.count += 1
            seen.last_at = at
            return None
        event = Event(at, kind, subject, message, level)
        self._events.append(event)
        self._latest[key] = event
        while len(self._events) > self.capacity:
            old = self._events.popleft()
            self.dropped += 1
            if self._latest.get(old.key) is old:
                del self._latest[old.key]
        return event

    def __len__(self) -> int:
        return len(self._events)

    def newest_first(self) -> list[Event]:
        return list(reversed(self._events))
