"""Real binaries the tests run: skipped with a reason on a laptop, required in CI.

``scripts/bootstrap`` (run by ``scripts/test``) installs them with apt-get as root on Debian, so
in CI (``CI=true``) a missing one is a broken setup and fails the test instead of hiding it behind
a skip.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Debian installs daemons to /usr/sbin, which is not on a normal user's PATH.
SYSTEM_DIRS = (Path("/usr/sbin"), Path("/sbin"))

# The Debian package of each binary the tests run, where the names differ.
PACKAGES = {"promtool": "prometheus"}


def find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found is None:
        found = next((str(d / name) for d in SYSTEM_DIRS if (d / name).is_file()), None)
    return found


def require_binary(name: str) -> str:
    """The path of ``name``; skip when it is missing, fail when ``CI=true``."""
    found = find_binary(name)
    if found is not None:
        return found
    install = f"scripts/bootstrap installs it (apt-get install {PACKAGES.get(name, name)})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is required in CI: {install}")
    pytest.skip(f"{name} is not installed: {install}")
