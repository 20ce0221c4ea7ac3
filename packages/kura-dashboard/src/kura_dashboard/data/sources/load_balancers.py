"""Each region's load balancer traffic, as the cloud measured it, through the LB providers.

A region's shared gateway sits behind one load balancer named by kura_core
(``regional_load_balancer_name``). Its load-balancer provider reads the figures when it can
(:class:`~kura_core.providers.LoadBalancerTrafficSupport`) and has credentials. One read asks
each provider once, for all its regions' load balancers; dedicated gateways' load balancers are
not read, since the API's request budget does not stretch to hundreds of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kura_core import KuraError, LoadBalancerTraffic, LoadBalancerTrafficReader
from kura_dashboard.data.readings import SourceError, TrafficReadout


@dataclass(frozen=True)
class ReaderRegions:
    """One provider's reader and the load balancer it reads for each of its regions."""

    provider: str
    reader: LoadBalancerTrafficReader
    load_balancers: Mapping[str, str]


class LoadBalancerSource:
    """Reads the regional load balancers' bandwidth in and out."""

    name = "load balancers"

    def __init__(self, readers: Sequence[ReaderRegions]) -> None:
        if not readers:
            raise ValueError("a load balancer source needs at least one reader")
        self.readers = tuple(readers)
        self.target = ", ".join(dict.fromkeys(r.reader.target for r in self.readers))
        self.interval = max(r.reader.resolution for r in self.readers)

    def fetch(self, now: float) -> TrafficReadout:
        found: dict[str, LoadBalancerTraffic] = {}
        problems: list[str] = []
        failures: list[str] = []
        for entry in self.readers:
            try:
                traffic = entry.reader.traffic(sorted(set(entry.load_balancers.values())), now=now)
            except KuraError as exc:
                failures.append(f"{entry.provider}: {exc}")
                continue
            for region, name in sorted(entry.load_balancers.items()):
                if name in traffic:
                    found[region] = traffic[name]
                else:
                    problems.append(f"no load balancer named {name} (region {region})")
        if failures and len(failures) == len(self.readers):
            raise SourceError("; ".join(failures))
        return TrafficReadout(now, found, (*failures, *problems))
