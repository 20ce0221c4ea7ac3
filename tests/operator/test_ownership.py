"""Taking a child over from a previous controller's field manager: managedFields, rewritten.

What the API server then does with the rewritten entries (the next apply removes what kura no
longer applies) is tested on the real control plane, in test_migration.py.
"""

from __future__ import annotations

from typing import Any

from kura_operator.ownership import previous_managers, taken_over, union

PREVIOUS = ("kura-controller", "manager")
NOW = "2026-12-06T05:00:00Z"


def entry(manager: str, operation: str, fields: dict[str, Any], **extra: str) -> dict[str, Any]:
    return {
        "manager": manager,
        "operation": operation,
        "apiVersion": "apps/v1",
        "time": "2026-01-01T00:00:00Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
        **extra,
    }


def deployment(*entries: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "gw-controller", "managedFields": list(entries)},
    }


UPSTREAM = entry(
    "kura-controller",
    "Apply",
    {"f:metadata": {"f:labels": {"f:a": {}}}, "f:spec": {"f:replicas": {}}},
)
RUNTIME = entry("manager", "Update", {"f:spec": {"f:template": {"f:spec": {"f:dnsPolicy": {}}}}})
OURS = entry("kura-operator", "Apply", {"f:metadata": {"f:labels": {"f:b": {}}}})
STATUS = entry("kura-controller", "Update", {"f:status": {"f:phase": {}}}, subresource="status")
REVISION = entry(
    "kube-controller-manager",
    "Update",
    {"f:metadata": {"f:annotations": {"f:deployment.kubernetes.io/revision": {}}}},
)


def test_union_keeps_every_path_of_both_sets() -> None:
    assert union(
        {"f:spec": {"f:replicas": {}, "f:template": {"f:metadata": {}}}},
        {"f:spec": {"f:template": {"f:spec": {}}}, "f:metadata": {}},
    ) == {
        "f:spec": {"f:replicas": {}, "f:template": {"f:metadata": {}, "f:spec": {}}},
        "f:metadata": {},
    }


def test_previous_managers_are_those_owning_fields_of_the_object_itself() -> None:
    assert previous_managers(deployment(UPSTREAM, RUNTIME, OURS, STATUS), PREVIOUS) == [
        "kura-controller",
        "manager",
    ]
    # Status written by a previous controller is no field of the object's own.
    assert previous_managers(deployment(OURS, STATUS, REVISION), PREVIOUS) == []
    assert previous_managers({"metadata": {}}, PREVIOUS) == []


def test_the_previous_managers_fields_become_the_operators_apply_entry() -> None:
    managed = taken_over(
        deployment(UPSTREAM, REVISION, RUNTIME, OURS, STATUS),
        previous=PREVIOUS,
        manager="kura-operator",
        time=NOW,
    )
    # Others keep theirs: the Deployment controller's annotation, the status entry.
    assert managed == [
        REVISION,
        STATUS,
        {
            "manager": "kura-operator",
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "time": NOW,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:a": {}, "f:b": {}}},
                "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:dnsPolicy": {}}}},
            },
        },
    ]


def test_an_object_the_operator_never_applied_gets_its_first_apply_entry() -> None:
    managed = taken_over(deployment(UPSTREAM), previous=PREVIOUS, manager="kura-operator", time=NOW)
    assert managed is not None
    (only,) = managed
    assert (only["manager"], only["operation"], only["fieldsV1"]) == (
        "kura-operator",
        "Apply",
        UPSTREAM["fieldsV1"],
    )


def test_nothing_to_take_over_is_none() -> None:
    assert (
        taken_over(deployment(OURS, REVISION), previous=PREVIOUS, manager="kura-operator", time=NOW)
        is None
    )
    assert taken_over(deployment(UPSTREAM), previous=(), manager="kura-operator", time=NOW) is None
