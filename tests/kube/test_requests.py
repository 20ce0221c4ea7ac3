"""Every request kura sends, as data, and how an answer becomes a dict or one KubeError."""

from __future__ import annotations

import json

import pytest

from kura_core import (
    DEPLOYMENT,
    KURA_GATEWAY,
    SECRET,
)
from kura_kube import ConfigError, KubeError, requests

DEPLOY = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "gw", "namespace": "kura"},
    "spec": {"replicas": 2},
}


def test_apply_is_a_forced_server_side_apply_under_the_field_manager() -> None:
    request = requests.apply(DEPLOY, field_manager="kura-operator")
    assert (request.method, request.path, request.content_type) == (
        "PATCH",
        "/apis/apps/v1/namespaces/kura/deployments/gw",
        "application/apply-patch+yaml",
    )
    assert request.query == (("fieldManager", "kura-operator"), ("force", "true"))
    assert request.body == DEPLOY
    assert (request.action, request.verb) == ("apply Deployment kura/gw", "patch")


def test_list_takes_only_the_selectors_and_paging_it_is_given() -> None:
    assert requests.list_objects(DEPLOYMENT, "kura").query == ()
    paged = requests.list_objects(
        DEPLOYMENT, None, label_selector="a=b", limit=500, token="next-page"
    )
    assert paged.path == "/apis/apps/v1/deployments"
    assert paged.query == (("labelSelector", "a=b"), ("limit", "500"), ("continue", "next-page"))
    assert (paged.action, paged.verb) == ("list deployments", "list")


def test_a_watch_asks_for_bookmarks_from_a_version_for_a_while() -> None:
    request = requests.watch(KURA_GATEWAY, "kura", label_selector="", version="42", seconds=290.7)
    assert dict(request.query) == {
        "watch": "true",
        "allowWatchBookmarks": "true",
        "resourceVersion": "42",
        "timeoutSeconds": "290",
    }
    assert request.verb == "watch"


def test_a_delete_with_a_uid_carries_it_as_a_precondition() -> None:
    assert requests.delete(SECRET, "kura", "s").body is None
    request = requests.delete(SECRET, "kura", "s", uid="u-1")
    assert request.body == {"preconditions": {"uid": "u-1"}}
    assert (request.method, request.action) == ("DELETE", "delete Secret kura/s")


def test_metadata_and_data_patches_carry_the_version_they_were_read_at() -> None:
    meta = requests.patch_metadata(
        KURA_GATEWAY, "kura", "g", {"finalizers": ["f"]}, resource_version="7"
    )
    assert meta.body == {"metadata": {"finalizers": ["f"], "resourceVersion": "7"}}
    assert meta.content_type == "application/merge-patch+json"
    data = requests.replace_data(SECRET, "kura", "s", {"k": "dg=="}, resource_version="8")
    assert data.body == {"metadata": {"resourceVersion": "8"}, "data": {"k": "dg=="}}
    status = requests.patch_status(KURA_GATEWAY, "kura", "g", {"phase": "Ready"})
    assert status.path.endswith("/kuragateways/g/status")
    assert status.body == {"status": {"phase": "Ready"}}


def test_create_names_a_generated_name_and_its_manager() -> None:
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": "g.", "namespace": "kura"},
    }
    request = requests.create(event, field_manager="kura-smoke")
    assert (request.method, request.path) == ("POST", "/api/v1/namespaces/kura/events")
    assert request.query == (("fieldManager", "kura-smoke"),)
    assert request.action == "create Event kura/g."


def test_discovery_reads_whether_a_kind_is_served() -> None:
    request = requests.discover(KURA_GATEWAY)
    assert request.path == "/apis/kura.tuist.dev/v1alpha1"
    answer = {"resources": [{"name": "kuragateways"}, {"name": "kuragateways/status"}]}
    assert requests.served(answer, KURA_GATEWAY)
    assert not requests.served({"resources": [{"name": "kurainstances"}]}, KURA_GATEWAY)
    assert not requests.served({}, KURA_GATEWAY)


def status_body(reason: str, message: str) -> bytes:
    return json.dumps({"kind": "Status", "reason": reason, "message": message}).encode()


def test_a_refusal_is_the_servers_status_with_what_was_asked_for() -> None:
    request = requests.get(DEPLOYMENT, "kura", "gw")
    with pytest.raises(KubeError) as caught:
        requests.answer(request, 403, "Forbidden", status_body("Forbidden", "no"), None)
    error = caught.value
    assert (error.status, error.reason, error.message, error.transient) == (
        403,
        "Forbidden",
        "no",
        False,
    )
    assert str(error) == "403 Forbidden: no"
    assert error.described == "get Deployment kura/gw: 403 Forbidden: no"


@pytest.mark.parametrize(
    ("body", "retry_after", "reason", "message", "seconds"),
    [
        (b"<html>busy</html>", "3", "Service Unavailable", "GET /version", 3.0),
        (b"", "soon", "Service Unavailable", "GET /version", None),
        (b"[1, 2]", "-1", "Service Unavailable", "GET /version", 0.0),
    ],
)
def test_a_refusal_without_a_status_body_says_what_was_sent(
    body: bytes, retry_after: str, reason: str, message: str, seconds: float | None
) -> None:
    error = requests.refusal(requests.version(), 503, "Service Unavailable", body, retry_after)
    assert (error.reason, error.message, error.retry_after) == (reason, message, seconds)
    assert error.transient


@pytest.mark.parametrize(
    ("status", "transient"),
    [
        (0, True),
        (408, True),
        (409, True),
        (429, True),
        (500, True),
        (400, False),
        (404, False),
        (422, False),
    ],
)
def test_which_errors_may_pass(status: int, transient: bool) -> None:
    assert KubeError(status, "Any", "x").transient is transient


def test_an_answer_that_is_not_an_object_reads_as_empty() -> None:
    request = requests.version()
    assert requests.answer(request, 200, "OK", b'{"gitVersion": "v1.37.0"}', None) == {
        "gitVersion": "v1.37.0"
    }
    assert requests.answer(request, 200, "OK", b"not json", None) == {}
    assert requests.answer(request, 200, "OK", b"[]", None) == {}


def test_a_servers_message_never_carries_key_material_or_a_token() -> None:
    secret = "c2VjcmV0LWtleS1tYXRlcmlhbC10aGF0LWlzLWxvbmctZW5vdWdoMTIzNDU2Nzg5MA=="
    body = status_body("Invalid", f'Secret "s" is invalid: data.key: {secret}, Bearer abc.def')
    error = requests.refusal(requests.get(SECRET, "kura", "s"), 422, "", body, None)
    assert secret not in str(error)
    assert "abc.def" not in error.described
    assert error.message == 'Secret "s" is invalid: data.key: [redacted], [redacted]'


def test_no_answer_and_no_configuration_say_so() -> None:
    assert str(KubeError(0, "Unreachable", "connection refused")) == (
        "no answer (Unreachable): connection refused"
    )
    config = ConfigError("cannot load the kubeconfig /x: no file")
    assert str(config) == "cannot load the kubeconfig /x: no file"
    assert isinstance(config, KubeError)
    assert config.status == 0
