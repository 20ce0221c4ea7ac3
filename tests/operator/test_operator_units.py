"""The operator's pure parts and its work queue, without a server: convergence, events, metrics,
the scheduler, settings and REST paths."""

from __future__ import annotations

import asyncio
import copy
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from kura_core import (
    KURA_GATEWAY,
    KURA_INSTANCE,
)
from kura_core.cli.app import build_cli
from kura_core.plugins import PluginHost
from kura_kube import KubeError
from kura_operator.access import Access, allowed
from kura_operator.convergence import (
    APPLIED_HASH_ANNOTATION,
    contains,
    needs_apply,
    status_changed,
    with_applied_hash,
)
from kura_operator.events import phase_event
from kura_operator.metrics import OperatorMetrics
from kura_operator.scheduler import Scheduler, object_ref
from kura_operator.selfcheck import Problem, Readiness, SelfCheck
from kura_operator.settings import OperatorSettings

NOW = datetime(2025, 5, 1, 12, 30, 5, tzinfo=UTC)
GATEWAY: dict[str, Any] = {
    "apiVersion": "kura.tuist.dev/v1alpha1",
    "kind": "KuraGateway",
    "metadata": {
        "name": "kgw-0123456789ab-us-east",
        "namespace": "kura",
        "uid": "9f0c3f1e-4a57-4c1e-9d43-2a7c1d2b3c4d",
        "resourceVersion": "42",
    },
}
SERVICE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {
        "name": "kgw-0123456789ab-us-east-controller",
        "namespace": "kura",
        "annotations": {"load-balancer.hetzner.cloud/type": "lb21"},
    },
    "spec": {
        "type": "LoadBalancer",
        "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}],
    },
}

# --- convergence ------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=3), json_values, max_size=4)


@given(json_values)
def test_everything_contains_itself(value: Any) -> None:
    assert contains(value, value)


@given(json_objects, json_objects)
def test_a_live_object_with_more_fields_still_contains_the_desired_one(
    desired: dict[str, Any], defaults: dict[str, Any]
) -> None:
    live = {**defaults, **desired}  # the server adds fields, it does not change ours
    assert contains(live, desired)
    assert not needs_apply(desired, live)


def test_contains_compares_values_and_lists_element_by_element() -> None:
    live = copy.deepcopy(SERVICE)
    live["spec"]["clusterIP"] = "10.0.0.7"  # a server default
    live["spec"]["ports"][0]["protocol"] = "TCP"
    assert contains(live, SERVICE)

    changed = copy.deepcopy(live)
    changed["spec"]["ports"][1]["port"] = 8443
    assert not contains(changed, SERVICE)
    extra_port = copy.deepcopy(live)
    extra_port["spec"]["ports"].append({"name": "metrics", "port": 10254})
    assert not contains(extra_port, SERVICE)
    reordered = copy.deepcopy(live)
    reordered["spec"]["ports"].reverse()
    assert not contains(reordered, SERVICE)
    assert not contains({"spec": "LoadBalancer"}, {"spec": {"type": "LoadBalancer"}})
    assert not contains({}, {"data": None})


def test_a_zero_value_the_api_server_leaves_out_still_matches() -> None:
    # A real API server drops omitempty zero values: live never has initialDelaySeconds: 0, and
    # before this the StatefulSet was re-applied on every reconcile.
    desired = {"spec": {"startupProbe": {"initialDelaySeconds": 0, "periodSeconds": 5}}}
    live = {"spec": {"startupProbe": {"periodSeconds": 5, "timeoutSeconds": 1}}}
    assert contains(live, desired)
    assert contains({"m": {}}, {"m": {"readOnly": False, "args": [], "name": ""}})
    # A zero value the server kept is still compared, and so is a non-zero one it lacks.
    assert not contains({"spec": {"replicas": 1}}, {"spec": {"replicas": 0}})
    assert not contains({"spec": {}}, {"spec": {"replicas": 2}})


def test_needs_apply_when_missing_or_different_but_not_for_status() -> None:
    assert needs_apply(SERVICE, None)
    live = {**copy.deepcopy(SERVICE), "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}}
    assert not needs_apply({**SERVICE, "status": {"loadBalancer": {}}}, live)
    live["spec"]["type"] = "ClusterIP"
    assert needs_apply(SERVICE, live)


def test_the_applied_hash_catches_a_field_taken_out_of_the_desired_state() -> None:
    applied = with_applied_hash(SERVICE)
    live = copy.deepcopy(applied)  # what the server stored, annotation included
    assert not needs_apply(with_applied_hash(SERVICE), live)

    without_type = copy.deepcopy(SERVICE)
    del without_type["metadata"]["annotations"]["load-balancer.hetzner.cloud/type"]
    # A superset comparison alone misses the removal; the hash does not.
    assert not needs_apply(without_type, live)
    assert needs_apply(with_applied_hash(without_type), live)


def test_the_applied_hash_is_stable_and_leaves_the_input_alone() -> None:
    original = copy.deepcopy(SERVICE)
    shuffled = {key: SERVICE[key] for key in reversed(list(SERVICE))}
    stamped = with_applied_hash(SERVICE)
    annotations = stamped["metadata"]["annotations"]
    assert (
        annotations[APPLIED_HASH_ANNOTATION]
        == (with_applied_hash(shuffled)["metadata"]["annotations"][APPLIED_HASH_ANNOTATION])
    )
    assert len(annotations[APPLIED_HASH_ANNOTATION]) == 64
    assert annotations["load-balancer.hetzner.cloud/type"] == "lb21"
    assert original == SERVICE
    no_annotations = with_applied_hash({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})
    assert set(no_annotations["metadata"]["annotations"]) == {APPLIED_HASH_ANNOTATION}


def test_status_changes_ignore_the_reconcile_timestamp() -> None:
    old = {"phase": "Ready", "lastReconciledAt": "2025-05-01T12:00:00Z", "readyReplicas": 2}
    assert not status_changed(old, {**old, "lastReconciledAt": "2025-05-01T12:05:00Z"})
    assert status_changed(old, {**old, "readyReplicas": 1})
    assert status_changed(old, {**old, "phase": "Pending"})
    assert not status_changed(None, {})
    assert not status_changed(None, {"lastReconciledAt": "2025-05-01T12:00:00Z"})
    assert status_changed(None, {"phase": "Pending"})


# --- events -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "previous", "kind"),
    [("Pending", None, "Normal"), ("Ready", "Pending", "Normal"), ("Error", "Ready", "Warning")],
)
def test_a_phase_event_is_a_valid_core_event(phase: str, previous: str | None, kind: str) -> None:
    event = phase_event(
        GATEWAY, phase=phase, previous=previous, message="2/2 ready", now=NOW, instance="op-0"
    )
    kubernetes_validate.validate(event, "1.33", strict=True)
    assert (event["type"], event["reason"]) == (kind, phase)
    was = f" (was {previous})" if previous else ""
    assert event["message"] == f"{phase}{was}: 2/2 ready"
    assert event["involvedObject"] == {
        "apiVersion": "kura.tuist.dev/v1alpha1",
        "kind": "KuraGateway",
        "name": "kgw-0123456789ab-us-east",
        "namespace": "kura",
        "uid": "9f0c3f1e-4a57-4c1e-9d43-2a7c1d2b3c4d",
        "resourceVersion": "42",
    }
    # The API server wants the Event in the namespace of the object it is about.
    assert event["metadata"] == {"generateName": "kgw-0123456789ab-us-east.", "namespace": "kura"}
    assert event["firstTimestamp"] == event["lastTimestamp"] == "2025-05-01T12:30:05Z"
    assert (event["reportingComponent"], event["reportingInstance"]) == ("kura-operator", "op-0")
    assert event["source"] == {"component": "kura-operator"}
    assert event["count"] == 1


def test_a_phase_event_message_is_capped() -> None:
    event = phase_event(
        GATEWAY, phase="Error", previous=None, message="x" * 5000, now=NOW, instance="i"
    )
    kubernetes_validate.validate(event, "1.33", strict=True)
    assert len(event["message"]) == 1024
    assert event["message"].startswith("Error: xxx")


def test_strict_validation_would_catch_a_stray_event_field() -> None:
    event = phase_event(GATEWAY, phase="Ready", previous=None, message="", now=NOW, instance="i")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({**event, "severity": "info"}, "1.33", strict=True)


# --- metrics ----------------------------------------------------------------------------------


def gauge(metrics: OperatorMetrics, phase: str) -> float | None:
    return metrics.registry.get_sample_value("kura_operator_gateways", {"phase": phase})


def test_gateways_are_counted_by_phase_and_forgotten() -> None:
    metrics = OperatorMetrics()
    assert [gauge(metrics, p) for p in ("Pending", "Ready", "Error")] == [0, 0, 0]
    metrics.gateway_phase("kura/a", "Pending")
    metrics.gateway_phase("kura/b", "Pending")
    metrics.gateway_phase("kura/c", "Error")
    metrics.gateway_phase("kura/a", "Ready")
    assert [gauge(metrics, p) for p in ("Pending", "Ready", "Error")] == [1, 1, 1]
    metrics.gateway_phase("kura/c", None)
    metrics.gateway_phase("kura/unknown", None)
    assert [gauge(metrics, p) for p in ("Pending", "Ready", "Error")] == [1, 1, 0]


def test_instances_are_counted_apart_from_gateways() -> None:
    metrics = OperatorMetrics()
    metrics.instance_phase("kura/kura-acme-us-east-1", "Ready")
    metrics.instance_phase("kura/kura-beta-us-east-1", "Pending")
    metrics.gateway_phase("kura/kgw-0123456789ab-us-east", "Ready")
    sample = metrics.registry.get_sample_value
    assert sample("kura_operator_instances", {"phase": "Ready"}) == 1
    assert sample("kura_operator_instances", {"phase": "Pending"}) == 1
    assert gauge(metrics, "Ready") == 1
    metrics.instance_phase("kura/kura-acme-us-east-1", None)
    assert sample("kura_operator_instances", {"phase": "Ready"}) == 0
    assert gauge(metrics, "Ready") == 1


def test_a_phase_nobody_is_in_any_more_drops_to_zero() -> None:
    metrics = OperatorMetrics()
    metrics.gateway_phase("kura/a", "Degraded")  # a provider may report its own phases
    assert gauge(metrics, "Degraded") == 1
    metrics.gateway_phase("kura/a", "Ready")
    assert gauge(metrics, "Degraded") == 0
    assert gauge(metrics, "Ready") == 1


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["kura/a", "kura/b", "kura/c"]),
            st.sampled_from([None, "Pending", "Ready", "Error", "Provisioning"]),
        ),
        max_size=30,
    )
)
def test_the_phase_gauge_always_counts_each_objects_last_phase(
    records: list[tuple[str, str | None]],
) -> None:
    metrics = OperatorMetrics()
    last: dict[str, str] = {}
    for key, phase in records:
        metrics.gateway_phase(key, phase)
        if phase is None:
            last.pop(key, None)
        else:
            last[key] = phase
    for phase in {"Pending", "Ready", "Error", *(p for _, p in records if p)}:
        assert gauge(metrics, phase) == sum(1 for value in last.values() if value == phase)


def test_api_requests_by_verb_and_code_in_their_own_registry() -> None:
    first, second = OperatorMetrics(), OperatorMetrics()
    first.api_request("patch", 409)
    first.api_request("patch", 409)
    first.api_request("get", 0)
    sample = first.registry.get_sample_value
    assert sample("kura_operator_api_requests_total", {"verb": "patch", "code": "409"}) == 2
    assert sample("kura_operator_api_requests_total", {"verb": "get", "code": "0"}) == 1
    assert (
        second.registry.get_sample_value(
            "kura_operator_api_requests_total", {"verb": "patch", "code": "409"}
        )
        is None
    )


# --- scheduler --------------------------------------------------------------------------------


class Recorder:
    """A reconcile that records its calls and does what each call's ``script`` entry says."""

    def __init__(self, *script: BaseException | asyncio.Event | None) -> None:
        self.script = list(script)
        self.calls: list[tuple[str, str]] = []
        self.running = 0
        self.most_running = 0

    async def __call__(self, namespace: str, name: str) -> None:
        self.calls.append((namespace, name))
        step = self.script.pop(0) if self.script else None
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            if isinstance(step, asyncio.Event):
                await step.wait()
            elif isinstance(step, BaseException):
                raise step
        finally:
            self.running -= 1


class SpyScheduler(Scheduler):
    """Records the delay of every request, so backoff is checked without a clock."""

    def __init__(self, reconcile: Callable[[str, str], Awaitable[object]], **kwargs: Any) -> None:
        super().__init__(reconcile, **kwargs)
        self.delays: list[float | None] = []

    def request(
        self, namespace: str, name: str, *, after: float | None = None, news: bool = False
    ) -> None:
        self.delays.append(after)
        super().request(namespace, name, after=after, news=news)


async def until(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not predicate():
            await asyncio.sleep(0.001)


def test_a_burst_of_requests_costs_one_reconcile() -> None:
    async def scenario() -> None:
        reconcile = Recorder()
        scheduler = Scheduler(reconcile, delay=0.01)
        for _ in range(20):
            scheduler.request("kura", "a")
        scheduler.request("kura", "b")
        assert scheduler.pending == 2
        await until(lambda: len(reconcile.calls) == 2 and scheduler.pending == 0)
        await asyncio.sleep(0.05)
        assert sorted(reconcile.calls) == [("kura", "a"), ("kura", "b")]
        await scheduler.close()

    asyncio.run(scenario())


def test_requests_during_a_reconcile_wait_for_it_and_coalesce() -> None:
    async def scenario() -> None:
        release = asyncio.Event()
        reconcile = Recorder(release)
        scheduler = Scheduler(reconcile, delay=0)
        scheduler.request("kura", "a")
        await until(lambda: reconcile.running == 1)
        for _ in range(5):  # news arriving while the first reconcile reads
            scheduler.request("kura", "a")
            await asyncio.sleep(0.005)
        assert len(reconcile.calls) == 1  # never two at once for one gateway
        release.set()
        await until(lambda: len(reconcile.calls) == 2 and reconcile.running == 0)
        await asyncio.sleep(0.05)
        assert len(reconcile.calls) == 2
        assert reconcile.most_running == 1
        await scheduler.close()

    asyncio.run(scenario())


def test_failures_back_off_exponentially_up_to_a_cap_and_reset() -> None:
    async def scenario() -> None:
        boom = KubeError(500, "InternalError", "boom")
        reconcile = Recorder(boom, boom, boom, boom, None)
        scheduler = SpyScheduler(reconcile, delay=0, backoff=0.001, max_backoff=0.004)
        scheduler.request("kura", "a")
        await until(lambda: len(reconcile.calls) == 5 and reconcile.running == 0)
        assert scheduler.delays == [None, 0.001, 0.002, 0.004, 0.004]
        assert scheduler.failures("kura", "a") == 0
        await scheduler.close()

    asyncio.run(scenario())


def test_retry_after_wins_over_the_backoff() -> None:
    async def scenario() -> None:
        throttled = KubeError(429, "TooManyRequests", "slow down", retry_after=0.003)
        reconcile = Recorder(throttled, None)
        scheduler = SpyScheduler(reconcile, delay=0, backoff=30)
        scheduler.request("kura", "a")
        await until(lambda: len(reconcile.calls) == 2)
        assert scheduler.delays == [None, 0.003]
        await scheduler.close()

    asyncio.run(scenario())


def test_a_permanent_error_is_retried_slowly_and_a_transient_one_backs_off() -> None:
    async def scenario() -> None:
        forbidden = KubeError(403, "Forbidden", "no", retry_after=0.001)
        busy = KubeError(503, "ServiceUnavailable", "busy")
        reconcile = Recorder(forbidden, busy, forbidden, None)
        scheduler = SpyScheduler(
            reconcile, delay=0, backoff=0.001, max_backoff=0.004, permanent_retry=0.003
        )
        scheduler.request("kura", "a")
        await until(lambda: len(reconcile.calls) == 4 and reconcile.running == 0)
        # A refusal waits the slow interval whatever its failure count or Retry-After says.
        assert scheduler.delays == [None, 0.003, 0.002, 0.003]
        await scheduler.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("error", "cut_short"),
    [
        (KubeError(403, "Forbidden", "no"), True),
        (KubeError(503, "ServiceUnavailable", "busy"), False),
    ],
    ids=["slow-retry", "backoff"],
)
def test_news_of_the_object_ends_a_slow_retrys_wait_only(error: KubeError, cut_short: bool) -> None:
    async def scenario() -> None:
        reconcile = Recorder(error, None)
        scheduler = Scheduler(reconcile, delay=0, backoff=30, permanent_retry=30)
        scheduler.request("kura", "a")
        await until(lambda: len(reconcile.calls) == 1 and scheduler.pending == 1)
        scheduler.request("kura", "a")  # a child changed, or our own status write
        await asyncio.sleep(0.05)
        assert len(reconcile.calls) == 1
        scheduler.request("kura", "a", news=True)  # its spec changed, or it is being deleted
        await asyncio.sleep(0.05)
        assert len(reconcile.calls) == (2 if cut_short else 1)
        assert scheduler.pending == (0 if cut_short else 1)
        await scheduler.close()

    asyncio.run(scenario())


def test_a_crash_is_retried_like_an_api_error(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        reconcile = Recorder(KeyError("bug"), None)
        scheduler = SpyScheduler(reconcile, delay=0, backoff=0.001)
        scheduler.request("kura", "a")
        await until(lambda: len(reconcile.calls) == 2)
        assert scheduler.delays == [None, 0.001]
        await scheduler.close()

    asyncio.run(scenario())
    (record,) = [r for r in caplog.records if r.message.startswith("reconcile crashed")]
    assert record.exc_info is not None
    assert record.k8s_ref == object_ref(KURA_GATEWAY, "kura", "a")  # type: ignore[attr-defined]


def test_a_failure_replaces_the_waiting_request_with_its_backoff() -> None:
    async def scenario() -> None:
        fail_now = asyncio.Event()

        async def reconcile(namespace: str, name: str) -> None:
            calls.append(name)
            if len(calls) == 1:
                await fail_now.wait()
                raise KubeError(503, "ServiceUnavailable", "busy")

        calls: list[str] = []
        scheduler = Scheduler(reconcile, delay=0.001, backoff=30)
        scheduler.request("kura", "a")
        await until(lambda: len(calls) == 1)
        scheduler.request("kura", "a")  # news while the doomed reconcile runs
        fail_now.set()
        await asyncio.sleep(0.1)
        assert calls == ["a"]  # the news waits out the 30 s backoff
        assert scheduler.pending == 1
        assert scheduler.failures("kura", "a") == 1
        await scheduler.close()
        assert scheduler.pending == 0

    asyncio.run(scenario())


def test_concurrency_is_limited_across_gateways() -> None:
    async def scenario() -> None:
        release = asyncio.Event()
        reconcile = Recorder(*[release] * 5)
        scheduler = Scheduler(reconcile, delay=0, concurrency=2)
        for name in "abcde":
            scheduler.request("kura", name)
        await until(lambda: reconcile.running == 2)
        await asyncio.sleep(0.05)
        assert len(reconcile.calls) == 2
        release.set()
        await until(lambda: len(reconcile.calls) == 5 and reconcile.running == 0)
        assert reconcile.most_running == 2
        await scheduler.close()

    asyncio.run(scenario())


def test_schedulers_of_two_kinds_share_their_slots() -> None:
    async def scenario() -> None:
        release = asyncio.Event()
        gateways, instances = Recorder(release, release), Recorder(release, release)
        slots = asyncio.Semaphore(1)
        schedulers = [
            Scheduler(gateways, delay=0, slots=slots),
            Scheduler(instances, delay=0, kind=KURA_INSTANCE, slots=slots),
        ]
        for scheduler in schedulers:
            scheduler.request("kura", "a")
            scheduler.request("kura", "b")
        await until(lambda: gateways.running + instances.running == 1)
        await asyncio.sleep(0.05)
        assert gateways.running + instances.running == 1
        release.set()
        await until(lambda: len(gateways.calls) + len(instances.calls) == 4)
        assert max(gateways.most_running, instances.most_running) == 1
        for scheduler in schedulers:
            await scheduler.close()

    asyncio.run(scenario())


def test_close_cancels_waiting_and_running_reconciles() -> None:
    async def scenario() -> None:
        reconcile = Recorder(asyncio.Event())
        scheduler = Scheduler(reconcile, delay=0)
        scheduler.request("kura", "a")
        scheduler.request("kura", "b")
        await until(lambda: reconcile.running >= 1)
        scheduler.request("kura", "a")
        await scheduler.close()
        assert scheduler.pending == 0
        assert reconcile.running == 0

    asyncio.run(scenario())


def test_nothing_runs_while_the_gate_is_closed() -> None:
    async def scenario() -> None:
        reconcile = Recorder()
        leading = False
        scheduler = Scheduler(reconcile, delay=0, gate=lambda: leading)
        scheduler.request("kura", "a")
        assert scheduler.pending == 0
        leading = True
        scheduler.request("kura", "a")
        await until(lambda: reconcile.calls == [("kura", "a")])
        await scheduler.close()

    asyncio.run(scenario())


def test_a_request_made_before_the_gate_closed_does_not_run() -> None:
    async def scenario() -> None:
        reconcile = Recorder()
        leading = True
        scheduler = Scheduler(reconcile, delay=0.05, gate=lambda: leading)
        scheduler.request("kura", "a")
        assert scheduler.pending == 1
        leading = False
        await until(lambda: scheduler.pending == 0)
        await asyncio.sleep(0.01)
        assert reconcile.calls == []
        await scheduler.close()

    asyncio.run(scenario())


def test_a_retry_is_dropped_once_the_gate_closed() -> None:
    async def scenario() -> None:
        leading = True

        async def fail_and_close(namespace: str, name: str) -> None:
            nonlocal leading
            leading = False
            raise KubeError(0, "NotLeader", "not the leader")

        scheduler = SpyScheduler(fail_and_close, delay=0, backoff=0.01, gate=lambda: leading)
        scheduler.request("kura", "a")
        await until(lambda: scheduler.failures("kura", "a") == 1)
        # The retry was requested and dropped: nothing waits.
        assert scheduler.delays == [None, 0.01]
        assert scheduler.pending == 0
        await scheduler.close()

    asyncio.run(scenario())


# --- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"namespace": "Kura"},
        {"namespace": ""},
        {"metrics_port": 65536},
        {"health_port": -1},
        {"resync_seconds": 0},
        {"request_timeout": -1},
        {"watch_everything": True},
        {"leader_election_id": "Kura_Lease"},
        {"leader_election_id": ""},
        {"scraper_namespaces": ("Monitoring",)},
    ],
)
def test_settings_refuse_bad_values(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        OperatorSettings(**bad)


def test_settings_scope_and_defaults(tmp_path: Path) -> None:
    settings = OperatorSettings(catalog_file=tmp_path / "catalog.yaml")
    assert settings.namespaces == ["kura"]
    assert (settings.metrics_port, settings.health_port) == (8080, 8081)
    assert settings.field_manager == "kura-operator"
    assert settings.cluster_issuer == "letsencrypt-cloudflare"
    assert settings.otlp_traces_endpoint == ""
    # Upstream's controller's field managers: what they own of a child is taken over.
    assert settings.take_over_field_managers == ("kura-controller", "manager")
    # Upstream's controller holds this Lease: the two never reconcile at the same time.
    assert (settings.leader_elect, settings.leader_election_id) == (
        True,
        "kura-controller.kura.tuist.dev",
    )
    # No scraper namespace unless named: only the gateways reach the Kura pods' HTTP port.
    assert settings.scraper_namespaces == ()
    assert OperatorSettings(all_namespaces=True, namespace="ignored").namespaces == []
    with pytest.raises(ValidationError):
        settings.dry_run = True  # type: ignore[misc]


def test_a_scraper_namespace_that_cannot_be_one_is_refused_in_one_line() -> None:
    cli = build_cli(PluginHost(environ={}))
    result = CliRunner().invoke(cli, ["operator", "run", "--scraper-namespace", "Monitoring"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("kura: error: scraper_namespaces[0]: ")


def test_upstreams_flag_names_are_aliases() -> None:
    from kura_operator.cli import run_command

    upstream = run_command.make_context(
        "kura-operator",
        [
            "--gateway-service-account-name",
            "tuist-gw",
            "--grpc-cluster-issuer",
            "",
            "--watch-namespace",
            "tuist",
            "--deployment-environment",
            "staging",
        ],
    ).params
    ours = run_command.make_context(
        "kura-operator",
        [
            "--gateway-service-account",
            "tuist-gw",
            "--cluster-issuer",
            "",
            "--namespace",
            "tuist",
            "--env",
            "staging",
        ],
    ).params
    assert upstream == ours
    assert (upstream["gateway_service_account"], upstream["cluster_issuer"]) == ("tuist-gw", "")
    assert (upstream["namespace"], upstream["env"]) == ("tuist", "staging")


# --- the self-check -------------------------------------------------------------------------


def test_rules_grant_by_verb_group_resource_and_name() -> None:
    rules = [
        {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["services"]},
        {"verbs": ["update"], "apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
         "resourceNames": ["kura-controller.kura.tuist.dev"]},
        {"verbs": ["*"], "apiGroups": ["apps"], "resources": ["*"]},
    ]  # fmt: skip
    lease = "kura-controller.kura.tuist.dev"
    assert allowed(rules, Access("get", "", "services"))
    assert not allowed(rules, Access("delete", "", "services"))
    assert allowed(rules, Access("update", "coordination.k8s.io", "leases", name=lease))
    assert not allowed(rules, Access("update", "coordination.k8s.io", "leases", name="another"))
    assert not allowed(rules, Access("update", "coordination.k8s.io", "leases"))
    assert allowed(rules, Access("create", "apps", "statefulsets"))


class Leadership:
    def __init__(self) -> None:
        self.holds = False

    def leading(self) -> bool:
        return self.holds

    def standing_by(self) -> str:
        return "pod-a_1 holds the lease kura/kura-controller.kura.tuist.dev"


def test_readiness_says_why_and_names_the_state() -> None:
    watching = False
    readiness = Readiness(lambda: watching, None)
    assert readiness.answer() == (503, "starting: the self-check has not run yet\n")
    assert readiness.state == "paused"
    readiness.report = SelfCheck((Problem("crd:x", "no X: apply it", blocking=True),))
    assert readiness.answer() == (503, "not ready: no X: apply it\n")
    assert readiness.state == "paused"
    readiness.report = SelfCheck((Problem("access:y", "may not y"),))
    assert readiness.state == "active"
    assert readiness.answer()[0] == 503
    readiness.report = SelfCheck(())
    assert readiness.answer() == (503, "starting\n")
    watching = True
    assert readiness.answer() == (200, "ready\n")


def test_a_standby_is_ready_and_says_who_leads() -> None:
    leadership = Leadership()
    # kopf runs only on the leader: a standby never watches, and is ready all the same.
    readiness = Readiness(lambda: leadership.holds, leadership)
    readiness.report = SelfCheck(())
    assert readiness.state == "standby"
    assert readiness.answer() == (
        200,
        "standby: pod-a_1 holds the lease kura/kura-controller.kura.tuist.dev\n",
    )
    leadership.holds = True
    assert readiness.state == "active"
    assert readiness.answer() == (200, "ready\n")
    # A blocking problem pauses a leader and a standby alike.
    readiness.report = SelfCheck((Problem("crd:x", "no X", blocking=True),))
    assert readiness.state == "paused"


def test_no_usable_kubeconfig_is_one_line_and_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    cli = build_cli(PluginHost(environ={}))
    result = CliRunner().invoke(cli, ["operator", "run"])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        "kura: error: cannot load the Kubernetes configuration: no file "
    )
    assert "Traceback" not in result.output


def test_a_port_taken_is_one_line_and_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
        "users: [{name: u, user: {}}]\n"
    )
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    cli = build_cli(PluginHost(environ={}))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = ["--bind-address", "127.0.0.1", "--metrics-port", "0", "--health-port", str(port)]
        result = CliRunner().invoke(cli, ["operator", "run", *args, "--leader-elect=false"])
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"kura: error: cannot serve health probes on 127.0.0.1:{port}: address already in use\n"
    )
    assert "Traceback" not in result.output


def test_settings_refuse_one_port_for_metrics_and_health() -> None:
    with pytest.raises(ValidationError, match="the metrics and health ports are both 9000"):
        OperatorSettings(metrics_port=9000, health_port=9000)
    # Both disabled is not a clash.
    assert OperatorSettings(metrics_port=0, health_port=0).health_port == 0
