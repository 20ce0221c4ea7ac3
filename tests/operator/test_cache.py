"""The operator's watch-fed cache: one list per kind, then watches, and correct after a relist.

The store's rules are pure; the informers run against the Kubernetes double, which can drop a
watch and forget its history (a resume then gets 410 Gone) on demand. Requests are counted in
the double's request log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from kura_core import CONFIG_MAP, INGRESS_CLASS, Kind
from kura_kube.aio import connect
from kura_operator.cache import (
    ADDED,
    DELETED,
    MODIFIED,
    Cache,
    Informer,
    Store,
    Watched,
    compact,
    newer,
)
from kura_operator.kube import KubeApi
from kura_operator.metrics import OperatorMetrics
from kura_operator.selectors import implies, parse_selector, selected
from kura_testing.kube_double import KubeDouble

Change = tuple[str, str, str]


def config_map(name: str, version: int, namespace: str = "kura", **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "resourceVersion": str(version),
            "labels": labels,
        },
        "data": {"v": str(version)},
    }


# --- the store ---------------------------------------------------------------------------------


def test_a_version_is_newer_by_its_integer_else_by_arrival() -> None:
    assert newer("10", "9")
    assert not newer("9", "10")
    assert not newer("7", "7")
    # Not integers: the one that arrives wins.
    assert newer("b", "a")
    assert newer("a", "b")


def test_the_store_keeps_the_newest_version_and_forgets_only_older_ones() -> None:
    store = Store()
    assert store.put(config_map("a", 5))
    assert not store.put(config_map("a", 5))  # the echo of a write already held
    assert not store.put(config_map("a", 4))  # an event older than what is held
    assert store.put(config_map("a", 6))
    assert (store.get("kura", "a") or {})["data"] == {"v": "6"}
    assert not store.remove(config_map("a", 5))  # a deletion from before the object came back
    assert store.remove(config_map("a", 7))
    assert store.get("kura", "a") is None
    assert not store.remove(config_map("a", 8))


def test_a_relist_replaces_the_store_but_keeps_what_was_written_after_it() -> None:
    store = Store()
    for name, version in (("kept", 3), ("changed", 4), ("gone", 5), ("written", 12)):
        store.put(config_map(name, version))
    changes = [
        store.hold(config_map("kept", 3)),
        store.hold(config_map("changed", 8)),
        store.hold(config_map("new", 9)),
    ]
    assert changes == [None, MODIFIED, ADDED]
    gone = store.retain({("kura", "kept"), ("kura", "changed"), ("kura", "new")}, "10")
    assert [obj["metadata"]["name"] for obj in gone] == ["gone"]
    assert sorted(name for _, name in store.names()) == ["changed", "kept", "new", "written"]


def test_objects_are_held_without_their_field_entries_but_with_their_managers() -> None:
    obj = config_map("a", 1)
    obj["metadata"]["managedFields"] = [
        {"manager": "kura-controller", "operation": "Apply", "fieldsV1": {"f:data": {}}},
        {"manager": "kura-controller", "operation": "Update", "fieldsV1": {}},
        {"manager": "kubectl", "operation": "Update", "subresource": "status"},
    ]
    store = Store()
    store.put(obj)
    held = store.get("kura", "a")
    assert held is not None
    assert held["metadata"]["managedFields"] == [{"manager": "kura-controller"}]
    held["data"]["v"] = "mutated"
    assert (store.get("kura", "a") or {})["data"] == {"v": "1"}  # every read is a copy
    assert len(compact(obj)) < len(str(obj))


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("a=b", {"a": "b"}, True),
        ("a==b,c", {"a": "b", "c": ""}, True),
        ("a=b,c", {"a": "b"}, False),
        ("", {}, True),
        ("a=b", {"a": "x"}, False),
    ],
)
def test_equality_selectors_match_labels(text: str, labels: dict[str, str], expected: bool) -> None:
    assert selected({"metadata": {"labels": labels}}, parse_selector(text)) is expected


@pytest.mark.parametrize("text", ["a!=b", "a in (b)", "!a"])
def test_set_based_selectors_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="unsupported"):
        parse_selector(text)


def test_a_narrower_selector_implies_a_broader_one() -> None:
    assert implies(parse_selector("a=b,c=d"), parse_selector("a=b"))
    assert implies(parse_selector("a=b"), parse_selector("a"))
    assert not implies(parse_selector("a=b"), parse_selector("a=b,c"))
    assert not implies(parse_selector(""), parse_selector("a"))


# --- informers on the wire (the Kubernetes double) ---------------------------------------------


@pytest.fixture
def kubeconfig(kube: KubeDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(kube.write_kubeconfig(tmp_path / "kubeconfig")))


async def kube_api() -> KubeApi:
    return KubeApi(
        await connect(), field_manager="kura-operator", recorder=OperatorMetrics(), timeout=5
    )


async def until(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def informing(
    kinds: list[Watched], scenario: Callable[[KubeApi, Cache, list[Change]], Awaitable[None]]
) -> None:
    """Run ``scenario`` with a cache of ``kinds`` in namespace kura, listed and watching."""

    async def main() -> None:
        api = await kube_api()
        changes: list[Change] = []

        def heard(kind: Kind, change: str, obj: dict[str, Any]) -> None:
            changes.append((kind.kind, change, obj["metadata"]["name"]))

        cache = Cache(api, kinds, ["kura"], heard, watch_seconds=60)
        api.cache = cache
        running = asyncio.create_task(cache.run())
        try:
            await asyncio.wait_for(cache.synced(), 10)
            await scenario(api, cache, changes)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            await api.close()

    asyncio.run(main())


def unversioned(name: str, **labels: str) -> dict[str, Any]:
    obj = config_map(name, 0, **labels)
    del obj["metadata"]["resourceVersion"]
    return obj


def seed(kube: KubeDouble, *names: str, **labels: str) -> None:
    for name in names:
        kube.put_object(unversioned(name, **labels))


@pytest.mark.usefixtures("kubeconfig")
def test_one_list_in_pages_then_reads_cost_nothing(kube: KubeDouble) -> None:
    seed(kube, "a", "b", "c", "d", "e")

    async def scenario(api: KubeApi, cache: Cache, changes: list[Change]) -> None:
        assert changes == []  # the first list is the starting state, not news
        assert (await api.get(CONFIG_MAP, "kura", "c") or {})["metadata"]["name"] == "c"
        assert await api.get(CONFIG_MAP, "kura", "nope") is None
        assert len(await api.list(CONFIG_MAP, "kura")) == 5
        await until(lambda: kube.open_watches == 1, "the watch")

    informing([Watched(CONFIG_MAP)], scenario)
    assert [(r.verb, r.status) for r in kube.requests if r.resource == "configmaps"] == [
        ("list", 200),
        ("watch", 200),
    ]
    kube.clear_requests()

    async def small_pages() -> None:
        api = await kube_api()
        informer = Informer(api, Watched(CONFIG_MAP), "kura", lambda *_: None, page_size=2)
        try:
            await informer._list()
            assert sorted(name for _, name in informer.store.names()) == list("abcde")
        finally:
            await api.close()

    asyncio.run(small_pages())
    assert [r.query.get("limit") for r in kube.requests_matching(verb="list")] == ["2"] * 3


@pytest.mark.usefixtures("kubeconfig")
def test_changes_arrive_and_the_echo_of_a_write_is_no_news(kube: KubeDouble) -> None:
    async def scenario(api: KubeApi, cache: Cache, changes: list[Change]) -> None:
        applied = await api.apply(unversioned("ours"))
        assert (await api.get(CONFIG_MAP, "kura", "ours")) is not None  # at once, from the answer
        seed(kube, "theirs")
        await until(lambda: ("ConfigMap", ADDED, "theirs") in changes, "their object")
        kube.delete("configmaps", "kura", "theirs")
        await until(lambda: ("ConfigMap", DELETED, "theirs") in changes, "its deletion")
        assert await api.get(CONFIG_MAP, "kura", "theirs") is None
        # The watch has delivered our own apply by now, and it was no change.
        assert ("ConfigMap", ADDED, "ours") not in changes
        assert applied["metadata"]["resourceVersion"]

    informing([Watched(CONFIG_MAP)], scenario)
    assert kube.requests_matching(verb="get") == []


@pytest.mark.usefixtures("kubeconfig")
def test_a_change_heard_while_a_write_is_in_flight_waits_for_its_answer(kube: KubeDouble) -> None:
    """The watch may deliver a write's echo before its answer: held back, then dropped; a
    change of someone else's made meanwhile is passed on once the answer is in."""

    async def scenario(api: KubeApi, cache: Cache, changes: list[Change]) -> None:
        store = cache.store(CONFIG_MAP, "kura")
        assert store is not None
        with cache.writing(CONFIG_MAP, "kura", "echo"):
            ours = kube.put_object(unversioned("echo"))  # the write, as the server makes it
            await until(lambda: store.get("kura", "echo") is not None, "the echo in the store")
            assert changes == []  # held back
            cache.remember(ours)  # the answer
        assert changes == []  # our own: no news
        with cache.writing(CONFIG_MAP, "kura", "raced"):
            ours = kube.put_object(unversioned("raced"))
            kube.put_object(unversioned("raced") | {"data": {"v": "theirs"}})
            await until(
                lambda: (store.get("kura", "raced") or {}).get("data") == {"v": "theirs"},
                "their change in the store",
            )
            assert changes == []
            cache.remember(ours)
        assert changes == [("ConfigMap", MODIFIED, "raced")]  # newer than ours: news

    informing([Watched(CONFIG_MAP)], scenario)


@pytest.mark.usefixtures("kubeconfig")
def test_a_dropped_watch_resumes_where_it_was_without_a_list(kube: KubeDouble) -> None:
    seed(kube, "a")

    async def scenario(api: KubeApi, cache: Cache, changes: list[Change]) -> None:
        await until(lambda: kube.open_watches == 1, "the watch")
        kube.drop_watches(graceful=True)  # as the server's timeout ends a watch
        seed(kube, "b")
        await until(lambda: ("ConfigMap", ADDED, "b") in changes, "the change made meanwhile")

    informing([Watched(CONFIG_MAP)], scenario)
    assert len(kube.requests_matching(verb="list")) == 1
    resumed = kube.requests_matching(verb="watch")[-1]
    assert resumed.query["resourceVersion"] != "0"


@pytest.mark.usefixtures("kubeconfig")
def test_after_410_gone_a_relist_finds_what_changed_and_what_was_deleted(
    kube: KubeDouble,
) -> None:
    seed(kube, "stays", "goes", "changes")

    async def scenario(api: KubeApi, cache: Cache, changes: list[Change]) -> None:
        await until(lambda: kube.open_watches == 1, "the watch")
        # The watch goes and cannot come back at once; meanwhile the history it would resume
        # from is lost: the resume gets 410 Gone.
        kube.hang(1.0, verb="watch", resource="configmaps")
        kube.drop_watches()
        kube.delete("configmaps", "kura", "goes")
        kube.put_object(unversioned("changes") | {"data": {"v": "new"}})
        kube.compact()
        await until(lambda: ("ConfigMap", DELETED, "goes") in changes, "the deletion")
        assert await api.get(CONFIG_MAP, "kura", "goes") is None
        assert (await api.get(CONFIG_MAP, "kura", "changes") or {})["data"] == {"v": "new"}
        assert (await api.get(CONFIG_MAP, "kura", "stays")) is not None
        assert ("ConfigMap", MODIFIED, "changes") in changes
        assert not [c for c in changes if c[2] == "stays"]

    informing([Watched(CONFIG_MAP)], scenario)
    watches = kube.requests_matching(verb="watch")
    assert any(r.query.get("resourceVersion") for r in watches)
    assert len(kube.requests_matching(verb="list")) == 2


@pytest.mark.usefixtures("kubeconfig")
def test_a_label_selected_cache_answers_only_for_its_objects(kube: KubeDouble) -> None:
    seed(kube, "ours", **{"app.kubernetes.io/managed-by": "kura-controller"})
    seed(kube, "theirs")
    selector = "app.kubernetes.io/managed-by=kura-controller"

    async def scenario(api: KubeApi, cache: Cache, changes: list[Change]) -> None:
        assert await api.get(CONFIG_MAP, "kura", "theirs") is None
        ours = await api.list(CONFIG_MAP, "kura", label_selector=selector)
        assert [o["metadata"]["name"] for o in ours] == ["ours"]
        assert await api.list(CONFIG_MAP, "kura", label_selector=f"{selector},x=y") == []
        await until(lambda: kube.open_watches == 1, "the watch")
        kube.clear_requests()
        # What the cache cannot answer is asked of the server: a broader selector, a kind it
        # does not watch.
        assert len(await api.list(CONFIG_MAP, "kura")) == 2
        assert await api.get(INGRESS_CLASS, None, "any") is None
        # (The watch is logged once its answer starts, which may be after this point.)
        assert [(r.verb, r.resource) for r in kube.requests if r.verb != "watch"] == [
            ("list", "configmaps"),
            ("get", "ingressclasses"),
        ]

    informing([Watched(CONFIG_MAP, selector)], scenario)
