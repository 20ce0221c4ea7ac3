"""API errors classified and shown, without a server: which are transient, what a status says
about each, and what of the server's message may reach it."""

from __future__ import annotations

import pytest

from kura_kube import KubeError, redact
from kura_operator.failures import (
    SHOWN_AFTER,
    Failure,
    already_shown,
    describe,
    presented,
    shorten,
    shown,
)

FORBIDDEN = (
    'deployments.apps "kgw-0123456789ab-us-east-controller" is forbidden: User '
    '"system:serviceaccount:kura:kura-operator" cannot patch resource "deployments" in API '
    'group "apps" in the namespace "kura"'
)
APPLY = "apply Deployment kura/kgw-0123456789ab-us-east-controller"


@pytest.mark.parametrize("status", [0, 408, 409, 429, 500, 502, 503, 504])
def test_timeouts_conflicts_throttling_and_server_errors_are_transient(status: int) -> None:
    assert KubeError(status, "Any", "any").transient


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 410, 413, 415, 422])
def test_every_other_client_error_is_permanent(status: int) -> None:
    assert not KubeError(status, "Any", "any").transient


def test_a_permanent_error_shows_at_once_a_transient_one_once_it_persists() -> None:
    assert shown(KubeError(403, "Forbidden", FORBIDDEN), 1)
    outage = KubeError(503, "ServiceUnavailable", "busy")
    assert [shown(outage, n) for n in range(1, SHOWN_AFTER + 2)] == [
        *[False] * (SHOWN_AFTER - 1),
        True,
        True,
    ]


@pytest.mark.parametrize(
    ("error", "reason", "answer", "then"),
    [
        (KubeError(403, "Forbidden", FORBIDDEN), "Forbidden", "403 Forbidden", "every 300s"),
        (KubeError(422, "Invalid", "x"), "Invalid", "422 Invalid", "every 300s"),
        (KubeError(404, "NotFound", "x"), "NotFound", "404 NotFound", "every 300s"),
        (KubeError(400, "BadRequest", "x"), "BadRequest", "400 BadRequest", "every 300s"),
        (KubeError(410, "Gone", "x"), "Rejected", "410 Gone", "every 300s"),
        (KubeError(500, "InternalError", "x"), "ApiUnavailable", "500 InternalError", "backoff"),
        (KubeError(0, "Unreachable", "x"), "ApiUnavailable", "no answer", "backoff"),
        (KubeError(409, "Conflict", "x"), "Conflict", "409 Conflict", "backoff"),
        (KubeError(429, "TooManyRequests", "x"), "Throttled", "429 TooManyRequests", "backoff"),
    ],
)
def test_a_failure_says_what_failed_the_answer_and_when_it_is_tried_again(
    error: KubeError, reason: str, answer: str, then: str
) -> None:
    error.action = APPLY
    failure = describe(error, retry_seconds=300)
    assert failure.reason == reason
    assert failure.message.startswith(f"{APPLY} failed: {answer}: ")
    assert failure.message.endswith(f"; retrying {'with ' if then == 'backoff' else ''}{then}")


def test_the_servers_message_is_kept_whole_when_short() -> None:
    failure = describe(KubeError(403, "Forbidden", FORBIDDEN, action=APPLY), retry_seconds=2.5)
    assert failure.message == f"{APPLY} failed: 403 Forbidden: {FORBIDDEN}; retrying every 2.5s"


def test_a_long_message_is_cut_on_one_line() -> None:
    fields = "\n".join(f"spec.ports[{i}].nodePort: Invalid value: {30000 + i}" for i in range(99))
    cut = shorten(fields, 80)
    assert len(cut) == 80
    assert cut.endswith("…")
    assert "\n" not in cut
    assert cut.startswith("spec.ports[0].nodePort: Invalid value: 30000 spec.ports[1]")
    assert shorten("short\n message") == "short message"


@pytest.mark.parametrize(
    "secret",
    [
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU (the server cut it off",
        "Bearer abc.def-123",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
        "c2VjcmV0LWtleS1tYXRlcmlhbC10aGF0LWlzLWxvbmctZW5vdWdoLXRvLWNvdW50",
    ],
    ids=["pem-block", "pem-cut", "bearer", "jwt", "base64"],
)
def test_key_material_and_tokens_never_reach_a_message(secret: str) -> None:
    error = KubeError(422, "Invalid", f'Secret "x" is invalid: data: {secret}')
    assert error.message == 'Secret "x" is invalid: data: [redacted]'
    assert secret not in str(error)
    assert secret not in describe(error, retry_seconds=1).message


@pytest.mark.parametrize(
    "kept",
    [
        FORBIDDEN,
        "/apis/apps/v1/namespaces/kura/deployments/kgw-0123456789ab-us-east-controller",
        "kura.tuist.dev/applied-sha256: "
        "3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea",
        "Internal error occurred: failed to allocate a nodePort: range is full",
    ],
)
def test_names_paths_and_digests_are_kept(kept: str) -> None:
    assert redact(kept) == kept


def test_the_phase_says_whether_anything_still_serves_or_the_object_is_going() -> None:
    failure = Failure("Forbidden", "apply Deployment kura/x failed: 403 Forbidden: no")
    assert presented(failure, deleting=False, serving=None) == ("Error", failure.message)
    assert presented(failure, deleting=False, serving="2/2 gateway replicas ready") == (
        "Degraded",
        f"{failure.message}; still serving: 2/2 gateway replicas ready",
    )
    assert presented(failure, deleting=True, serving=None) == (
        "Terminating",
        f"deletion blocked: {failure.message}",
    )


def test_a_failure_already_in_the_status_is_not_announced_again() -> None:
    failure = Failure("Forbidden", "apply Deployment kura/x failed: 403 Forbidden: no")

    def status(ready: str, reason: str, message: str) -> dict[str, object]:
        condition = {"type": "Ready", "status": ready, "reason": reason, "message": message}
        return {"conditions": [condition]}

    assert already_shown(status("False", "Forbidden", f"{failure.message}; still serving"), failure)
    assert not already_shown(status("False", "Forbidden", "apply Service x failed"), failure)
    assert not already_shown(status("False", "Invalid", failure.message), failure)
    assert not already_shown(status("True", "Forbidden", failure.message), failure)
    assert not already_shown({}, failure)
