"""How a Kura node reaches the Tuist control plane: the settings every KuraInstance carries.

Upstream's server puts the same non-secret settings into each KuraInstance's ``extraEnv``: its
auth hook fails closed (a hook that errors or times out denies), waits at most 5 s for a hook,
and calls the server at its base URL with 3 s to connect and 4 s per request; the control-plane
client id goes along when it is configured. The client secret never appears here: the pods get it
from the ``kura-shared-secrets`` Secret. Pure: values in, validated settings and variables out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from kura_core.credentials import CLIENT_ID, CONTROL_PLANE_URL_ENV, is_uuid_shaped
from kura_core.errors import InputError
from kura_core.urls import url_problem

# Where `kura render` reads the auth hook from, a Lua file.
EXTENSION_SCRIPT_ENV = "KURA_EXTENSION_SCRIPT_FILE"
# The Tuist server of each managed env; others must name theirs.
DEFAULT_CONTROL_PLANE_URLS: Mapping[str, str] = {
    "production": "https://tuist.dev",
    "staging": "https://staging.tuist.dev",
    "canary": "https://canary.tuist.dev",
}
# Upstream's figures: a cold HTTPS round trip to the server fits in them.
HOOK_TIMEOUT_MS = 5000
CONNECT_TIMEOUT_MS = 3000
REQUEST_TIMEOUT_MS = 4000

FAIL_CLOSED_AUTHENTICATE = "KURA_EXTENSION_FAIL_CLOSED_AUTHENTICATE"
FAIL_CLOSED_AUTHORIZE = "KURA_EXTENSION_FAIL_CLOSED_AUTHORIZE"
HOOK_TIMEOUT = "KURA_EXTENSION_HOOK_TIMEOUT_MS"
CONTROL_PLANE_URL = "KURA_CONTROL_PLANE_URL"
HTTP_CLIENT_BASE_URL = "KURA_EXTENSION_HTTP_CLIENT_TUIST_BASE_URL"
HTTP_CLIENT_CONNECT_TIMEOUT = "KURA_EXTENSION_HTTP_CLIENT_TUIST_CONNECT_TIMEOUT_MS"
HTTP_CLIENT_REQUEST_TIMEOUT = "KURA_EXTENSION_HTTP_CLIENT_TUIST_REQUEST_TIMEOUT_MS"


def _url(value: str) -> str:
    problem = url_problem(value)
    if problem:
        shown = value if "@" not in value else "<a URL with credentials>"
        raise ValueError(f"{shown!r} {problem}")
    return value.rstrip("/")


def _client_id(value: str | None) -> str | None:
    if value is not None and not is_uuid_shaped(value):
        # Not echoed: a secret put here by mistake must not reach a terminal.
        raise ValueError("is not a UUID (the server's OAuth takes only UUID client ids)")
    return value


class ControlPlaneSettings(BaseModel):
    """The control plane a Kura node's auth hook calls, and how long it may take."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: Annotated[str, AfterValidator(_url)] = Field(description="The Tuist server's base URL.")
    client_id: Annotated[str | None, AfterValidator(_client_id)] = Field(
        default=None, description=f"{CLIENT_ID}, when configured."
    )
    hook_timeout_ms: int = Field(default=HOOK_TIMEOUT_MS, gt=0)
    connect_timeout_ms: int = Field(default=CONNECT_TIMEOUT_MS, gt=0)
    request_timeout_ms: int = Field(default=REQUEST_TIMEOUT_MS, gt=0)

    def extra_env(self) -> dict[str, str]:
        """The variables, in upstream's order."""
        env = {
            FAIL_CLOSED_AUTHENTICATE: "true",
            FAIL_CLOSED_AUTHORIZE: "true",
            HOOK_TIMEOUT: str(self.hook_timeout_ms),
            CONTROL_PLANE_URL: self.url,
            HTTP_CLIENT_BASE_URL: self.url,
            HTTP_CLIENT_CONNECT_TIMEOUT: str(self.connect_timeout_ms),
            HTTP_CLIENT_REQUEST_TIMEOUT: str(self.request_timeout_ms),
        }
        if self.client_id:
            env[CLIENT_ID] = self.client_id
        return env


_FLAGS = {"url": "--control-plane-url", "client_id": "--control-plane-client-id"}


def control_plane_settings(url: str | None, client_id: str | None) -> ControlPlaneSettings:
    """Validated settings, or one :class:`InputError` line naming the flag and its variable."""
    if not url:
        raise InputError(
            f"the control plane's URL is not set: --control-plane-url or {CONTROL_PLANE_URL_ENV}"
        )
    try:
        return ControlPlaneSettings(url=url, client_id=client_id or None)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0])
        variable = CONTROL_PLANE_URL_ENV if field == "url" else CLIENT_ID
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InputError(f"invalid {_FLAGS[field]} ({variable}): {message}") from None
