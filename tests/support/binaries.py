"""Real binaries the tests run: skipped with a reason on a laptop, required in CI.

CI (``CI=true``, see .ci/run) installs them with apt-get, so a missing one there is a broken
setup and fails the test instead of hiding it behind a skip.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Debian installs daemons to /usr/sbin, which is not on a normal user's PATH.
SYSTEM_DIRS = (Path("/usr/sbin"), Path("/sbin"))


def find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found is None:
        found = next((str(d / name) for d in SYSTEM_DIRS if (d / name).is_file()), None)
    return found


def require_binary(name: str, *, package: str | None = None) -> str:
    """The path of ``name``; skip when it is missing, fail when ``CI=true``."""
    found = find_binary(name)
    if found is not None:
        return found
    install = f"apt-get install {package or name}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is required in CI ({install})")
    pytest.skip(f"{name} is not installed; CI installs it ({install})")
