"""The writes every reconcile makes, each made only when it changes something.

Children are read (from the operator's cache) and applied only when they differ (or when
``force`` says a re-apply is due), or when a previous controller's field manager still owns
fields of them: those are taken over first (:mod:`~kura_operator.ownership`), so the apply
leaves nothing of theirs behind.
Finalizers are patched with a resourceVersion precondition; status is written only when more
than its timestamp changed, and each phase change posts one Event and one log line. Every line
is logged through the caller's adapter, so it names the object being reconciled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from kura_core import Kind, kind_of, object_key
from kura_kube import KubeError
from kura_operator.conditions import ERROR, stamp
from kura_operator.convergence import needs_apply, status_changed
from kura_operator.events import event, phase_event
from kura_operator.kube import KubeApi
from kura_operator.ownership import previous_managers, taken_over

Log = logging.LoggerAdapter[logging.Logger]
# Passed as ``live`` when the caller has not read the object (None means it does not exist).
UNREAD: Mapping[str, Any] = MappingProxyType({})


def now_utc() -> datetime:
    """The operator's clock: whole seconds, as status timestamps carry them."""
    return datetime.now(UTC).replace(microsecond=0)


class Writer:
    def __init__(
        self,
        api: KubeApi,
        *,
        instance: str,
        clock: Callable[[], datetime],
        take_over_from: Collection[str] = (),
    ) -> None:
        """``take_over_from``: the field managers of the controllers this one replaces."""
        self.api = api
        self.instance = instance
        self.clock = clock
        self.take_over_from = take_over_from

    async def converge(
        self,
        desired: dict[str, Any],
        log: Log,
        *,
        force: bool = False,
        live: Mapping[str, Any] | None = UNREAD,
    ) -> dict[str, Any] | None:
        """Apply ``desired`` if the live object differs (or ``force``); returns the live object."""
        kind = kind_of(desired)
        metadata = desired["metadata"]
        namespace, name = metadata.get("namespace"), metadata["name"]
        if live is UNREAD:
            live = await self.api.get(kind, namespace, name)
        previous = [] if live is None else previous_managers(live, self.take_over_from)
        if live is None or force or previous or needs_apply(desired, live):
            why = "missing" if live is None else "re-apply" if force else "differs"
            if previous:
                why = f"taking it over from field manager {', '.join(previous)}"
            log.info("applying %s (%s)", object_key(kind, namespace, name), why)
            if live is not None and previous:
                await self._take_over(kind, live)
            return await self.api.apply(desired)
        return dict(live)

    async def _take_over(self, kind: Kind, live: Mapping[str, Any]) -> None:
        """Make the previous managers' fields of ``live`` this operator's, with a
        resourceVersion precondition (a 409 reads the object again)."""
        metadata = live["metadata"]
        managed = taken_over(
            live,
            previous=self.take_over_from,
            manager=self.api.field_manager,
            time=stamp(self.clock()),
        )
        await self.api.patch_metadata(
            kind,
            metadata.get("namespace"),
            metadata["name"],
            {"managedFields": managed},
            resource_version=str(metadata.get("resourceVersion", "")),
        )

    async def set_finalizer(
        self, kind: Kind, raw: Mapping[str, Any], finalizer: str, log: Log, *, present: bool
    ) -> dict[str, Any]:
        """Add or remove ``finalizer``; a stale ``raw`` fails with 409 and is read again."""
        metadata = raw["metadata"]
        finalizers = list(metadata.get("finalizers") or [])
        if (finalizer in finalizers) == present:
            return dict(raw)
        log.info("%s the finalizer %s", "adding" if present else "removing", finalizer)
        wanted = [*finalizers, finalizer] if present else [f for f in finalizers if f != finalizer]
        updated = await self.api.patch_metadata(
            kind,
            metadata["namespace"],
            metadata["name"],
            {"finalizers": wanted},
            resource_version=str(metadata.get("resourceVersion", "")),
        )
        return updated if updated.get("apiVersion") else dict(raw)

    async def write_status(
        self,
        kind: Kind,
        raw: Mapping[str, Any],
        status: dict[str, Any],
        log: Log,
        *,
        removable: Collection[str] = (),
        on_phase: Callable[[str], None] | None = None,
        announce: bool = True,
    ) -> None:
        """Merge ``status`` in unless only its timestamp would change.

        ``removable`` fields absent from ``status`` are taken out (a merge patch's null).
        ``on_phase`` learns the new phase before the Event is posted, so whoever has seen the
        Event finds the metrics up to date. Without ``announce``, the caller posts the Event.
        """
        old = raw.get("status") or {}
        removed = [key for key in removable if key in old and key not in status]
        merged = {k: v for k, v in {**old, **status}.items() if k not in removed}
        if not status_changed(old, merged):
            return
        metadata = raw["metadata"]
        patch = {**status, **dict.fromkeys(removed)}
        await self.api.patch_status(kind, metadata["namespace"], metadata["name"], patch)
        phase = status.get("phase")
        if phase and on_phase is not None:
            on_phase(phase)
        if announce:
            await self.announce(raw, old.get("phase"), phase, status.get("message"), log)

    async def announce(
        self,
        raw: Mapping[str, Any],
        previous: str | None,
        phase: str | None,
        message: str | None,
        log: Log,
    ) -> None:
        """One log line and one Event when the phase changed."""
        if not phase or phase == previous:
            return
        log.log(
            logging.WARNING if phase == ERROR else logging.INFO,
            "phase %s%s: %s",
            phase,
            f" (was {previous})" if previous else "",
            message or "",
        )
        await self._post(
            phase_event(
                raw,
                phase=phase,
                previous=previous,
                message=message or "",
                now=self.clock(),
                instance=self.instance,
            ),
            log,
        )

    async def warn(self, raw: Mapping[str, Any], reason: str, message: str, log: Log) -> None:
        """One warning log line and one Warning Event about ``raw``."""
        log.warning("%s: %s", reason, message)
        await self._post(
            event(
                raw,
                reason=reason,
                message=message,
                warning=True,
                now=self.clock(),
                instance=self.instance,
            ),
            log,
        )

    async def _post(self, posted: dict[str, Any], log: Log) -> None:
        try:
            await self.api.create(posted)
        except KubeError as exc:
            # An event is a courtesy; losing one must not fail or repeat the reconcile.
            log.warning("could not post event: %s", exc)
