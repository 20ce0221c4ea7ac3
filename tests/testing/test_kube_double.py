"""The Kubernetes API double, exercised through real HTTP with real clients.

The official ``kubernetes`` client covers the typical paths; ``urllib`` sends raw content types
(apply YAML, JSON patch) and reads raw watch streams; aiohttp (kopf's HTTP stack) covers dropped
watches, delays and the in-loop mode; a small kopf operator runs against the double at the end.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import kopf
import pytest
import yaml
from kopf.testing import KopfRunner
from kubernetes import client, config, watch
from kubernetes.client import ApiException
from kubernetes.dynamic import DynamicClient

from kura_testing.kube_double import APPLY, KubeDouble
from kura_testing.kube_store import json_patch, merge_patch

Obj = dict[str, Any]
GROUP, VERSION, GATEWAYS = "kura.tuist.dev", "v1alpha1", "kuragateways"
CM_PATH = "/api/v1/namespaces/ns/configmaps"
GW_PATH = f"/apis/{GROUP}/{VERSION}/namespaces/ns/{GATEWAYS}"


@pytest.fixture
def api(kube: KubeDouble) -> Iterator[client.ApiClient]:
    with client.ApiClient(client.Configuration(host=kube.url)) as api_client:
        yield api_client


@pytest.fixture
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture
def custom(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


def call(
    kube: KubeDouble,
    method: str,
    path: str,
    body: Any = None,
    *,
    content_type: str = "application/json",
    raw: bytes | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One raw request: (status, headers, decoded JSON body)."""
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": content_type} if data is not None else {}
    request = urllib.request.Request(kube.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), json.loads(error.read() or b"null")


def cm(name: str, labels: dict[str, str] | None = None, **data: str) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels), data=data)


def meta(obj: Any) -> client.V1ObjectMeta:
    """The metadata of a client model (Optional in its annotations, always set by the server)."""
    assert isinstance(obj.metadata, client.V1ObjectMeta)
    return obj.metadata


def rv(obj: Any) -> int:
    return int(meta(obj).resource_version or "0")


def reason(error: ApiException) -> str:
    return str(json.loads(error.body or "{}")["reason"])


def list_rv(listing: Any) -> str:
    assert isinstance(listing.metadata, client.V1ListMeta)
    return str(listing.metadata.resource_version)


def as_obj(returned: object) -> Obj:
    """CustomObjectsApi returns plain JSON objects, annotated as ``object``."""
    assert isinstance(returned, dict)
    return returned


def namespace(name: str) -> client.V1Namespace:
    return client.V1Namespace(metadata=client.V1ObjectMeta(name=name))


def stored(kube: KubeDouble, resource: str, namespace: str | None, name: str) -> Obj:
    obj = kube.get(resource, namespace, name)
    assert obj is not None, f"{resource} {namespace}/{name} is not stored"
    return obj


# kubernetes.watch, .config and .dynamic ship no annotations: use them as Any.
untyped_watch: Any = watch
untyped_config: Any = config
UntypedDynamicClient: Any = DynamicClient


def watch_stream(func: Any, *args: Any, **kwargs: Any) -> Generator[Obj, None, None]:
    stream: Generator[Obj, None, None] = untyped_watch.Watch().stream(func, *args, **kwargs)
    return stream


def configmap(name: str, labels: dict[str, str] | None = None, **data: str) -> Obj:
    """A ConfigMap as raw JSON (``cm`` builds the client model)."""
    return {"metadata": {"name": name, "labels": labels or {}}, "data": data}


def gateway(name: str, **spec: Any) -> Obj:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "KuraGateway",
        "metadata": {"name": name, "namespace": "ns"},
        "spec": spec or {"replicas": 1},
    }


def read_events(kube: KubeDouble, path: str, until: str | None = None) -> list[Obj]:
    """Read a raw watch stream until it ends or an event for object ``until`` arrives."""
    events = []
    with urllib.request.urlopen(kube.url + path, timeout=10) as response:
        for line in response:
            events.append(json.loads(line))
            if until is not None and events[-1]["object"]["metadata"].get("name") == until:
                break
    return events


def brief(events: list[Obj]) -> list[tuple[str, str]]:
    return [(e["type"], e["object"]["metadata"]["name"]) for e in events]


# ---------------------------------------------------------------------------------------------
# Discovery


def test_discovery_documents_have_the_shapes_clients_read(kube: KubeDouble) -> None:
    assert call(kube, "GET", "/version")[2]["major"] == "1"
    assert call(kube, "GET", "/api")[2]["versions"] == ["v1"]
    core = {r["name"]: r for r in call(kube, "GET", "/api/v1")[2]["resources"]}
    assert core["namespaces"]["namespaced"] is False
    assert core["configmaps"] | {"verbs": None} == {
        "name": "configmaps",
        "singularName": "configmap",
        "namespaced": True,
        "kind": "ConfigMap",
        "verbs": None,
        "shortNames": ["cm"],
    }
    assert {"watch", "patch", "create"} <= set(core["configmaps"]["verbs"])
    assert "configmaps/status" not in core
    assert core["services/status"]["verbs"] == ["get", "patch", "update"]
    groups = {g["name"]: g for g in call(kube, "GET", "/apis")[2]["groups"]}
    assert groups[GROUP]["preferredVersion"] == {
        "groupVersion": f"{GROUP}/{VERSION}",
        "version": VERSION,
    }
    assert {"apps", "kopf.dev", "apiextensions.k8s.io", "events.k8s.io"} <= set(groups)
    kura = call(kube, "GET", f"/apis/{GROUP}/{VERSION}")[2]
    assert kura["kind"] == "APIResourceList"
    names = {r["name"]: r for r in kura["resources"]}
    assert names["kuragateways"]["shortNames"] == ["kuragw"]
    assert {"kuragateways/status", "kurainstances/status"} <= set(names)
    assert call(kube, "GET", "/apis/nope.example.com/v1")[0] == 404
    assert call(kube, "GET", "/api/v1/namespaces/ns/widgets")[0] == 404


def test_dynamic_client_discovers_custom_resources_and_subresources(
    api: client.ApiClient,
) -> None:
    dyn = UntypedDynamicClient(api)
    gateways = dyn.resources.get(api_version=f"{GROUP}/{VERSION}", kind="KuraGateway")
    assert gateways.namespaced
    assert set(gateways.subresources) == {"status"}
    classes = dyn.resources.get(api_version="networking.k8s.io/v1", kind="IngressClass")
    assert not classes.namespaced


def test_added_resources_appear_in_discovery_and_serve(kube: KubeDouble) -> None:
    kube.add_resource("example.com", "v1", "widgets", "Widget", short_names=["wd"])
    entry = call(kube, "GET", "/apis/example.com/v1")[2]["resources"][0]
    assert (entry["name"], entry["shortNames"]) == ("widgets", ["wd"])
    body = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert call(kube, "POST", "/apis/example.com/v1/namespaces/ns/widgets", body)[0] == 201
    assert kube.get("widget", "ns", "w") is not None


# ---------------------------------------------------------------------------------------------
# Create, get, list


def test_create_fills_server_metadata(kube: KubeDouble, core: client.CoreV1Api) -> None:
    first = core.create_namespaced_config_map("ns", cm("a", k="v"))
    second = core.create_namespaced_config_map("other", cm("a"))
    assert [r.status for r in kube.requests_matching(verb="create")] == [201, 201]
    assert (meta(first).namespace, meta(first).generation) == ("ns", 1)
    assert meta(first).uid
    assert meta(first).creation_timestamp is not None
    assert rv(second) > rv(first)
    assert meta(second).uid != meta(first).uid
    assert call(kube, "GET", f"{CM_PATH}/a")[2] == kube.get("configmaps", "ns", "a")


def test_duplicate_create_is_409_already_exists(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("ns", cm("a"))
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map("ns", cm("a"))
    assert caught.value.status == 409
    assert reason(caught.value) == "AlreadyExists"


def test_generate_name_and_name_validation(kube: KubeDouble) -> None:
    status, _, created = call(kube, "POST", CM_PATH, {"metadata": {"generateName": "cfg-"}})
    assert status == 201
    assert created["metadata"]["name"].startswith("cfg-")
    assert len(created["metadata"]["name"]) == len("cfg-") + 5
    assert call(kube, "POST", CM_PATH, {"metadata": {}})[0] == 422
    assert call(kube, "POST", CM_PATH, {"metadata": {"name": "Upper_Case"}})[0] == 422
    mismatched = {"metadata": {"name": "x", "namespace": "elsewhere"}}
    assert call(kube, "POST", CM_PATH, mismatched)[0] == 400


def test_missing_object_is_404_with_a_status_body(kube: KubeDouble) -> None:
    status, _, body = call(kube, "GET", f"{CM_PATH}/nope")
    assert status == 404
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'configmaps "nope" not found',
        "reason": "NotFound",
        "details": {"name": "nope", "kind": "configmaps"},
        "code": 404,
    }
    assert call(kube, "GET", f"{GW_PATH}/nope")[2]["details"]["group"] == GROUP


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["a", "b"]),
        ("app==web,tier=front", ["a"]),
        ("app!=web", ["c", "d"]),
        ("tier in (front, back)", ["a", "b"]),
        ("tier notin (front)", ["b", "c", "d"]),
        ("tier", ["a", "b"]),
        ("!tier", ["c", "d"]),
        ("app=web,!tier", []),
    ],
)
def test_list_label_selectors(core: client.CoreV1Api, selector: str, expected: list[str]) -> None:
    core.create_namespaced_config_map("ns", cm("a", {"app": "web", "tier": "front"}))
    core.create_namespaced_config_map("ns", cm("b", {"app": "web", "tier": "back"}))
    core.create_namespaced_config_map("ns", cm("c", {"app": "db"}))
    core.create_namespaced_config_map("ns", cm("d"))
    listed = core.list_namespaced_config_map("ns", label_selector=selector)
    assert [meta(item).name for item in listed.items] == expected


def test_list_field_selectors_and_list_resource_version(
    kube: KubeDouble, core: client.CoreV1Api
) -> None:
    for namespace in ("ns", "other"):
        for name in ("a", "b"):
            core.create_namespaced_config_map(namespace, cm(name))
    everything = core.list_config_map_for_all_namespaces(field_selector="metadata.name=a")
    assert [(meta(i).namespace, meta(i).name) for i in everything.items] == [
        ("ns", "a"),
        ("other", "a"),
    ]
    assert list_rv(everything) == str(kube.resource_version)
    scoped = core.list_config_map_for_all_namespaces(
        field_selector="metadata.namespace=other,metadata.name!=a"
    )
    assert [(meta(i).namespace, meta(i).name) for i in scoped.items] == [("other", "b")]
    assert call(kube, "GET", f"{CM_PATH}?fieldSelector=data.k%3Dv")[0] == 400
    assert call(kube, "GET", f"{CM_PATH}?labelSelector=a%20in%20b")[0] == 400


def test_lists_come_in_pages_under_the_first_pages_resource_version(
    kube: KubeDouble, core: client.CoreV1Api
) -> None:
    for name in ("a", "b", "c", "d", "e"):
        core.create_namespaced_config_map("ns", cm(name))
    status, _, first = call(kube, "GET", f"{CM_PATH}?limit=2")
    assert status == 200
    assert [i["metadata"]["name"] for i in first["items"]] == ["a", "b"]
    assert first["metadata"]["remainingItemCount"] == 3
    version = first["metadata"]["resourceVersion"]
    # A change between pages: the next page has what exists now, after the last one sent.
    core.delete_namespaced_config_map("c", "ns")
    token = first["metadata"]["continue"]
    _, _, second = call(kube, "GET", f"{CM_PATH}?limit=2&continue={token}")
    assert [i["metadata"]["name"] for i in second["items"]] == ["d", "e"]
    assert second["metadata"]["resourceVersion"] == version
    assert "continue" not in second["metadata"]
    # Without a limit, or a limit it does not reach, the whole list in one answer.
    _, _, whole = call(kube, "GET", f"{CM_PATH}?limit=10")
    assert len(whole["items"]) == 4
    assert "continue" not in whole["metadata"]
    assert call(kube, "GET", f"{CM_PATH}?limit=2&continue=bogus")[0] == 400
    assert call(kube, "GET", f"{CM_PATH}?limit=x")[0] == 400


# ---------------------------------------------------------------------------------------------
# Updates and patches


def test_put_replaces_with_a_resource_version_precondition(core: client.CoreV1Api) -> None:
    created = core.create_namespaced_config_map("ns", cm("a", k="1"))
    created.data = {"k": "2"}
    updated = core.replace_namespaced_config_map("a", "ns", created)
    assert updated.data == {"k": "2"}
    assert rv(updated) > rv(created)
    created.data = {"k": "3"}  # still carries the old resourceVersion
    with pytest.raises(ApiException) as caught:
        core.replace_namespaced_config_map("a", "ns", created)
    assert caught.value.status == 409
    assert reason(caught.value) == "Conflict"
    with pytest.raises(ApiException) as missing:
        core.replace_namespaced_config_map("zz", "ns", cm("zz"))
    assert missing.value.status == 404


def test_merge_patch_follows_rfc_7386(kube: KubeDouble) -> None:
    call(kube, "POST", CM_PATH, configmap("a", {"keep": "1", "drop": "2"}, x="1", y="2"))
    patch = {"metadata": {"labels": {"drop": None, "new": "3"}}, "data": {"y": None, "z": "3"}}
    status, _, patched = call(
        kube, "PATCH", f"{CM_PATH}/a", patch, content_type="application/merge-patch+json"
    )
    assert status == 200
    assert patched["metadata"]["labels"] == {"keep": "1", "new": "3"}
    assert patched["data"] == {"x": "1", "z": "3"}
    stale = {"metadata": {"resourceVersion": "1"}, "data": {"x": "9"}}
    merge = "application/merge-patch+json"
    assert call(kube, "PATCH", f"{CM_PATH}/a", stale, content_type=merge)[0] == 409
    assert merge_patch({"a": [1, 2], "b": {"c": 1}}, {"a": [3], "b": {"d": 2}}) == {
        "a": [3],
        "b": {"c": 1, "d": 2},
    }


def test_json_patch_follows_rfc_6902_and_a_failed_test_is_422(kube: KubeDouble) -> None:
    created = call(kube, "POST", CM_PATH, configmap("a", x="1"))[2]
    rv = created["metadata"]["resourceVersion"]
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "add", "path": "/metadata/finalizers", "value": ["a/b"]},
        {"op": "add", "path": "/metadata/finalizers/-", "value": "c/d"},
        {"op": "copy", "from": "/data/x", "path": "/data/y"},
        {"op": "move", "from": "/data/x", "path": "/data/z"},
        {"op": "replace", "path": "/data/y", "value": "2"},
    ]
    jp = "application/json-patch+json"
    status, _, patched = call(kube, "PATCH", f"{CM_PATH}/a", ops, content_type=jp)
    assert status == 200
    assert patched["metadata"]["finalizers"] == ["a/b", "c/d"]
    assert patched["data"] == {"y": "2", "z": "1"}
    status, _, body = call(kube, "PATCH", f"{CM_PATH}/a", ops[:1], content_type=jp)  # rv moved
    assert (status, body["reason"]) == (422, "Invalid")
    remove_missing = [{"op": "remove", "path": "/data/nope"}]
    assert call(kube, "PATCH", f"{CM_PATH}/a", remove_missing, content_type=jp)[0] == 422
    assert call(kube, "PATCH", f"{CM_PATH}/a", {"op": "add"}, content_type=jp)[0] == 400
    assert kube.get("cm", "ns", "a") == patched
    # JSON equality: true is not 1.
    with pytest.raises(Exception, match="testing value"):
        json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": True}])


def test_strategic_merge_is_a_merge_for_builtins_and_415_for_custom_resources(
    kube: KubeDouble, core: client.CoreV1Api, custom: client.CustomObjectsApi
) -> None:
    ports = [client.V1ServicePort(port=80), client.V1ServicePort(port=443)]
    service = client.V1Service(
        metadata=client.V1ObjectMeta(name="s"), spec=client.V1ServiceSpec(ports=ports)
    )
    core.create_namespaced_service("ns", service)
    core.patch_namespaced_service("s", "ns", {"spec": {"ports": [{"port": 8080}]}})
    assert kube.requests[-1].content_type == "application/strategic-merge-patch+json"
    patched = stored(kube, "services", "ns", "s")
    assert patched["spec"]["ports"] == [{"port": 8080}]  # lists replace, no merge keys
    custom.create_namespaced_custom_object(GROUP, VERSION, "ns", GATEWAYS, gateway("g"))
    with pytest.raises(ApiException) as caught:
        custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            "ns",
            GATEWAYS,
            "g",
            {"spec": {"replicas": 2}},
            _content_type="application/strategic-merge-patch+json",
        )
    assert caught.value.status == 415
    merged = custom.patch_namespaced_custom_object(
        GROUP, VERSION, "ns", GATEWAYS, "g", {"spec": {"replicas": 2}}
    )
    assert kube.requests[-1].content_type == "application/merge-patch+json"
    assert as_obj(merged)["spec"] == {"replicas": 2}
    plain = call(kube, "PATCH", f"{CM_PATH}/x", {}, content_type="application/json")
    assert plain[0] == 415


def test_server_side_apply_is_an_upsert_that_replaces_applied_keys(kube: KubeDouble) -> None:
    doc = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "KuraGateway",
        "metadata": {"name": "g", "labels": {"a": "1"}},
        "spec": {"replicas": 2, "ingressClassName": "kura"},
        "status": {"phase": "ignored"},
    }
    path = f"{GW_PATH}/g"
    raw = yaml.safe_dump(doc).encode()
    status, _, body = call(kube, "PATCH", path, raw=raw, content_type=APPLY)
    assert (status, body["reason"]) == (422, "Invalid")  # no fieldManager
    status, _, created = call(
        kube, "PATCH", f"{path}?fieldManager=kura", raw=raw, content_type=APPLY
    )
    assert status == 201
    assert "status" not in created
    assert created["metadata"]["managedFields"] == [
        {
            "manager": "kura",
            "operation": "Apply",
            "apiVersion": f"{GROUP}/{VERSION}",
            "fieldsType": "FieldsV1",
        }
    ]
    doc2 = doc | {
        "metadata": {"name": "g", "labels": {"b": "2"}, "annotations": {"x": "y"}},
        "spec": {"replicas": 3},
    }
    query = "?fieldManager=kura&force=true"
    status, _, applied = call(kube, "PATCH", path + query, doc2, content_type=APPLY)  # JSON body
    assert status == 200
    assert applied["spec"] == {"replicas": 3}  # replaced, not merged
    assert applied["metadata"]["labels"] == {"a": "1", "b": "2"}
    assert applied["metadata"]["annotations"] == {"x": "y"}
    assert applied["metadata"]["generation"] == 2
    status, _, again = call(kube, "PATCH", path + query, doc2, content_type=APPLY)
    assert (status, again) == (200, applied)  # a no-op apply keeps the resourceVersion
    status_doc = {
        "apiVersion": doc["apiVersion"],
        "kind": "KuraGateway",
        "status": {"phase": "Ready"},
    }
    status, _, with_status = call(
        kube, "PATCH", f"{path}/status?fieldManager=ctl", status_doc, content_type=APPLY
    )
    assert (status, with_status["status"], with_status["spec"]) == (
        200,
        {"phase": "Ready"},
        {"replicas": 3},
    )
    assert [e["manager"] for e in with_status["metadata"]["managedFields"]] == ["kura", "ctl"]
    status, _, still = call(kube, "PATCH", path + query, doc2, content_type=APPLY)
    assert (status, still) == (200, with_status)  # no-op with two managers too
    merge = "application/merge-patch+json"
    assert call(kube, "PATCH", f"{path}?force=true", {}, content_type=merge)[0] == 422


def test_generation_moves_only_with_spec_and_no_op_writes_change_nothing(
    kube: KubeDouble, core: client.CoreV1Api, custom: client.CustomObjectsApi
) -> None:
    merge = "application/merge-patch+json"
    gw = custom.create_namespaced_custom_object(GROUP, VERSION, "ns", GATEWAYS, gateway("g"))
    label = {"metadata": {"labels": {"x": "y"}}}
    labelled = call(kube, "PATCH", f"{GW_PATH}/g", label, content_type=merge)[2]
    assert labelled["metadata"]["generation"] == 1
    assert labelled["metadata"]["resourceVersion"] != as_obj(gw)["metadata"]["resourceVersion"]
    respec = call(kube, "PATCH", f"{GW_PATH}/g", {"spec": {"replicas": 5}}, content_type=merge)[2]
    assert respec["metadata"]["generation"] == 2
    # Objects without spec: any content change moves generation, metadata changes do not.
    core.create_namespaced_config_map("ns", cm("a", k="1"))
    assert meta(core.patch_namespaced_config_map("a", "ns", label)).generation == 1
    assert meta(core.patch_namespaced_config_map("a", "ns", {"data": {"k": "2"}})).generation == 2
    kube.clear_requests()
    before = kube.resource_version
    events_before = read_events(
        kube, f"{CM_PATH}?watch=1&resourceVersion={before}&timeoutSeconds=1"
    )
    same = core.patch_namespaced_config_map("a", "ns", {"data": {"k": "2"}})
    replaced = core.replace_namespaced_config_map("a", "ns", same)
    assert meta(same).resource_version == meta(replaced).resource_version
    assert kube.resource_version == before
    assert [r.verb for r in kube.writes()] == ["patch", "update"]  # logged all the same
    assert events_before == []


def test_status_subresource_is_isolated(kube: KubeDouble, custom: client.CustomObjectsApi) -> None:
    merge = "application/merge-patch+json"
    body = gateway("g") | {"status": {"phase": "Set-on-create"}}
    created = custom.create_namespaced_custom_object(GROUP, VERSION, "ns", GATEWAYS, body)
    assert "status" not in as_obj(created)
    mixed = {"spec": {"replicas": 2}, "status": {"phase": "Main"}}
    via_main = call(kube, "PATCH", f"{GW_PATH}/g", mixed, content_type=merge)[2]
    assert (via_main["spec"]["replicas"], via_main.get("status")) == (2, None)
    mixed = {"spec": {"replicas": 9}, "status": {"phase": "Ready"}}
    via_status = call(kube, "PATCH", f"{GW_PATH}/g/status", mixed, content_type=merge)[2]
    assert (via_status["spec"]["replicas"], via_status["status"]) == (2, {"phase": "Ready"})
    assert via_status["metadata"]["generation"] == 2
    put = via_status | {"spec": {"replicas": 7}, "status": {"phase": "PutMain"}}
    after_put = call(kube, "PUT", f"{GW_PATH}/g", put)[2]
    assert (after_put["spec"]["replicas"], after_put["status"]) == (7, {"phase": "Ready"})
    put = after_put | {"spec": {"replicas": 1}, "status": {"phase": "PutStatus"}}
    after_status_put = call(kube, "PUT", f"{GW_PATH}/g/status", put)[2]
    assert (after_status_put["spec"]["replicas"], after_status_put["status"]["phase"]) == (
        7,
        "PutStatus",
    )
    ops = [{"op": "replace", "path": "/status/phase", "value": "Json"}]
    jp = "application/json-patch+json"
    assert call(kube, "PATCH", f"{GW_PATH}/g/status", ops, content_type=jp)[2]["status"] == {
        "phase": "Json"
    }
    call(kube, "POST", CM_PATH, configmap("a"))
    assert call(kube, "GET", f"{CM_PATH}/a/status")[0] == 404  # configmaps have no status


# ---------------------------------------------------------------------------------------------
# Delete, finalizers, garbage collection


def test_delete_with_finalizers_marks_then_removes_when_emptied(
    kube: KubeDouble, core: client.CoreV1Api
) -> None:
    merge = "application/merge-patch+json"
    held = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="a", finalizers=["x/y"]))
    core.create_namespaced_config_map("ns", held)
    status, _, marked = call(kube, "DELETE", f"{CM_PATH}/a")
    assert status == 200
    assert marked["metadata"]["deletionTimestamp"]
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 0
    assert call(kube, "DELETE", f"{CM_PATH}/a")[2] == marked  # idempotent while deleting
    more = {"metadata": {"finalizers": ["x/y", "new/one"]}}
    status, _, body = call(kube, "PATCH", f"{CM_PATH}/a", more, content_type=merge)
    assert (status, body["reason"]) == (422, "Invalid")
    status, _, last = call(
        kube, "PATCH", f"{CM_PATH}/a", {"metadata": {"finalizers": None}}, content_type=merge
    )
    assert status == 200
    assert kube.get("configmaps", "ns", "a") is None
    assert int(last["metadata"]["resourceVersion"]) == kube.resource_version
    core.create_namespaced_config_map("ns", cm("b"))
    status, _, gone = call(kube, "DELETE", f"{CM_PATH}/b")
    assert (status, gone["kind"], gone["status"]) == (200, "Status", "Success")
    assert call(kube, "DELETE", f"{CM_PATH}/b")[0] == 404
    core.create_namespaced_config_map("ns", cm("c"))
    wrong_uid = {"preconditions": {"uid": "not-it"}}
    assert call(kube, "DELETE", f"{CM_PATH}/c", wrong_uid)[0] == 409


def owned(kind: str, name: str, owner: Obj, *, namespace: str | None = "ns") -> Obj:
    api_version = {
        "ConfigMap": "v1",
        "Deployment": "apps/v1",
        "IngressClass": "networking.k8s.io/v1",
    }[kind]
    ref = {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    metadata: Obj = {"name": name, "ownerReferences": [ref]}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}


def test_garbage_collection_follows_owner_references(kube: KubeDouble) -> None:
    gw = kube.put_object(gateway("g"))
    deploy = kube.put_object(owned("Deployment", "web", gw))
    kube.put_object(owned("ConfigMap", "config", gw))
    kube.put_object(owned("ConfigMap", "grandchild", deploy))
    held = owned("ConfigMap", "held", gw)
    held["metadata"]["finalizers"] = ["hold/on"]
    kube.put_object(held)
    other_owner = kube.put_object(gateway("other"))
    shared = owned("ConfigMap", "shared", gw)
    shared["metadata"]["ownerReferences"].append(
        owned("ConfigMap", "x", other_owner)["metadata"]["ownerReferences"][0]
    )
    kube.put_object(shared)
    kube.put_object(owned("ConfigMap", "elsewhere", gw, namespace="other-ns"))
    kube.put_object(owned("IngressClass", "kura", gw, namespace=None))

    assert call(kube, "DELETE", f"{GW_PATH}/g")[0] == 200
    assert kube.get("deployments", "ns", "web") is None
    assert kube.get("configmaps", "ns", "config") is None
    assert kube.get("configmaps", "ns", "grandchild") is None  # recursive
    assert stored(kube, "configmaps", "ns", "held")["metadata"]["deletionTimestamp"]
    assert kube.get("configmaps", "ns", "shared") is not None  # another owner is alive
    assert kube.get("configmaps", "other-ns", "elsewhere") is not None  # other namespace
    assert kube.get("ingressclasses", None, "kura") is not None  # cluster-scoped dependent

    kube.put_object(owned("ConfigMap", "orphan", other_owner))
    orphan = {"propagationPolicy": "Orphan"}
    assert call(kube, "DELETE", f"{GW_PATH}/other", orphan)[0] == 200
    assert stored(kube, "configmaps", "ns", "orphan")["metadata"]["ownerReferences"] == []
    assert kube.get("configmaps", "ns", "shared") is not None  # orphaned too


def test_cluster_scoped_owner_collects_namespaced_dependents(kube: KubeDouble) -> None:
    cls = kube.put_object(
        {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "k"}}
    )
    kube.put_object(owned("ConfigMap", "a", cls, namespace="one"))
    kube.delete("ingressclasses", None, "k")
    assert kube.objects("configmaps") == []


# ---------------------------------------------------------------------------------------------
# Watch


def test_watch_streams_added_modified_deleted(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("ns", cm("a"))
    stream = watch_stream(core.list_namespaced_config_map, "ns", _request_timeout=10)
    first = next(stream)
    assert (first["type"], meta(first["object"]).name) == ("ADDED", "a")
    core.patch_namespaced_config_map("a", "ns", {"data": {"k": "v"}})
    modified = next(stream)
    assert (modified["type"], modified["object"].data) == ("MODIFIED", {"k": "v"})
    core.delete_namespaced_config_map("a", "ns")
    deleted = next(stream)
    assert deleted["type"] == "DELETED"
    assert rv(deleted["object"]) > rv(modified["object"])
    stream.close()


def test_watch_from_a_resource_version_replays_only_later_changes(
    kube: KubeDouble, core: client.CoreV1Api
) -> None:
    core.create_namespaced_config_map("ns", cm("before"))
    since = list_rv(core.list_namespaced_config_map("ns"))
    core.create_namespaced_config_map("ns", cm("after"))
    core.patch_namespaced_config_map("before", "ns", {"data": {"k": "v"}})
    core.create_namespaced_config_map("other", cm("elsewhere"))
    core.create_namespaced_config_map("ns", cm("end"))
    events = read_events(kube, f"{CM_PATH}?watch=true&resourceVersion={since}", until="end")
    assert brief(events) == [("ADDED", "after"), ("MODIFIED", "before"), ("ADDED", "end")]
    everything = read_events(kube, f"{CM_PATH}?watch=true", until="end")
    assert brief(everything) == [("ADDED", n) for n in ("after", "before", "end")]


def test_watch_from_a_compacted_resource_version_gets_410(
    kube: KubeDouble, core: client.CoreV1Api
) -> None:
    core.create_namespaced_config_map("ns", cm("a"))
    core.create_namespaced_config_map("ns", cm("b"))
    kube.compact()
    (error,) = read_events(kube, f"{CM_PATH}?watch=true&resourceVersion=1")
    assert error["type"] == "ERROR"
    assert (error["object"]["code"], error["object"]["reason"]) == (410, "Expired")
    with pytest.raises(ApiException) as caught:
        for _ in watch_stream(
            core.list_namespaced_config_map, "ns", resource_version="1", timeout_seconds=5
        ):
            pass
    assert caught.value.status == 410
    current = str(kube.resource_version)
    core.create_namespaced_config_map("ns", cm("end"))
    fine = read_events(kube, f"{CM_PATH}?watch=true&resourceVersion={current}", until="end")
    assert brief(fine) == [("ADDED", "end")]


def test_a_short_history_expires_old_resource_versions() -> None:
    with KubeDouble.in_thread(history_limit=2) as kube:
        for name in "abcd":  # resourceVersions 1-4; only the changes 3 and 4 are kept
            call(kube, "POST", CM_PATH, configmap(name))
        assert brief(read_events(kube, f"{CM_PATH}?watch=1&resourceVersion=2", until="d")) == [
            ("ADDED", "c"),
            ("ADDED", "d"),
        ]
        (error,) = read_events(kube, f"{CM_PATH}?watch=1&resourceVersion=1")
        assert (error["type"], error["object"]["code"]) == ("ERROR", 410)


def test_watch_selectors_filter_and_report_objects_leaving_them(
    kube: KubeDouble, core: client.CoreV1Api
) -> None:
    core.create_namespace(namespace("ns"))  # so that the watch starts after rv 0
    since = str(kube.resource_version)
    core.create_namespaced_config_map("ns", cm("a", {"app": "web"}))
    core.create_namespaced_config_map("ns", cm("b", {"app": "db"}))
    core.patch_namespaced_config_map("b", "ns", {"metadata": {"labels": {"app": "web"}}})
    core.patch_namespaced_config_map("a", "ns", {"metadata": {"labels": {"app": "db"}}})
    core.create_namespaced_config_map("ns", cm("end", {"app": "web"}))
    path = f"{CM_PATH}?watch=true&resourceVersion={since}&labelSelector=app%3Dweb"
    events = read_events(kube, path, until="end")
    assert brief(events) == [("ADDED", "a"), ("ADDED", "b"), ("DELETED", "a"), ("ADDED", "end")]
    assert events[2]["object"]["metadata"]["labels"] == {"app": "web"}  # its last matching state
    by_name = f"{CM_PATH}?watch=true&resourceVersion={since}&fieldSelector=metadata.name%3Dend"
    assert brief(read_events(kube, by_name, until="end")) == [("ADDED", "end")]
    one = read_events(kube, f"{CM_PATH}/end?watch=true", until="end")
    assert brief(one) == [("ADDED", "end")]


def test_cluster_wide_watches_span_namespaces_and_cluster_scoped_resources(
    kube: KubeDouble, core: client.CoreV1Api
) -> None:
    core.create_namespaced_config_map("one", cm("before"))
    since = str(kube.resource_version)
    core.create_namespaced_config_map("one", cm("a"))
    core.create_namespaced_config_map("two", cm("end"))
    everywhere = read_events(kube, f"/api/v1/configmaps?watch=1&resourceVersion={since}", "end")
    assert [(e["object"]["metadata"]["namespace"]) for e in everywhere] == ["one", "two"]
    core.create_namespace(namespace("kura"))
    namespaces = read_events(kube, f"/api/v1/namespaces?watch=1&resourceVersion={since}", "kura")
    assert brief(namespaces) == [("ADDED", "kura")]
    assert "namespace" not in namespaces[0]["object"]["metadata"]


def test_watch_timeout_seconds_ends_the_stream(kube: KubeDouble, core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("ns", cm("a"))
    events = list(watch_stream(core.list_namespaced_config_map, "ns", timeout_seconds=1))
    assert [e["type"] for e in events] == ["ADDED"]
    assert kube.open_watches == 0


def test_send_initial_events_ends_with_a_bookmark(kube: KubeDouble) -> None:
    call(kube, "POST", CM_PATH, configmap("a"))
    path = f"{CM_PATH}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
    with urllib.request.urlopen(kube.url + path, timeout=10) as response:
        added, bookmark = json.loads(response.readline()), json.loads(response.readline())
    assert added["type"] == "ADDED"
    assert bookmark["type"] == "BOOKMARK"
    assert bookmark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


# ---------------------------------------------------------------------------------------------
# Events, test hooks, request log


def test_events_of_both_apis_are_stored(kube: KubeDouble, api: client.ApiClient) -> None:
    involved = client.V1ObjectReference(kind="KuraGateway", namespace="ns", name="g")
    client.CoreV1Api(api).create_namespaced_event(
        "ns",
        client.CoreV1Event(
            metadata=client.V1ObjectMeta(generate_name="g."),
            involved_object=involved,
            reason="Created",
        ),
    )
    client.EventsV1Api(api).create_namespaced_event(
        "ns",
        client.EventsV1Event(
            metadata=client.V1ObjectMeta(name="g.1"),
            event_time=datetime(2026, 1, 1, tzinfo=UTC),
            regarding=involved,
            reason="Reconciled",
            action="Reconcile",
            reporting_controller="kura",
            reporting_instance="kura-1",
            type="Normal",
        ),
    )
    (core_event,) = kube.objects("events", "ns")
    assert core_event["reason"] == "Created"
    (new_event,) = kube.objects("events.events.k8s.io", "ns")
    assert new_event["reason"] == "Reconciled"
    found = client.CoreV1Api(api).list_namespaced_event(
        "ns", field_selector="involvedObject.name=g,reason=Created"
    )
    assert [e.reason for e in found.items] == ["Created"]


def test_hooks_seed_read_and_simulate_controllers(kube: KubeDouble, api: client.ApiClient) -> None:
    apps = client.AppsV1Api(api)
    seeded = kube.put_object(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns", "uid": "fixed-uid"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}},
            },
            "status": {"replicas": 2},
        }
    )
    assert seeded["metadata"]["uid"] == "fixed-uid"
    assert seeded["status"] == {"replicas": 2}  # seeds keep status
    copy = kube.get("deploy", "ns", "web")
    assert copy is not None
    copy["spec"]["replicas"] = 99  # a deep copy: the store does not change
    assert apps.read_namespaced_deployment("web", "ns").spec.replicas == 2
    stream = watch_stream(apps.list_namespaced_deployment, "ns", _request_timeout=10)
    assert next(stream)["type"] == "ADDED"
    kube.patch_status("deployments", "ns", "web", {"readyReplicas": 2})
    event = next(stream)
    assert (event["type"], event["object"].status.ready_replicas) == ("MODIFIED", 2)
    stream.close()
    assert kube.objects("Deployment", "ns")[0]["status"] == {"replicas": 2, "readyReplicas": 2}
    assert kube.objects("deployments", "elsewhere") == []


def test_wait_until_wakes_on_writes_from_another_client(kube: KubeDouble) -> None:
    script = (
        "import json, sys, urllib.request\n"
        "body = json.dumps({'metadata': {'name': 'from-child'}}).encode()\n"
        "req = urllib.request.Request(sys.argv[1] + '/api/v1/namespaces/ns/configmaps', "
        "data=body, method='POST', headers={'Content-Type': 'application/json'})\n"
        "urllib.request.urlopen(req).close()\n"
    )
    with subprocess.Popen([sys.executable, "-c", script, kube.url]) as child:
        assert kube.wait_until(lambda: kube.get("cm", "ns", "from-child") is not None)
    assert child.returncode == 0


def test_kubeconfig_serves_the_official_loader_and_subprocesses(
    kube: KubeDouble, tmp_path: Path
) -> None:
    path = kube.write_kubeconfig(tmp_path / "kubeconfig", namespace="kura")
    kube.put_object({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a",
                     "namespace": "kura"}, "data": {"k": "v"}})  # fmt: skip
    configuration = client.Configuration()
    untyped_config.load_kube_config(config_file=str(path), client_configuration=configuration)
    with client.ApiClient(configuration) as api_client:
        assert client.CoreV1Api(api_client).read_namespaced_config_map("a", "kura").data == {
            "k": "v"
        }
    script = (
        "from kubernetes import client, config\n"
        "config.load_kube_config()\n"
        "print(client.CoreV1Api().read_namespaced_config_map('a', 'kura').data['k'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={"KUBECONFIG": str(path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "v"
    reads = kube.requests_matching(verb="get", resource="configmaps")
    assert len(reads) == 2


def test_request_log_records_rbac_verbs(kube: KubeDouble, core: client.CoreV1Api) -> None:
    call(kube, "GET", "/api/v1")
    core.create_namespaced_config_map("ns", cm("a"))
    core.read_namespaced_config_map("a", "ns")
    core.list_config_map_for_all_namespaces()
    read_events(kube, f"{CM_PATH}?watch=true", until="a")
    core.replace_namespaced_config_map("a", "ns", cm("a", k="v"))
    core.patch_namespaced_config_map("a", "ns", {"data": {"k": "w"}})
    call(kube, "PATCH", f"{GW_PATH}/g/status", {}, content_type="application/merge-patch+json")
    core.delete_namespaced_config_map("a", "ns")
    rows = [
        (r.method, r.verb, r.group, r.resource, r.subresource, r.namespace, r.name, r.status)
        for r in kube.requests
    ]
    assert rows == [
        ("GET", "get", None, None, None, None, None, 200),
        ("POST", "create", "", "configmaps", None, "ns", None, 201),
        ("GET", "get", "", "configmaps", None, "ns", "a", 200),
        ("GET", "list", "", "configmaps", None, None, None, 200),
        ("GET", "watch", "", "configmaps", None, "ns", None, 200),
        ("PUT", "update", "", "configmaps", None, "ns", "a", 200),
        ("PATCH", "patch", "", "configmaps", None, "ns", "a", 200),
        ("PATCH", "patch", GROUP, "kuragateways", "status", "ns", "g", 404),
        ("DELETE", "delete", "", "configmaps", None, "ns", "a", 200),
    ]
    assert [r.verb for r in kube.writes()] == ["create", "update", "patch", "patch", "delete"]
    assert kube.requests[-2].content_type == "application/merge-patch+json"
    assert kube.requests_matching(resource="kuragateways/status")[0].body == {}
    kube.clear_requests()
    assert kube.requests == []


# ---------------------------------------------------------------------------------------------
# Faults, delays, dropped watches


def test_injected_faults_hit_the_next_matching_requests(
    kube: KubeDouble, core: client.CoreV1Api
) -> None:
    conflict = kube.inject(status=409, method="POST", resource="configmaps", times=2)
    for _ in range(2):
        with pytest.raises(ApiException) as caught:
            core.create_namespaced_config_map("ns", cm("a"))
        assert (caught.value.status, reason(caught.value)) == (409, "Conflict")
    core.create_namespaced_config_map("ns", cm("a"))
    assert conflict.hits == 2
    kube.inject(status=429, verb="get", name="a", retry_after=3)
    status, headers, body = call(kube, "GET", f"{CM_PATH}/a")
    assert (status, headers["Retry-After"], body["reason"]) == (429, "3", "TooManyRequests")
    kube.inject(status=500, resource="kuragateways/status")
    merge = "application/merge-patch+json"
    assert call(kube, "PATCH", f"{GW_PATH}/g", {}, content_type=merge)[0] == 404  # main: no fault
    assert call(kube, "PATCH", f"{GW_PATH}/g/status", {}, content_type=merge)[0] == 500
    assert [r.status for r in kube.requests_matching(verb="create")] == [409, 409, 201]


def test_injected_fault_with_a_custom_body(kube: KubeDouble) -> None:
    kube.inject(status=503, resource="configmaps", body={"custom": True})
    assert call(kube, "GET", CM_PATH)[::2] == (503, {"custom": True})
    assert call(kube, "GET", CM_PATH)[0] == 200


def test_hang_delays_matching_requests(kube: KubeDouble) -> None:
    delay = kube.hang(30, verb="list", resource="configmaps")

    async def scenario() -> int:
        async with aiohttp.ClientSession(kube.url) as session:
            with pytest.raises(TimeoutError):
                async with session.get(CM_PATH, timeout=aiohttp.ClientTimeout(total=0.2)):
                    pass
            async with session.get(CM_PATH) as response:
                return response.status

    assert asyncio.run(scenario()) == 200
    assert delay.hits == 1


def test_dropped_watches_break_the_stream_and_clients_can_resume(
    kube: KubeDouble, core: client.CoreV1Api
) -> None:
    core.create_namespaced_config_map("ns", cm("a"))

    async def scenario() -> tuple[list[str], list[str]]:
        seen: list[str] = []
        async with aiohttp.ClientSession(kube.url) as session:
            async with session.get(CM_PATH, params={"watch": "true"}) as response:
                seen.append(json.loads(await response.content.readline())["type"])
                assert kube.drop_watches() == 1
                with pytest.raises(aiohttp.ClientPayloadError):
                    await response.content.read()
            since = str(kube.resource_version)
            await asyncio.to_thread(core.create_namespaced_config_map, "ns", cm("b"))
            params = {"watch": "true", "resourceVersion": since}
            async with session.get(CM_PATH, params=params) as response:
                first = json.loads(await response.content.readline())
                assert kube.drop_watches(graceful=True) == 1
                rest = await response.content.read()  # ends cleanly
        return seen, [first["type"], first["object"]["metadata"]["name"], rest.decode()]

    seen, resumed = asyncio.run(scenario())
    assert seen == ["ADDED"]
    assert resumed == ["ADDED", "b", ""]


# ---------------------------------------------------------------------------------------------
# Running inside an event loop; a kopf operator


def test_runs_inside_a_running_event_loop() -> None:
    async def scenario() -> tuple[int, int, list[str]]:
        async with KubeDouble() as kube, aiohttp.ClientSession(kube.url) as session:
            async with session.post(CM_PATH, json=configmap("a")) as response:
                created = response.status
            async with session.get(f"{CM_PATH}/a") as response:
                read = response.status
            async with session.get(CM_PATH, params={"watch": "1", "timeoutSeconds": "1"}) as rsp:
                types = [json.loads(line)["type"] async for line in rsp.content]
        return created, read, types

    assert asyncio.run(scenario()) == (201, 200, ["ADDED"])


def test_a_kopf_operator_runs_against_the_double(kube: KubeDouble, api: client.ApiClient) -> None:
    registry = kopf.OperatorRegistry()
    settings = kopf.OperatorSettings()
    settings.posting.level = 20  # post INFO events, so they can be asserted on

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=kube.url, insecure=True, token="x")

    @kopf.on.create(GROUP, VERSION, GATEWAYS, registry=registry)
    def create(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        child = configmap(f"{body.metadata.name}-config", k="v")
        kopf.adopt(child, owner=body)  # namespace, ownerReferences, labels
        model = client.V1ConfigMap.from_dict(child)
        assert model is not None
        with client.ApiClient(client.Configuration(host=kube.url)) as child_api:
            client.CoreV1Api(child_api).create_namespaced_config_map(
                str(body.metadata.namespace), model
            )
        patch.status["phase"] = "Ready"

    @kopf.on.delete(GROUP, VERSION, GATEWAYS, registry=registry)
    def delete(body: kopf.Body, **_: Any) -> None:
        kopf.info(body, reason="Deleting", message="gateway deleted")

    # kopf -n matches namespace patterns against existing Namespace objects.
    kube.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kura"}})
    custom = client.CustomObjectsApi(api)
    gw = gateway("g") | {"metadata": {"name": "g", "namespace": "kura"}}
    args = ["run", "--standalone", "-n", "kura"]
    with KopfRunner(args, registry=registry, settings=settings, timeout=30) as runner:
        custom.create_namespaced_custom_object(GROUP, VERSION, "kura", GATEWAYS, gw)

        def ready() -> bool:
            obj = kube.get(GATEWAYS, "kura", "g") or {}
            return (
                kube.get("configmaps", "kura", "g-config") is not None
                and bool(obj["metadata"].get("finalizers"))
                and obj.get("status", {}).get("phase") == "Ready"
            )

        assert kube.wait_until(ready, timeout=20)
        child = kube.get("configmaps", "kura", "g-config")
        assert child is not None
        assert child["metadata"]["ownerReferences"][0]["kind"] == "KuraGateway"
        custom.delete_namespaced_custom_object(GROUP, VERSION, "kura", GATEWAYS, "g")
        assert kube.wait_until(
            lambda: (
                kube.get(GATEWAYS, "kura", "g") is None
                and kube.get("configmaps", "kura", "g-config") is None
            ),
            timeout=20,
        )
        assert kube.wait_until(
            lambda: any(e.get("reason") == "Deleting" for e in kube.objects("events", "kura"))
        )
    assert runner.exception is None
    assert runner.exit_code == 0
    json_patches = kube.requests_matching(method="PATCH", resource=GATEWAYS)
    assert any(r.content_type == "application/json-patch+json" for r in json_patches)
    assert any(r.subresource == "status" for r in json_patches)
