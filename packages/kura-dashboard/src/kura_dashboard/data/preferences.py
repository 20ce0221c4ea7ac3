"""What the dashboard remembers across restarts: the sort of each view (k9s #3393).

A small JSON file; a missing or unreadable one means the defaults, never an error.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kura_dashboard.data.sorting import SortSpec


class SavedSort(BaseModel):
    model_config = ConfigDict(frozen=True)

    column: str
    descending: bool = False


class Preferences(BaseModel):
    model_config = ConfigDict(frozen=True)

    sort: dict[str, SavedSort] = Field(default_factory=dict)

    def sort_for(self, view: str) -> SortSpec | None:
        saved = self.sort.get(view)
        return SortSpec(saved.column, saved.descending) if saved else None

    def with_sort(self, view: str, spec: SortSpec) -> Preferences:
        saved = SavedSort(column=spec.column, descending=spec.descending)
        return self.model_copy(update={"sort": {**self.sort, view: saved}})


def load_preferences(path: Path | None) -> Preferences:
    if path is None:
        return Preferences()
    try:
        return Preferences.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, ValidationError):
        return Preferences()


def save_preferences(path: Path | None, preferences: Preferences) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(preferences.model_dump(), indent=2), encoding="utf-8")
