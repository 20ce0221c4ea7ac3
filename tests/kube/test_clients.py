"""Both clients: what they send and read, and every way a request fails, as one KubeError.

Faults (a refusal, a hang, a server gone) come from the Kubernetes double; the real control
plane shows the same requests work against a real API server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kura_core import CONFIG_MAP, HTTP_ROUTE, KURA_GATEWAY, SECRET
from kura_kube import ConfigError, KubeError, requests
from kura_kube.aio import AsyncKubeClient, connect
from kura_kube.client import KubeClient
from kura_testing.control_plane import ControlPlane
from kura_testing.kube_double import KubeDouble


def config_map(name: str, namespace: str = "kura", **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": {"k": "v"},
    }


def client_of(kube: KubeDouble, tmp_path: Path, *, timeout: float = 5.0) -> KubeClient:
    return KubeClient.from_kubeconfig(
        kube.write_kubeconfig(tmp_path / "kubeconfig"), timeout=timeout
    )


def exercise(kube: KubeClient, namespace: str) -> None:
    """Create, read, apply, list and delete (by uid) one ConfigMap."""
    created = kube.create(config_map("one", namespace), field_manager="kura-test")
    assert created["metadata"]["uid"]
    with pytest.raises(KubeError) as taken:
        kube.create(config_map("one", namespace), field_manager="kura-test")
    assert (taken.value.status, taken.value.reason) == (409, "AlreadyExists")
    assert taken.value.action == f"create ConfigMap {namespace}/one"
    applied = kube.apply(config_map("one", namespace, role="smoke"), field_manager="kura-test")
    assert applied["metadata"]["labels"] == {"role": "smoke"}
    assert [
        o["metadata"]["name"] for o in kube.list(CONFIG_MAP, namespace, label_selector="role=smoke")
    ] == ["one"]
    assert kube.list(CONFIG_MAP, namespace, label_selector="role=other") == []
    with pytest.raises(KubeError) as other:
        kube.delete(CONFIG_MAP, namespace, "one", uid="not-its-uid")
    assert other.value.status == 409
    assert kube.get(CONFIG_MAP, namespace, "one") is not None
    assert kube.delete(CONFIG_MAP, namespace, "one", uid=created["metadata"]["uid"])
    assert not kube.delete(CONFIG_MAP, namespace, "one", uid=created["metadata"]["uid"])
    assert kube.get(CONFIG_MAP, namespace, "one") is None


def test_the_sync_client_writes_reads_and_deletes_by_uid_on_the_double(
    kube: KubeDouble, tmp_path: Path
) -> None:
    with client_of(kube, tmp_path) as client:
        exercise(client, "kura")
        assert client.host == kube.url


def test_the_sync_client_on_the_real_api_server(
    kube_control_plane: ControlPlane, kube_namespace: str, tmp_path: Path
) -> None:
    kubeconfig = kube_control_plane.write_kubeconfig(tmp_path / "kubeconfig")
    with KubeClient.from_kubeconfig(kubeconfig) as client:
        exercise(client, kube_namespace)
        assert str(client.version()["gitVersion"]).startswith("v1.")


def test_a_refusal_names_what_was_asked_and_the_servers_reason(
    kube: KubeDouble, tmp_path: Path
) -> None:
    kube.inject(status=403, resource="secrets", retry_after=2)
    with client_of(kube, tmp_path) as client, pytest.raises(KubeError) as caught:
        client.get(SECRET, "kura", "s")
    assert (caught.value.status, caught.value.reason, caught.value.retry_after) == (
        403,
        "Forbidden",
        2.0,
    )
    assert caught.value.described.startswith("get Secret kura/s: 403 Forbidden: ")


def test_a_server_that_does_not_answer_in_time_is_a_timeout(
    kube: KubeDouble, tmp_path: Path
) -> None:
    kube.hang(3.0, resource="configmaps")
    with client_of(kube, tmp_path, timeout=0.3) as client, pytest.raises(KubeError) as caught:
        client.list(CONFIG_MAP, "kura")
    assert (caught.value.status, caught.value.reason) == (0, "Timeout")
    assert str(caught.value) == "no answer (Timeout): nothing within 0.3s"
    assert caught.value.transient


def test_a_server_that_is_gone_is_unreachable_in_words(tmp_path: Path) -> None:
    with KubeDouble.in_thread() as gone:
        kubeconfig = gone.write_kubeconfig(tmp_path / "kubeconfig")
    with KubeClient.from_kubeconfig(kubeconfig) as client, pytest.raises(KubeError) as caught:
        client.version()
    assert (caught.value.status, caught.value.reason) == (0, "Unreachable")
    assert caught.value.message == "connection refused"
    assert caught.value.action == "read the server's version"


def test_no_kubeconfig_is_one_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"cannot load the kubeconfig {tmp_path / 'nope'}: "):
        KubeClient.from_kubeconfig(tmp_path / "nope")


async def async_client(kubeconfig: Path, answers: list[tuple[str, int]]) -> AsyncKubeClient:
    api = await connect(kubeconfig)
    return AsyncKubeClient(
        api, timeout=5, on_answer=lambda verb, status: answers.append((verb, status))
    )


async def first_events(stream: AsyncIterator[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    events = []
    async for event in stream:
        events.append(event)
        if len(events) == count:
            break
    return events


def test_the_async_client_sends_streams_and_reports_each_answer(
    kube: KubeDouble, tmp_path: Path
) -> None:
    answers: list[tuple[str, int]] = []

    async def scenario() -> None:
        client = await async_client(kube.write_kubeconfig(tmp_path / "kubeconfig"), answers)
        try:
            assert await client.serves(KURA_GATEWAY)
            assert not await client.serves(HTTP_ROUTE)  # the double serves no Gateway API
            await client.send(requests.create(config_map("a")))
            listed = await client.send(requests.list_objects(CONFIG_MAP, "kura"))
            version = listed["metadata"]["resourceVersion"]
            # From the list's version on: "a" is in the list, only what follows is an event.
            watch = requests.watch(
                CONFIG_MAP, "kura", label_selector="", version=version, seconds=5
            )
            stream = client.stream(watch, idle=10)
            await client.send(requests.apply(config_map("b"), field_manager="kura-test"))
            await client.send(requests.delete(CONFIG_MAP, "kura", "a"))
            events = await first_events(stream, 2)
            assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
                ("ADDED", "b"),
                ("DELETED", "a"),
            ]
            assert await client.get(CONFIG_MAP, "kura", "missing") is None
        finally:
            await client.close()

    asyncio.run(scenario())
    assert ("create", 201) in answers
    assert ("watch", 200) in answers
    assert ("get", 404) in answers


def test_the_async_client_reports_a_refused_watch_and_no_answer(
    kube: KubeDouble, tmp_path: Path
) -> None:
    answers: list[tuple[str, int]] = []
    with KubeDouble.in_thread() as gone_server:
        gone_config = gone_server.write_kubeconfig(tmp_path / "gone")
    kube.inject(
        status=410, verb="watch", body={"kind": "Status", "reason": "Expired", "message": "too old"}
    )

    async def scenario() -> None:
        client = await async_client(kube.write_kubeconfig(tmp_path / "kubeconfig"), answers)
        try:
            watch = requests.watch(CONFIG_MAP, "kura", label_selector="", version="1", seconds=5)
            with pytest.raises(KubeError) as expired:
                await first_events(client.stream(watch, idle=10), 1)
            assert (expired.value.status, expired.value.reason) == (410, "Expired")
        finally:
            await client.close()
        gone = AsyncKubeClient(
            await connect(gone_config),
            on_answer=lambda verb, status: answers.append((verb, status)),
        )
        try:
            with pytest.raises(KubeError) as unreachable:
                await gone.send(requests.version())
            assert (unreachable.value.status, unreachable.value.reason) == (0, "Unreachable")
        finally:
            await gone.close()

    asyncio.run(scenario())
    assert answers == [("watch", 410), ("get", 0)]


def test_the_async_client_without_a_configuration_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ConfigError, match="cannot load the Kubernetes configuration: no file "):
        asyncio.run(connect(tmp_path / "nope"))


@pytest.mark.parametrize(
    ("environment", "proxy"),
    [
        ({"HTTPS_PROXY": "http://proxy.example:3128"}, "http://proxy.example:3128"),
        ({"HTTPS_PROXY": "http://proxy.example:3128", "NO_PROXY": "api.example"}, None),
        ({"HTTP_PROXY": "http://proxy.example:3128"}, None),  # another scheme's
        ({}, None),
    ],
)
def test_the_clients_proxy_comes_from_the_environment_once(
    environment: dict[str, str],
    proxy: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'https://api.example:6443'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
    )
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    async def configured() -> Any:
        client: Any = await connect(kubeconfig)
        try:
            return client.configuration
        finally:
            await client.close()

    configuration = asyncio.run(configured())
    assert configuration.proxy == proxy
    # Not looked up again on every request, in a thread.
    assert configuration.client_session_kwargs == {"trust_env": False}
