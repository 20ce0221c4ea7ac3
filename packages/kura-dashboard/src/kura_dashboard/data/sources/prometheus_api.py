"""Prometheus's HTTP API (``/api/v1/query``, ``/api/v1/rules``), spoken through urllib3.

urllib3 is the transport under requests and under the Kubernetes client. The dashboard uses it
directly because a refresh sends eight queries whose answers hold thousands of series, and what
requests adds on top of urllib3 (merging session settings, hooks, cookies, reading the body in
10 KiB chunks) cost about 0.6 ms of CPU a request: side by side at 506 gateways, 4.6 ms of the
dashboard's 40.5 a refresh. prometheus-api-client's ``custom_query`` is one requests GET, so it went
with it. ``docs/architecture.md`` has the figures.

What requests would take from the environment is still taken, once, with requests' own helpers,
so the settings mean what they meant: ``http_proxy``/``https_proxy``/``all_proxy`` and
``no_proxy``, ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` (else certifi's bundle), and ``.netrc``
(or ``NETRC``) credentials. Credentials in the URL (``https://user:password@host``) are sent as
basic auth, as requests sends them, and never shown: :attr:`PrometheusApi.url` is the URL
without them.

Answers are asked for gzip-compressed: a remote Prometheus or a ``kubectl port-forward`` would
carry about twenty times the bytes otherwise. The client keeps a short timeout and no retries:
the dashboard must show a dead Prometheus at once, not after a retry schedule.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import requests
import urllib3
from urllib3.util import make_headers, parse_url

from kura_core import InputError, transport_reason
from kura_dashboard.data.readings import SourceError

NOT_THE_API = "not a Prometheus API answer"


class QueryError(Exception):
    """Prometheus answered, and refused: ``HTTP 400: parse error ...``, in its own words."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(f"HTTP {status}: {error}" if error else f"HTTP {status}")
        self.status = status
        self.error = error


def _pool(url: str, *, timeout: float, maxsize: int) -> urllib3.PoolManager:
    """One pool for ``url`` with the proxy and CA bundle its environment says (read once);
    :class:`InputError` for a proxy it cannot use."""
    settings = requests.Session().merge_environment_settings(url, {}, None, None, None)
    verify = settings["verify"]
    bundle = verify if isinstance(verify, str) else requests.utils.DEFAULT_CA_BUNDLE_PATH
    tls: dict[str, Any] = {"cert_reqs": "CERT_REQUIRED" if verify else "CERT_NONE"}
    # A bundle may be a directory of certificates, as requests allows (c_rehash'ed).
    tls["ca_cert_dir" if Path(bundle).is_dir() else "ca_certs"] = bundle
    common: dict[str, Any] = {
        "num_pools": 1,
        "maxsize": maxsize,
        "timeout": urllib3.Timeout(connect=timeout, read=timeout),
        "retries": False,
        **tls,
    }
    scheme = parse_url(url).scheme or "http"
    proxies = settings["proxies"]
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy:
        return urllib3.PoolManager(**common)
    proxy_url = parse_url(proxy)
    if proxy_url.scheme not in ("http", "https"):
        raise InputError(
            f"the proxy the environment names for {url} is a {proxy_url.scheme} proxy; the "
            "dashboard reaches Prometheus through http and https proxies only"
        )
    headers = make_headers(proxy_basic_auth=unquote(proxy_url.auth)) if proxy_url.auth else None
    bare = proxy_url._replace(auth=None).url
    return urllib3.ProxyManager(bare, proxy_headers=headers, **common)


class PrometheusApi:
    """``GET``s against one Prometheus, each answer read in one piece and decoded once."""

    def __init__(self, url: str, *, timeout: float, maxsize: int) -> None:
        parts = parse_url(url.rstrip("/"))
        self.url = parts._replace(auth=None).url
        self.timeout = timeout
        headers = {"Accept-Encoding": "gzip", "Accept": "application/json"}
        if parts.auth:
            user, _, password = parts.auth.partition(":")
            headers |= make_headers(basic_auth=f"{unquote(user)}:{unquote(password)}")
        else:
            netrc = requests.utils.get_netrc_auth(self.url)
            if netrc is not None:
                headers |= make_headers(basic_auth=":".join(netrc))
        self._headers = headers
        self._pool = _pool(self.url, timeout=timeout, maxsize=maxsize)

    def query(self, promql: str, at: float) -> list[dict[str, Any]]:
        """The instant vector ``promql`` evaluates to at ``at``: Prometheus's ``result``."""
        result = self._get("/api/v1/query", {"query": promql, "time": repr(at)}).get("result")
        if not isinstance(result, list):
            raise QueryError(200, NOT_THE_API)
        return result

    def recording_rules(self) -> list[dict[str, Any]]:
        """Every rule group's recording rules, as ``/api/v1/rules?type=record`` lists them."""
        groups = self._get("/api/v1/rules", {"type": "record"}).get("groups")
        if not isinstance(groups, list):
            raise QueryError(200, NOT_THE_API)
        return groups

    def _get(self, path: str, fields: dict[str, str]) -> dict[str, Any]:
        try:
            answer = self._pool.request(
                "GET", f"{self.url}{path}", fields=fields, headers=self._headers
            )
        except urllib3.exceptions.HTTPError as exc:
            # urllib3 derives a refused connection from its connect timeout: it is not one.
            if isinstance(exc, urllib3.exceptions.TimeoutError) and not isinstance(
                exc, urllib3.exceptions.NewConnectionError
            ):
                raise SourceError(
                    f"Prometheus at {self.url} did not answer within {self.timeout:g}s"
                ) from None
            raise SourceError(
                f"cannot connect to Prometheus at {self.url}: {transport_reason(exc)}"
            ) from None
        try:
            body = json.loads(answer.data)
        except ValueError:
            body = None
        data = body.get("data") if isinstance(body, dict) else None
        if answer.status != 200 or not isinstance(data, dict):
            error = body.get("error", "") if isinstance(body, dict) else ""
            if answer.status == 200:
                error = error or NOT_THE_API
            raise QueryError(answer.status, str(error))
        return data

    def close(self) -> None:
        self._pool.clear()
