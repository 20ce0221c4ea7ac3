"""What a failed request most likely means, in words an on-call engineer can act on.

Pure: statuses and exception chains in, one sentence out. The 503 text is the lesson of
upstream's first staging smoke (docs/upstream.md): Kura answers 503 when it cannot ask the
control plane about a token, which is a credentials or reachability problem on the Kura side,
never a problem of the token itself.
"""

from __future__ import annotations

import socket
import ssl

import httpx

INTROSPECTION_DOWN = (
    "Kura could not reach its auth backend: check the control-plane client credentials "
    "(KURA_CONTROL_PLANE_CLIENT_ID / KURA_CONTROL_PLANE_CLIENT_SECRET from Secret "
    "kura-shared-secrets; the id must be the UUID the server knows) and that the server's "
    "/oauth2/introspect is reachable from the Kura pods"
)

_STATUS_CAUSES: dict[int, str] = {
    400: "Kura rejected the request as malformed (a missing tenant_id, or a bad checksum header)",
    401: "the token is missing, invalid or expired: introspection called it inactive",
    403: (
        "the requested tenant is not the instance's tenant, or the token has no cache grant "
        "for the account"
    ),
    404: (
        "nothing is stored under that key: the upload did not persist, or the request reached "
        "another instance (check the Ingress host and its gateway)"
    ),
    408: "Kura timed out reading the request body",
    411: "the request had no Content-Length, which Kura requires here",
    413: "a body size limit on the path: the gateway's proxy-body-size must be 0",
    422: "Kura computed another SHA-256 than the upload's checksum header: the body was altered",
    502: (
        "the gateway could not reach the Kura pods (Service endpoints, NetworkPolicy, pods not "
        "ready)"
    ),
    503: INTROSPECTION_DOWN,
    504: "the gateway timed out waiting for Kura (proxy read/send timeouts, an overloaded node)",
}


def status_cause(status: int) -> str:
    """The likely cause of an unexpected ``status``."""
    if status in _STATUS_CAUSES:
        return _STATUS_CAUSES[status]
    if status >= 500:
        return "the gateway or Kura failed while serving the request"
    if 300 <= status < 400:
        return "a redirect where Kura answers directly: the host is routed to something else"
    return f"Kura does not document {status} for this request"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def error_got_and_cause(exc: Exception, *, target: str) -> tuple[str, str]:
    """What came back instead of a response (``got``) and the likely cause.

    ``target`` names where the connection went, e.g. ``host:443 via 127.0.0.1``.
    """
    chain = _chain(exc)
    text = str(exc) or type(exc).__name__
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or (
        "CERTIFICATE_VERIFY_FAILED" in text
    ):
        return (
            f"TLS error: {text}",
            f"the certificate {target} presented is not trusted for the host: a wrong or "
            "missing --ca-file, a certificate not issued yet, or another gateway answering",
        )
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return (
            f"TLS error: {text}",
            f"the TLS handshake with {target} failed: the gateway has no certificate for the "
            "host, or it does not speak TLS on that port",
        )
    if isinstance(exc, httpx.TimeoutException):
        return (
            f"timeout: {type(exc).__name__}",
            f"{target} did not answer in time: the gateway or Kura hangs, or packets are dropped",
        )
    if any(isinstance(e, socket.gaierror) for e in chain):
        return (f"DNS error: {text}", f"the host of {target} does not resolve")
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text.lower():
        return (
            f"connection error: {text}",
            f"nothing accepts connections at {target}: the gateway (nginx) is down, or its load "
            "balancer does not forward the port",
        )
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return (
            f"connection error: {text}",
            f"{target} cut the connection mid-request: a gateway or Kura restart, or a limit on "
            "the path",
        )
    if isinstance(exc, httpx.TransportError):
        return (f"connection error: {text}", f"no HTTP exchange with {target} was possible")
    return (f"{type(exc).__name__}: {text}", "an unexpected client-side error")
