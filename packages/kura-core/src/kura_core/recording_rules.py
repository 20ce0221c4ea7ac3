"""Prometheus recording rules for the dashboard's gateway queries (``kura recording-rules``).

A refresh at a few hundred gateways spends most of Prometheus's time evaluating the same rates
every few seconds; recording rules evaluate them once per interval, for every reader, and the
dashboard then reads the recorded series (see :attr:`kura_core.metric_queries.GatewayQuery.record`).
Each ingress provider's queries become one rule group, ``kura-<provider>``, whose rules are the
gateway queries that name a record, with the query's PromQL as the rule's expression: the
recorded series are the query's answer under the record's name. A buckets query's percentiles
are recorded too, from the recorded buckets, so that a reader takes four series a gateway
rather than every bucket.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kura_core.errors import InputError
from kura_core.metric_queries import MetricQueries
from kura_core.units import Duration

DEFAULT_INTERVAL = Duration.parse("15s")
GROUP_PREFIX = "kura-"


def group_name(provider: str) -> str:
    """The rule group of an ingress provider's queries."""
    return f"{GROUP_PREFIX}{provider}"


def rule_groups(query_sets: Mapping[str, MetricQueries], interval: Duration) -> dict[str, Any]:
    """A Prometheus rule file (``rule_files``; the ``spec`` of a prometheus-operator
    PrometheusRule) with one group per ingress provider in ``query_sets``, evaluated every
    ``interval`` (whole seconds, as Prometheus writes durations)."""
    if interval.seconds < 1 or not float(interval.seconds).is_integer():
        raise InputError(f"a rule interval is whole seconds, at least 1s, not {interval}")
    groups = []
    for provider, queries in sorted(query_sets.items()):
        rules = [rule for query in queries.by_gateway for rule in query.recording_rules()]
        if rules:
            groups.append(
                {
                    "name": group_name(provider),
                    "interval": f"{interval.seconds:.0f}s",
                    "rules": rules,
                }
            )
    return {"groups": groups}
