"""Whether the live state already is the desired state, so unchanged objects cost no write."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

# Fields the operator's status writes stamp every time; a change in them alone is no change.
VOLATILE_STATUS_FIELDS = frozenset({"lastReconciledAt"})
APPLIED_HASH_ANNOTATION = "kura.tuist.dev/applied-sha256"


def with_applied_hash(desired: Mapping[str, Any]) -> dict[str, Any]:
    """``desired`` carrying the SHA-256 of its own content in an annotation.

    Live objects are compared as supersets (:func:`contains`), so a field the desired state no
    longer has (an LB annotation taken out of the spec, a node selector dropped) would never
    look different, and server-side apply only removes such a field when an apply is sent. The
    hash changes with every change of the desired object, removals included.
    """
    encoded = json.dumps(desired, sort_keys=True, separators=(",", ":")).encode()
    metadata = dict(desired.get("metadata") or {})
    metadata["annotations"] = {
        **(metadata.get("annotations") or {}),
        APPLIED_HASH_ANNOTATION: hashlib.sha256(encoded).hexdigest(),
    }
    return {**desired, "metadata": metadata}


def contains(live: Any, desired: Any) -> bool:
    """Every field of ``desired`` is in ``live`` with the same value.

    The API server adds defaults (a Service's clusterIP, a container's terminationMessagePath),
    so live objects are compared as supersets; lists must match element by element. It also
    leaves out ``omitempty`` fields holding their zero value (``initialDelaySeconds: 0``), so a
    zero value in ``desired`` matches a field absent from ``live``.
    """
    if isinstance(desired, Mapping):
        return isinstance(live, Mapping) and all(
            contains(live[key], value) if key in live else _is_zero(value)
            for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(live) == len(desired)
            and all(contains(have, want) for have, want in zip(live, desired, strict=True))
        )
    return bool(live == desired)


def _is_zero(value: Any) -> bool:
    # Zero values as Go's JSON encoding omits them. A zero that means something is a pointer
    # field, which the server keeps, so it is never missing from ``live``.
    return value is not None and value in (0, False, "", [], {})


def needs_apply(desired: Mapping[str, Any], live: Mapping[str, Any] | None) -> bool:
    if live is None:
        return True
    wanted = {key: value for key, value in desired.items() if key != "status"}
    return not contains(live, wanted)


def status_changed(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    def stable(status: Mapping[str, Any] | None) -> dict[str, Any]:
        return {k: v for k, v in (status or {}).items() if k not in VOLATILE_STATUS_FIELDS}

    return stable(old) != stable(new)
