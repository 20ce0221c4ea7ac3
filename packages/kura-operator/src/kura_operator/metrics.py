"""Prometheus metrics of the operator, served on ``--metrics-port``."""

from __future__ import annotations

from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

PHASES = ("Pending", "Ready", "Error", "Degraded", "Terminating")


class PhaseGauge:
    """Objects of one kind by phase, from each object's last reported phase."""

    def __init__(self, gauge: Gauge) -> None:
        self.gauge = gauge
        self._phases: dict[str, str] = {}
        # Kept as objects come and go, not counted again at every record: a fleet of
        # thousands records a phase at every reconcile. Every phase ever reported keeps its
        # series, so the last object leaving one sets it to 0.
        self._counts: Tally[str] = Tally(dict.fromkeys(PHASES, 0))
        for phase in PHASES:
            gauge.labels(phase=phase).set(0)

    def record(self, key: str, phase: str | None) -> None:
        """Record an object's phase; ``None`` forgets a deleted object."""
        previous = self._phases.pop(key, None) if phase is None else self._phases.get(key)
        if phase is not None:
            self._phases[key] = phase
        if previous == phase:
            return
        for name, step in ((previous, -1), (phase, 1)):
            if name is not None:
                self._counts[name] += step
                self.gauge.labels(phase=name).set(self._counts[name])


class OperatorMetrics:
    """One registry per operator, so tests can run several without sharing counters."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.reconciles = Counter(
            "kura_operator_reconciles",
            (
                "Reconciles by kind and result: ok, invalid (the object is in phase Error), "
                "retry (a transient API error, retried with backoff) or error (a permanent API "
                "error, retried slowly, or a crash)."
            ),
            ["kind", "result"],
            registry=self.registry,
        )
        self.reconcile_duration = Histogram(
            "kura_operator_reconcile_duration_seconds",
            "Time spent in one reconcile.",
            ["kind"],
            registry=self.registry,
        )
        self.gateways = Gauge(
            "kura_operator_gateways",
            "KuraGateways by phase.",
            ["phase"],
            registry=self.registry,
        )
        self.instances = Gauge(
            "kura_operator_instances",
            "KuraInstances by phase.",
            ["phase"],
            registry=self.registry,
        )
        self.api_requests = Counter(
            "kura_operator_api_requests",
            "Kubernetes API requests by verb and HTTP status code (0: no answer).",
            ["verb", "code"],
            registry=self.registry,
        )
        self.state = Gauge(
            "kura_operator_state",
            "1 for the operator's state: active (the leader); standby (another process holds "
            "the leader Lease); paused (waiting for a blocking self-check problem to be fixed)",
            ["state"],
            registry=self.registry,
        )
        self.self_check_failed = Gauge(
            "kura_operator_self_check_failed",
            "1 while a self-check fails (a CRD not served, a permission)",
            ["check"],
            registry=self.registry,
        )
        self._failed_checks: set[str] = set()
        self._gateway_phases = PhaseGauge(self.gateways)
        self._instance_phases = PhaseGauge(self.instances)

    def operator_state(self, state: str, failed: set[str]) -> None:
        for name in ("active", "standby", "paused"):
            self.state.labels(state=name).set(1 if name == state else 0)
        # A check that passed again reads 0, so an alert on it resolves.
        self._failed_checks |= failed
        for check in self._failed_checks:
            self.self_check_failed.labels(check=check).set(1 if check in failed else 0)

    def api_request(self, verb: str, code: int) -> None:
        self.api_requests.labels(verb=verb, code=str(code)).inc()

    def gateway_phase(self, key: str, phase: str | None) -> None:
        """Record a gateway's phase; ``None`` forgets a deleted gateway."""
        self._gateway_phases.record(key, phase)

    def instance_phase(self, key: str, phase: str | None) -> None:
        """Record an instance's phase; ``None`` forgets a deleted instance."""
        self._instance_phases.record(key, phase)
