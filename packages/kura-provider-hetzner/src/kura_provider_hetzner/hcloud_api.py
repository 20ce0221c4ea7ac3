"""The hcloud adapter: the official client over real HTTP, and its failures as one line.

Kept apart from the inventory's models so that ``kura`` starts without importing hcloud; only
``kura lb`` commands and the LB traffic reader (``lb_traffic``) load it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import requests
from hcloud import APIException, Client
from hcloud.load_balancers import BoundLoadBalancer, LoadBalancerTarget

import kura_provider_hetzner
from kura_provider_hetzner.inventory import (
    TOKEN_ENV,
    HcloudSettings,
    HetznerAPIError,
    HetznerLoadBalancer,
    Inventory,
    Target,
    retry_hint,
)


def target_record(target: LoadBalancerTarget) -> Target:
    return Target(
        type=target.type or "",
        server_id=target.server.id if target.server is not None else None,
        label_selector=target.label_selector.selector if target.label_selector else None,
        ip=target.ip.ip if target.ip is not None else None,
        use_private_ip=target.use_private_ip,
    )


def load_balancer_record(lb: BoundLoadBalancer) -> HetznerLoadBalancer:
    """The inventory's view of one hcloud ``BoundLoadBalancer``."""
    public = lb.public_net
    return HetznerLoadBalancer(
        id=lb.id,
        name=lb.name or "",
        type=(lb.load_balancer_type.name if lb.load_balancer_type else None) or "",
        location=(lb.location.name if lb.location else None) or "",
        network_zone=lb.location.network_zone if lb.location else None,
        public_ipv4=public.ipv4.ip if public is not None and public.ipv4 is not None else None,
        public_ipv6=public.ipv6.ip if public is not None and public.ipv6 is not None else None,
        labels=dict(lb.labels or {}),
        targets=[target_record(target) for target in lb.targets or []],
    )


class _LastResponse:
    """A requests response hook: hcloud's ``APIException`` carries neither status nor headers."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.headers: Mapping[str, str] = {}

    def record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.status = response.status_code
        self.headers = response.headers


def _refused(exc: BaseException) -> bool:
    """Whether a ConnectionRefusedError is in ``exc``'s chain (requests nests urllib3's)."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return True
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked.extend(current.args)
        pending.extend(item for item in linked if isinstance(item, BaseException))
    return False


def _status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase.lower()}"
    except ValueError:
        return str(status)


def api_error(
    exc: APIException,
    *,
    status: int | None,
    headers: Mapping[str, str],
    endpoint: str,
    now: datetime,
) -> HetznerAPIError:
    """One line for an API answer hcloud raised as an ``APIException``."""
    code = status if status is not None else exc.code if isinstance(exc.code, int) else None
    where = f"the Hetzner API at {endpoint}"
    if code is not None and code < HTTPStatus.BAD_REQUEST:
        return HetznerAPIError(f"{where} answered HTTP {code} with a body that is not JSON")
    if code == HTTPStatus.UNAUTHORIZED:
        return HetznerAPIError(
            f"{where} rejected the token in {TOKEN_ENV} (401 unauthorized): it is wrong, revoked "
            "or for another project"
        )
    if code == HTTPStatus.FORBIDDEN:
        return HetznerAPIError(
            f"{where} refused the request (403 forbidden): {exc.message}; the token in "
            f"{TOKEN_ENV} may not read load balancers"
        )
    if code == HTTPStatus.TOO_MANY_REQUESTS:
        return HetznerAPIError(
            f"{where} rate-limited the token (429 too many requests): {retry_hint(headers, now)}"
        )
    if code is not None and code >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return HetznerAPIError(
            f"{where} failed (HTTP {_status_text(code)}): a Hetzner-side error, retry later"
        )
    shown = _status_text(code) if code is not None else "error"
    return HetznerAPIError(f"{where} answered HTTP {shown} ({exc.code}): {exc.message}")


def transport_error(
    exc: requests.RequestException, *, endpoint: str, timeout: float
) -> HetznerAPIError:
    """One line for a request that got no HTTP answer."""
    if isinstance(exc, requests.Timeout):
        return HetznerAPIError(f"the Hetzner API at {endpoint} did not answer within {timeout:g}s")
    if _refused(exc):
        return HetznerAPIError(
            f"cannot connect to the Hetzner API at {endpoint}: connection refused"
        )
    if isinstance(exc, requests.ConnectionError):
        return HetznerAPIError(
            f"cannot connect to the Hetzner API at {endpoint}: {type(exc).__name__} "
            "(check the host name and the network)"
        )
    # Other requests errors may quote the request, headers included: show only their kind.
    return HetznerAPIError(f"request to the Hetzner API at {endpoint} failed: {type(exc).__name__}")


def _client(settings: HcloudSettings, last: _LastResponse) -> Client:
    client = Client(
        token=settings.token.get_secret_value(),
        api_endpoint=settings.endpoint,
        application_name="kura",
        application_version=kura_provider_hetzner.__version__,
        timeout=settings.timeout,
        # kura only reads; should an action ever be awaited, 10 polls of 1 s bound it.
        poll_interval=1.0,
        poll_max_retries=10,
    )
    # hcloud 2.27 retries timeouts, 429 and 502/504 up to 5 times with a backoff of up to 60 s,
    # which turns one unanswered request into minutes. A read fails at once with a clear line
    # instead (429 says when to retry); it has no public switch, so set it here.
    client._client._retry_max_retries = 0
    client._client._session.hooks["response"].append(last.record)
    return client


class HcloudSession:
    """One hcloud client over one HTTP session, and the one-line errors of its requests."""

    def __init__(self, settings: HcloudSettings) -> None:
        self.settings = settings
        self._last = _LastResponse()
        self.client = _client(settings, self._last)

    @contextmanager
    def errors(self, *, now: datetime) -> Iterator[None]:
        """Turns a failed request inside into one :class:`HetznerAPIError`, token masked.

        ``now`` is when a 429's retry hint counts its wait from.
        """
        endpoint = self.settings.endpoint
        token = self.settings.token.get_secret_value()
        try:
            yield
        except APIException as exc:
            last = self._last
            error = api_error(
                exc, status=last.status, headers=last.headers, endpoint=endpoint, now=now
            )
            raise _redacted(error, token) from None
        except requests.RequestException as exc:
            error = transport_error(exc, endpoint=endpoint, timeout=self.settings.timeout)
            raise _redacted(error, token) from None
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            # hcloud indexes the answer's fields and parses its dates directly: an unexpected
            # shape surfaces as one of these.
            error = HetznerAPIError(
                f"unexpected answer from the Hetzner API at {endpoint}: {type(exc).__name__} {exc}"
            )
            raise _redacted(error, token) from None

    def close(self) -> None:
        self.client._client._session.close()


def fetch_inventory(settings: HcloudSettings) -> Inventory:
    """Every load balancer of the token's project; ``get_all`` follows the pages."""
    session = HcloudSession(settings)
    try:
        with session.errors(now=datetime.now(UTC)):
            found = session.client.load_balancers.get_all()
    finally:
        session.close()
    return Inventory(
        endpoint=settings.endpoint, load_balancers=[load_balancer_record(lb) for lb in found]
    )


def _redacted(error: HetznerAPIError, token: str) -> HetznerAPIError:
    """The same error with the token masked, should an API message ever echo it."""
    text = str(error)
    return HetznerAPIError(text.replace(token, "**********")) if token in text else error
