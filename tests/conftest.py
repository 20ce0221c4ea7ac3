"""Settings shared by every test folder."""

from __future__ import annotations

import os

from hypothesis import settings

# CI must not fail on an example no developer has seen: there, properties run the same
# examples every time. Locally they stay random, which is how new edge cases are found.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")
