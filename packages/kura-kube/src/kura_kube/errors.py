"""The one error of a request to the Kubernetes API, whichever client sent it."""

from __future__ import annotations

import re

# Answers about the moment, not the request: a timeout, a conflict with another writer (read
# again), throttling, and every 5xx; the same request soon may succeed. Every other 4xx is the
# server refusing the request itself (403 RBAC, 404 a kind not served, 422 an object it will
# not store), which repeats until someone changes the cluster.
TRANSIENT_STATUSES = frozenset({408, 409, 429})
# What an API server's message could carry that must not reach a log, status or Event: key
# material (PEM blocks), bearer tokens and JWTs, long base64 runs (a Secret's data).
_SECRETS = re.compile(
    r"-----BEGIN [A-Z ]+-----.*?(?:-----END [A-Z ]+-----|$)"
    r"|(?i:bearer)\s+\S+"
    r"|eyJ[\w-]+\.[\w-]+\.[\w-]*"
    # Base64 of random bytes mixes digits and both cases; names, paths and hex digests do not.
    r"|(?<![A-Za-z0-9+/])(?=[A-Za-z0-9+/]*\d)(?=[A-Za-z0-9+/]*[A-Z])(?=[A-Za-z0-9+/]*[a-z])"
    r"[A-Za-z0-9+/]{40,}={0,2}",
    re.DOTALL,
)


def redact(text: str) -> str:
    """``text`` without anything that looks like key material or a token."""
    return _SECRETS.sub("[redacted]", text)


class KubeError(Exception):
    """An answer (``status`` > 0) or no answer (``status`` 0) that the caller could not use.

    ``reason`` is the server's (``Forbidden``, ``NotFound``), or ``Unreachable`` or ``Timeout``
    when nothing came back; ``action`` says what was asked for (``apply Deployment kura/x``);
    ``message`` is the server's, redacted (:func:`redact`).
    """

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        retry_after: float | None = None,
        action: str = "",
    ) -> None:
        self.status = status
        self.reason = reason
        self.message = redact(message)
        self.retry_after = retry_after
        self.action = action
        answer = f"{status} {reason}" if status else f"no answer ({reason})"
        super().__init__(f"{answer}: {self.message}")

    @property
    def transient(self) -> bool:
        """Whether retrying the same request soon may succeed (else it is refused for good)."""
        # 0 is a transport failure: timeouts, refused connections, dropped streams.
        return self.status == 0 or self.status in TRANSIENT_STATUSES or self.status >= 500

    @property
    def described(self) -> str:
        """The error with what was asked for: ``get Deployment kura/x: 403 Forbidden: …``."""
        return f"{self.action}: {self}" if self.action else str(self)


class ConfigError(KubeError):
    """No usable kubeconfig or in-cluster service account: nothing was sent."""

    def __init__(self, message: str) -> None:
        super().__init__(0, "NoConfig", message)

    def __str__(self) -> str:
        return self.message
