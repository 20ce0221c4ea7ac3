"""Every Hetzner Cloud load balancer of a project, read through the official ``hcloud`` client.

A thin adapter: the token comes from ``HCLOUD_TOKEN``, the endpoint from ``HCLOUD_ENDPOINT`` (as
the hcloud CLI reads them), and each failure becomes one :class:`HetznerAPIError` line. The token
never reaches a message, a log line or a repr.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from kura_core import InputError, KuraError, is_loopback

TOKEN_ENV = "HCLOUD_TOKEN"
ENDPOINT_ENV = "HCLOUD_ENDPOINT"
DEFAULT_ENDPOINT = "https://api.hetzner.cloud/v1"
# Seconds to connect and between bytes of an answer; a listing answers in well under a second.
DEFAULT_TIMEOUT = 5.0


class HetznerAPIError(KuraError):
    """The Hetzner API refused, failed or did not answer a request (exit code 2)."""


class Target(BaseModel):
    """One target of a load balancer: a server, a server label selector or an IP."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str = Field(description="server, label_selector or ip")
    server_id: int | None = None
    label_selector: str | None = Field(default=None, description="Selects Hetzner server labels")
    ip: str | None = None
    use_private_ip: bool | None = None

    def __str__(self) -> str:
        if self.type == "server":
            return f"server:{self.server_id}"
        if self.type == "label_selector":
            return f"label:{self.label_selector}"
        return f"{self.type}:{self.ip}"


class HetznerLoadBalancer(BaseModel):
    """What the inventory reports of one load balancer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    name: str
    type: str = Field(description="lb11, lb21, lb31...")
    location: str = Field(description="fsn1, ash, hil...")
    network_zone: str | None = None
    public_ipv4: str | None = None
    public_ipv6: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    targets: list[Target] = Field(default_factory=list)


class Inventory(BaseModel):
    """Every load balancer the token's project holds, in the API's order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint: str
    load_balancers: list[HetznerLoadBalancer]


class HcloudSettings(BaseModel):
    """How to reach the API; the token is a ``SecretStr``, shown as ``**********``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    token: SecretStr
    endpoint: str = DEFAULT_ENDPOINT
    timeout: float = Field(default=DEFAULT_TIMEOUT, gt=0)


def settings_from_env(
    environ: Mapping[str, str], *, timeout: float = DEFAULT_TIMEOUT
) -> HcloudSettings:
    """Settings from ``HCLOUD_TOKEN`` (required) and ``HCLOUD_ENDPOINT`` (optional)."""
    token = environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise InputError(f"{TOKEN_ENV} is not set: export a Hetzner Cloud API token (read-only)")
    # requests would quote a header value it rejects, token included, in its error.
    if not token.isprintable() or any(char.isspace() for char in token):
        raise InputError(f"{TOKEN_ENV} contains whitespace or control characters")
    endpoint = environ.get(ENDPOINT_ENV, "").strip().rstrip("/") or DEFAULT_ENDPOINT
    if not endpoint.startswith(("https://", "http://")):
        raise InputError(f"{ENDPOINT_ENV} must be an http(s) URL, got {endpoint!r}")
    # The token goes in every request's header: in clear text only to this machine.
    if endpoint.startswith("http://") and not is_loopback(urlsplit(endpoint).hostname or ""):
        raise InputError(
            f"{ENDPOINT_ENV} must be an https URL (plain http only on loopback), got {endpoint!r}"
        )
    if timeout <= 0:
        raise InputError(f"the Hetzner API timeout must be more than zero seconds, got {timeout}")
    return HcloudSettings(token=SecretStr(token), endpoint=endpoint, timeout=timeout)


def retry_hint(headers: Mapping[str, str], now: datetime) -> str:
    """When to retry after a 429, from ``Retry-After`` or Hetzner's ``RateLimit-*`` headers."""
    lower = {key.lower(): value.strip() for key, value in headers.items()}
    limit = lower.get("ratelimit-limit", "")
    per_hour = f" (limit {limit} requests per hour)" if limit.isdigit() else ""
    retry_after = lower.get("retry-after", "")
    if retry_after.isdigit():
        return f"retry in {int(retry_after)}s{per_hour}"
    if retry_after:
        try:
            at: datetime | None = parsedate_to_datetime(retry_after)
        except (TypeError, ValueError):
            at = None
        if at is not None and at.tzinfo is not None:
            return f"retry after {_instant(at, now)}{per_hour}"
    reset = lower.get("ratelimit-reset", "")
    if reset.isdigit():
        # Hetzner refills one request per second; RateLimit-Reset is when the bucket is full.
        return f"retry after {_instant(datetime.fromtimestamp(int(reset), UTC), now)}{per_hour}"
    return f"retry in a minute (no Retry-After or RateLimit-Reset header){per_hour}"


def _instant(at: datetime, now: datetime) -> str:
    wait = max(0, math.ceil((at - now).total_seconds()))
    return f"{at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ} (in {wait}s)"
