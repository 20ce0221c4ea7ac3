"""Gateway metrics from Prometheus, with the PromQL each region's ingress provider supplies.

One refresh sends each distinct provider query set's gateway queries (instant, each aggregated by
the provider's gateway label, some answering several metrics), so the number of queries does not
grow with the number of gateways. They go out together, one thread each, and each answer is read
as it arrives: Prometheus evaluates them side by side while the dashboard reads the others, and a
remote Prometheus costs one round trip a refresh, not one per query.

The client (:mod:`kura_dashboard.data.sources.prometheus_api`) gets a short timeout and no
retries: the dashboard must show a dead Prometheus at once. A refresh fails with its first query's
connection failure (in query order), so a dead Prometheus costs one timeout a refresh, and the
refresh says why in words.

Where Prometheus has kura's recording rules loaded (``kura recording-rules``), a query whose rules
it reports healthy reads the recorded series instead: the same series, evaluated once per rule
interval rather than at every refresh. Which rules are loaded is asked alongside a refresh's
queries (``/api/v1/rules``, not a query) at the first refresh and then once a minute, and used
from the next refresh on; any other query, and every query when the rules cannot be read, is
sent as is. The source's status says which it was.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any

from kura_core import GatewayQuery, Metric, MetricQueries, Readings, Sample
from kura_dashboard.data.readings import GatewayMetrics, MetricsReadout, SourceError
from kura_dashboard.data.sources.prometheus_api import NOT_THE_API, PrometheusApi, QueryError

DEFAULT_TIMEOUT = 2.0
# Seconds between looks at which recording rules Prometheus has loaded.
RULES_RECHECK = 60.0
# GatewayMetrics' field of each metric, looked up once rather than through Enum.value per sample.
_FIELDS = {metric: metric.value for metric in Metric}


def _samples(results: list[dict[str, Any]]) -> Iterator[Sample]:
    """Each instant-vector element's labels and value; Prometheus sends numbers as strings.
    A series without its labels or its value pair is not Prometheus's: :class:`QueryError`."""
    for result in results:
        try:
            labels, value = result["metric"], float(result["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            raise QueryError(200, NOT_THE_API) from None
        if not isinstance(labels, dict):
            raise QueryError(200, NOT_THE_API)
        yield labels, value


class PrometheusSource:
    """Reads every gateway's metrics with a constant number of instant queries."""

    name = "prometheus"

    def __init__(
        self,
        url: str,
        query_sets: Sequence[MetricQueries],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        evaluation_time: float | None = None,
    ) -> None:
        """``evaluation_time`` evaluates every query at that instant instead of now."""
        unique: dict[str, MetricQueries] = {}
        for queries in query_sets:
            unique.setdefault(queries.model_dump_json(), queries)
        self.query_sets = tuple(unique.values())
        self.evaluation_time = evaluation_time
        self.queries_sent = 0
        # Every record this source's queries read, and, by what Prometheus last reported loaded
        # and healthy, what each query sends: (query, its gateway label, PromQL, recorded).
        self._ours = frozenset(
            name for queries in self.query_sets for q in queries.by_gateway for name in q.records
        )
        self._plan = self._planned(frozenset())
        self._rules_checked: float | None = None
        self._rules_problem = ""
        # A thread and a connection per query, and one for the rules: they go out together.
        workers = self.queries_per_refresh + 1
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="prometheus")
        self._api = PrometheusApi(url, timeout=timeout, maxsize=workers)
        # The URL without credentials: the header shows it.
        self.target = self._api.url

    @property
    def queries_per_refresh(self) -> int:
        return sum(len(queries.by_gateway) for queries in self.query_sets)

    def fetch(self, now: float) -> list[MetricsReadout]:
        at = self.evaluation_time if self.evaluation_time is not None else now
        checked = self._rules_checked
        rules = (
            self._pool.submit(self._loaded_records)
            if checked is None or now - checked >= RULES_RECHECK
            else None
        )
        jobs = [
            (query, recorded, self._pool.submit(self._read, query, label, promql, recorded, at))
            for query, label, promql, recorded in self._plan
        ]
        self.queries_sent += len(jobs)
        values: dict[str, dict[str, float | None]] = {}
        problems: list[str] = []
        for query, _, job in jobs:
            try:
                readings = job.result()
            except QueryError as exc:
                names = ", ".join(query.metrics)
                problems.append(f"{names} query failed: {exc}")
                continue
            for gateway, read in readings.items():
                fields = values.setdefault(gateway, {})
                for metric, value in read.items():
                    fields[_FIELDS[metric]] = value
        if problems and len(problems) == len(jobs):
            raise SourceError(f"every query failed; {problems[0]}", unreachable=False)
        note = self._note(sum(recorded for _, recorded, _ in jobs), len(jobs))
        if rules is not None:
            # Sent with the queries, so answered by now; it decides the next refresh's queries.
            # Unanswered, it is asked again next time: the queries say what is wrong.
            with suppress(SourceError):
                records, self._rules_problem = rules.result()
                self._plan = self._planned(records)
                self._rules_checked = now
        gateways = {label: GatewayMetrics(**fields) for label, fields in values.items()}
        return [MetricsReadout(at, gateways, tuple(problems), note=note)]

    def _note(self, recorded: int, queries: int) -> str:
        if recorded == queries:
            return "recording rules"
        if recorded:
            return f"recording rules for {recorded} of {queries} queries"
        if self._rules_checked is None:
            return "raw queries"
        return f"raw queries: {self._rules_problem or 'no kura recording rules loaded'}"

    def _planned(self, records: frozenset[str]) -> list[tuple[GatewayQuery, str, str, bool]]:
        """Each query, read from its records when every one of them is in ``records``."""
        plan = []
        for queries in self.query_sets:
            label = queries.gateway_label
            for query in queries.by_gateway:
                # A query without records has no recorded form: it is sent as is.
                recorded = query.recorded(label) if records.issuperset(query.records) else None
                plan.append((query, label, recorded or query.promql, recorded is not None))
        return plan

    def _read(
        self, query: GatewayQuery, gateway_label: str, promql: str, recorded: bool, at: float
    ) -> Readings:
        samples = _samples(self._api.query(promql, at))
        if recorded:
            return query.read_recorded(samples, gateway_label)
        return query.read(samples, gateway_label)

    def _loaded_records(self) -> tuple[frozenset[str], str]:
        """The records of this source's queries whose rules Prometheus reports loaded and
        healthy, or none and why."""
        try:
            groups = self._api.recording_rules()
        except QueryError as exc:
            return frozenset(), f"cannot read Prometheus's rules: {exc}"
        # A record counts only when every rule recording it is healthy (the four percentiles
        # of a histogram are four rules of one name).
        health: dict[str, set[str]] = {}
        try:
            for group in groups:
                for rule in group["rules"]:
                    if rule.get("type") == "recording":
                        health.setdefault(rule["name"], set()).add(rule.get("health"))
        except (KeyError, TypeError, AttributeError):
            return frozenset(), "cannot read Prometheus's rules: not a rules answer"
        return frozenset(name for name in self._ours if health.get(name) == {"ok"}), ""

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._api.close()
