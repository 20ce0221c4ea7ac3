"""How long a smoke run waits: upstream's staging smoke's budget, 120 polls 15 s apart per wait.

A fresh instance's certificate and DNS record can take that long to appear, so a shorter budget
fails deploys that are only slow.
"""

from __future__ import annotations

SMOKE_POLL_SECONDS = 15.0
SMOKE_WAIT_SECONDS = 120 * SMOKE_POLL_SECONDS
