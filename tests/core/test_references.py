"""Everything a reader needs is in the repository: no citation leads outside it or nowhere."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = [ROOT / "README.md", *(ROOT / top for top in ("packages", "tests", "bench", "docs"))]
SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".txt"}

# Notes that lived beside the repository, never in it. Spelt in pieces so this file is no hit.
OUTSIDE = re.compile(
    "|".join(["research" + "/", "DESIGN" + r"\.md", r"\bthe seed('s| note)"]), re.I
)
# A repository path with a file name, as docstrings, comments and docs cite them (a quoted path
# is data, such as a test's made-up file name).
CITED = re.compile(
    r"(?<![\w/.'\"-])((?:docs|packages|tests|bench|scripts)/[\w./-]*\w\.(?:md|ya?ml|py))"
)


def _files() -> list[Path]:
    found: list[Path] = []
    for entry in SCANNED:
        candidates = [entry] if entry.is_file() else sorted(entry.rglob("*"))
        found.extend(
            path
            for path in candidates
            if path.is_file() and path.suffix in SUFFIXES and "__pycache__" not in path.parts
        )
    return found


@functools.cache  # the tree does not change during a run; four tests scan it for CITED
def _hits(pattern: re.Pattern[str]) -> tuple[tuple[str, int, str], ...]:
    hits: list[tuple[str, int, str]] = []
    for path in _files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            hits.extend(
                (str(path.relative_to(ROOT)), number, m.group(0)) for m in pattern.finditer(line)
            )
    return tuple(hits)


def test_nothing_cites_notes_outside_the_repository() -> None:
    assert _hits(OUTSIDE) == ()


def test_every_cited_repository_path_exists() -> None:
    missing = [hit for hit in _hits(CITED) if not (ROOT / hit[2]).exists()]
    assert missing == []


@pytest.mark.parametrize("doc", ["docs/capacity.md", "docs/upstream.md", "docs/architecture.md"])
def test_the_cited_docs_are_cited(doc: str) -> None:
    assert any(hit[2] == doc for hit in _hits(CITED))
