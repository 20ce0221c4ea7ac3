"""Typed errors. The CLI turns each into one line and an exit code, never a traceback."""

from __future__ import annotations

import re

# The socket's words inside an HTTP client's message: "...: [Errno 111] Connection refused".
_ERRNO = re.compile(r"\[Errno -?\d+\]\s*([^'\")]+)")


class KuraError(Exception):
    """Base class of every error kura raises on purpose."""

    exit_code = 2


class InputError(KuraError):
    """Bad input: an unknown region or env, a malformed file, a handle that is not a DNS label."""


class CatalogError(InputError):
    """A region catalog is invalid. Carries every problem found, not only the first."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class NothingRendered(KuraError):
    """The input held no object of the kind to render. Exit code 1: a pipeline that expected
    objects must not pass on nothing."""

    exit_code = 1


class PluginError(KuraError):
    """A plugin misbehaved: a duplicate provider name, a hook that matches no spec."""


class ProviderNotFoundError(InputError):
    """A region names a provider that no loaded plugin registers."""


class CheckFailed(KuraError):
    """A check ran and found problems (drift, bad credentials). Exit code 1."""

    exit_code = 1

    def __init__(self, findings: list[str]) -> None:
        self.findings = list(findings)
        super().__init__(f"{len(self.findings)} problem(s) found")


def transport_reason(exc: BaseException) -> str:
    """The words of a request that got no answer (``connection refused``), not the HTTP
    client's repr: the socket's own error, found through what urllib3 and aiohttp wrap it in."""
    reason = exc
    # urllib3 wraps the socket's error in its own (ProtocolError(msg, OSError), SSLError(...)).
    while True:
        inner = next((a for a in getattr(reason, "args", ()) if isinstance(a, BaseException)), None)
        if inner is None:
            break
        reason = inner
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    match = _ERRNO.search(str(reason))
    if match:
        return match.group(1).strip().lower()
    return str(getattr(reason, "reason", None) or reason) or type(reason).__name__
