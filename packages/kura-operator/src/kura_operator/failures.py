"""What a failed reconcile shows on its object: the API error, classified and put in words. Pure.

Transient errors (no answer, 408, 409, 429, 5xx) are retried with backoff (or after the
server's Retry-After) and stay out of the status until :data:`SHOWN_AFTER` reconciles in a row
have failed; permanent ones (every other 4xx: 403, 404 of a kind not served, 422) show at once
and are retried every ``--permanent-error-retry`` seconds, in case an admin fixes the cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kura_kube import KubeError
from kura_operator.conditions import ERROR, READY

# With the scheduler's backoff (1, 2, 4, 8 s) the fifth failure comes about 15 s after the first.
SHOWN_AFTER = 5
# The server's part of a message; a 422 listing every invalid field can run to kilobytes.
MESSAGE_LIMIT = 512
DEGRADED = "Degraded"
TERMINATING = "Terminating"
API_UNAVAILABLE = "ApiUnavailable"
_PERMANENT_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "RequestTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
}
_TRANSIENT_REASONS = {409: "Conflict", 429: "Throttled"}


@dataclass(frozen=True)
class Failure:
    """A condition's reason (CamelCase) and message for one API error."""

    reason: str
    message: str


def shown(error: KubeError, failures: int) -> bool:
    """Whether the status shows ``error``, the last of ``failures`` failed reconciles in a row."""
    return not error.transient or failures >= SHOWN_AFTER


def shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def describe(error: KubeError, *, retry_seconds: float) -> Failure:
    """What failed, the server's answer, and when it is tried again."""
    if error.transient:
        reason = _TRANSIENT_REASONS.get(error.status, API_UNAVAILABLE)
        then = "retrying with backoff"
    else:
        reason = _PERMANENT_REASONS.get(error.status, "Rejected")
        then = f"retrying every {retry_seconds:g}s"
    answer = f"{error.status} {error.reason}" if error.status else "no answer"
    action = error.action or "a request"
    return Failure(reason, f"{action} failed: {answer}: {shorten(error.message)}; {then}")


def presented(failure: Failure, *, deleting: bool, serving: str | None) -> tuple[str, str]:
    """The phase and message of an object whose reconcile failed with ``failure``.

    Terminating while its deletion is blocked; Degraded while what exists still serves
    (``serving`` says how); else Error.
    """
    if deleting:
        return TERMINATING, f"deletion blocked: {failure.message}"
    if serving:
        return DEGRADED, f"{failure.message}; still serving: {serving}"
    return ERROR, failure.message


def already_shown(status: Mapping[str, Any], failure: Failure) -> bool:
    """Whether ``status``'s Ready condition already tells of ``failure`` (its Event was posted)."""
    for condition in status.get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type") == READY:
            return condition.get("status") == "False" and (
                condition.get("reason") == failure.reason
                and failure.message in str(condition.get("message"))
            )
    return False
