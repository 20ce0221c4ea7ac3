"""Steps 5 to 7: readiness, authenticated round trips, and the auth probes, over real HTTP.

Each check returns a one-line message when it passed and raises
:class:`~kura_smoke.report.StepFailure` (expected, got, likely cause) when it did not.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from kura_smoke.diagnosis import INTROSPECTION_DOWN, error_got_and_cause, status_cause
from kura_smoke.kura_api import READY_PATH, KuraEndpoint, bearer, cas_path, gradle_path
from kura_smoke.payload import Comparer, Payload
from kura_smoke.progress import View
from kura_smoke.report import StepFailure
from kura_smoke.secret import Secret
from kura_smoke.transfer import Transfer, download, upload


def _ready_body(text: str) -> bool:
    try:
        data = json.loads(text)
    except ValueError:
        return '"ready":true' in text.replace(" ", "")
    return isinstance(data, dict) and data.get("ready") is True


def _shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class EndpointChecks:
    client: httpx.Client
    endpoint: KuraEndpoint
    token: Secret
    view: View
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def _failure(self, summary: str, expected: str, exc: Exception) -> StepFailure:
        got, cause = error_got_and_cause(exc, target=self.endpoint.target)
        return StepFailure(summary, expected=expected, got=got, cause=cause)

    # --- readiness -------------------------------------------------------------------------

    def ready(self, *, timeout: float, interval: float) -> str:
        """``GET /ready`` until 200 with ``"ready":true``, retried until ``timeout``."""
        url = self.endpoint.url(READY_PATH, tenant=False)
        expected = 'GET /ready answers 200 with "ready":true'
        deadline = self.clock() + timeout
        attempts = 0
        with self.view.task(f"{self.endpoint.host} /ready") as task:
            while True:
                attempts += 1
                try:
                    response = self.client.get(url)
                except httpx.HTTPError as exc:
                    last: StepFailure = self._failure(
                        f"{self.endpoint.host} is not ready within {timeout:g}s", expected, exc
                    )
                else:
                    if response.status_code == 200 and _ready_body(response.text):
                        return f"/ready answered 200 with ready=true after {attempts} attempt(s)"
                    last = StepFailure(
                        f"{self.endpoint.host} is not ready within {timeout:g}s",
                        expected=expected,
                        got=f"{response.status_code} {_shorten(response.text)}",
                        cause=(
                            "Kura reports itself not ready (still starting, or its storage "
                            "or peers are unhealthy)"
                            if response.status_code in (200, 503)
                            else status_cause(response.status_code)
                        ),
                    )
                task.describe(f"attempt {attempts}: {last.got}")
                if self.clock() >= deadline:
                    last.got = f"after {attempts} attempt(s), last: {last.got}"
                    raise last
                self.sleep(min(interval, max(0.0, deadline - self.clock())))

    # --- round trips -----------------------------------------------------------------------

    def _upload(self, method: str, path: str, payload: Payload, ok: set[int]) -> Transfer:
        url = self.endpoint.url(path)
        expected = f"{method} {path} answers {'/'.join(str(s) for s in sorted(ok))}"
        try:
            with self.view.task(f"{method} {path}", total=payload.size) as task:
                sent = upload(
                    self.client,
                    method,
                    url,
                    payload,
                    headers=bearer(self.token),
                    progress=task.advance,
                )
        except httpx.HTTPError as exc:
            raise self._failure(f"{method} {path} failed", expected, exc) from exc
        if sent.status not in ok:
            raise StepFailure(
                f"{method} {path} answered {sent.status}",
                expected=expected,
                got=f"{sent.status} {_shorten(sent.error_body)}",
                cause=status_cause(sent.status),
            )
        return sent

    def _download_identical(self, path: str, payload: Payload, sent: Transfer) -> Transfer:
        url = self.endpoint.url(path)
        expected = f"GET {path} answers 200 with the {payload.size} bytes uploaded"
        comparer = Comparer(payload)
        try:
            with self.view.task(f"GET {path}", total=payload.size) as task:
                got = download(
                    self.client,
                    url,
                    headers=bearer(self.token),
                    comparer=comparer,
                    progress=task.advance,
                )
        except httpx.HTTPError as exc:
            raise self._failure(f"GET {path} failed", expected, exc) from exc
        if got.status != 200:
            raise StepFailure(
                f"GET {path} answered {got.status}",
                expected=expected,
                got=f"{got.status} {_shorten(got.error_body)}",
                cause=status_cause(got.status),
            )
        echoed = got.checksum_header
        if not comparer.identical or got.sha256 != sent.sha256 or echoed not in (None, sent.sha256):
            where = (
                f", first difference at byte {comparer.first_difference}"
                if comparer.first_difference is not None
                else ""
            )
            raise StepFailure(
                f"GET {path} returned other bytes than were uploaded",
                expected=f"{payload.size} bytes with sha256 {sent.sha256}",
                got=f"{got.bytes} bytes with sha256 {got.sha256}{where}"
                + (f" (server checksum {echoed})" if echoed else ""),
                cause="the body was altered or cut on the way or in storage: a proxy rewriting "
                "bodies, truncation by a timeout or size limit, or another object served",
            )
        return got

    def _roundtrip(self, method: str, path: str, payload: Payload, ok: set[int]) -> str:
        sent = self._upload(method, path, payload, ok)
        got = self._download_identical(path, payload, sent)
        return (
            f"{method} {sent.status} and GET {got.status}: {payload.size} bytes identical, "
            f"sha256 {sent.sha256[:16]}..."
        )

    def cas_roundtrip(self, cas_id: str, payload: Payload) -> str:
        """Xcode CAS: ``POST`` (upstream answers 204) then ``GET /api/cache/cas/<id>``."""
        return self._roundtrip("POST", cas_path(cas_id), payload, {200, 201, 204})

    def gradle_roundtrip(self, payload: Payload) -> str:
        """Gradle: ``PUT`` (201 new, 200 existed) then ``GET /api/cache/gradle/<sha256>``."""
        return self._roundtrip("PUT", gradle_path(payload.sha256()), payload, {200, 201})

    # --- auth probes -----------------------------------------------------------------------

    def _probe(self, path: str, headers: dict[str, str], what: str) -> str:
        url = self.endpoint.url(path)
        expected = f"GET {path} {what} answers 401"
        try:
            response = self.client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            raise self._failure(f"the probe {what} failed", expected, exc) from exc
        status = response.status_code
        if status == 401:
            return f"{what}: 401 {_shorten(response.text, 80)}"
        if status == 503:
            cause = INTROSPECTION_DOWN
        elif 200 <= status < 300:
            cause = "authentication is not enforced on the cache API"
        else:
            cause = status_cause(status)
        raise StepFailure(
            f"the probe {what} answered {status}, not 401",
            expected=expected,
            got=f"{status} {_shorten(response.text)}",
            cause=cause,
        )

    def no_token(self, path: str) -> str:
        return self._probe(path, {}, "without a token")

    def bogus_token(self, path: str) -> str:
        bogus = Secret(f"kura-smoke-bogus-{secrets.token_hex(16)}")
        return self._probe(path, bearer(bogus), "with a bogus token")
