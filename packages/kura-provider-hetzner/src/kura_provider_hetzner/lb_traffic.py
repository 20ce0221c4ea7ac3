"""Load balancers' bandwidth in and out and open connections, from the Hetzner metrics API.

The ``hetzner`` provider's :class:`~kura_core.providers.LoadBalancerTrafficReader`: the official
``hcloud`` client over real HTTP, one session per reader. Names become ids through one cached
listing; each read then asks ``GET /load_balancers/{id}/metrics?type=bandwidth,open_connections``
once per load balancer: both types in one request. Imports hcloud, so only
:meth:`HetznerLoadBalancerProvider.traffic_reader` loads it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hcloud import APIException
from hcloud.load_balancers import LoadBalancer
from hcloud.metrics import TimeSeries

from kura_core import LoadBalancerTraffic
from kura_provider_hetzner.hcloud_api import HcloudSession
from kura_provider_hetzner.inventory import HcloudSettings

# Seconds between the samples asked for.
STEP = 60
# Five steps back from now: the latest sample is found even when Hetzner publishes it late, and
# the series stays far below the API's cap of 500 samples.
WINDOW = timedelta(seconds=5 * STEP)
# A requested name missing from the cached listing lists again only once the listing is this old
# (seconds), so a deleted or renamed load balancer does not cost a listing on every read.
RELIST_AFTER = 600.0
BANDWIDTH_IN = "bandwidth.in"
BANDWIDTH_OUT = "bandwidth.out"
OPEN_CONNECTIONS = "open_connections"


def _latest(series: TimeSeries, name: str) -> tuple[float, str] | None:
    """The latest ``(timestamp, value)`` of one series, or ``None`` when it has none."""
    found = series.get(name)
    if not found or not found["values"]:
        return None
    timestamp, value = max(found["values"], key=lambda sample: float(sample[0]))
    return float(timestamp), value


def _rate(sample: tuple[float, str] | None) -> float | None:
    """Bytes per second from the API's decimal string; a non-finite one is no figure."""
    if sample is None:
        return None
    rate = float(sample[1])
    return rate if math.isfinite(rate) else None


def latest_traffic(name: str, series: TimeSeries, *, now: float) -> LoadBalancerTraffic:
    """The latest sample of ``bandwidth.in``, ``bandwidth.out`` and ``open_connections``, each.

    ``at`` is the latest of the samples' timestamps; with no sample at all it is ``now`` and
    every figure is ``None``.
    """
    latest_in = _latest(series, BANDWIDTH_IN)
    latest_out = _latest(series, BANDWIDTH_OUT)
    latest_open = _latest(series, OPEN_CONNECTIONS)
    stamps = [sample[0] for sample in (latest_in, latest_out, latest_open) if sample is not None]
    return LoadBalancerTraffic(
        name=name,
        at=max(stamps, default=now),
        bytes_in=_rate(latest_in),
        bytes_out=_rate(latest_out),
        open_connections=_rate(latest_open),
    )


class HetznerTrafficReader:
    """Reads load balancers' bandwidth for the dashboard, one metrics request per LB per read."""

    # The API's budget of 3,600 requests an hour per project is shared with the hcloud CCM. One
    # request per load balancer per read, a read a minute, is 60 an hour per region: a few
    # regions stay far below it. A minute is also the step asked for, so reading more often
    # brings no new sample.
    resolution: float = float(STEP)

    def __init__(self, settings: HcloudSettings) -> None:
        self.target = settings.endpoint
        self._session = HcloudSession(settings)
        self._ids: dict[str, int] = {}
        self._listed_at: float | None = None

    def traffic(self, names: Sequence[str], *, now: float) -> dict[str, LoadBalancerTraffic]:
        wanted = list(dict.fromkeys(names))
        if not wanted:
            return {}
        end = datetime.fromtimestamp(now, UTC)
        found: dict[str, LoadBalancerTraffic] = {}
        with self._session.errors(now=end):
            self._list_if_stale(wanted, now)
            for name in wanted:
                lb_id = self._ids.get(name)
                if lb_id is None:
                    continue
                series = self._series(lb_id, end)
                if series is None:
                    # Deleted since the listing: forget it so a later read may list again.
                    del self._ids[name]
                    continue
                found[name] = latest_traffic(name, series, now=now)
        return found

    def close(self) -> None:
        self._session.close()

    def _list_if_stale(self, names: Sequence[str], now: float) -> None:
        if self._listed_at is not None:
            missing = any(name not in self._ids for name in names)
            if not missing or now - self._listed_at <= RELIST_AFTER:
                return
        listed = self._session.client.load_balancers.get_all()
        self._ids = {lb.name: lb.id for lb in listed if lb.name is not None and lb.id is not None}
        self._listed_at = now

    def _series(self, lb_id: int, end: datetime) -> TimeSeries | None:
        """One load balancer's bandwidth and connection series, or ``None`` when the API knows no
        such id."""
        try:
            answer = self._session.client.load_balancers.get_metrics(
                LoadBalancer(id=lb_id),
                type=["bandwidth", "open_connections"],
                start=end - WINDOW,
                end=end,
                step=STEP,
            )
        except APIException as exc:
            if exc.code == "not_found":
                return None
            raise
        return answer.metrics.time_series
