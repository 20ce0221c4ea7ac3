"""Hetzner Cloud load-balancer types and their limits (docs/capacity.md).

Hetzner publishes connection, service, target and certificate limits per type, but no bandwidth;
included traffic differs per location, so it is read from the API, never kept here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field

from kura_core import InputError

# The CCM creates this type when a Service sets no `type` annotation (HCLOUD_LOAD_BALANCERS_TYPE).
DEFAULT_TYPE = "lb11"


class LoadBalancerTypeLimits(BaseModel):
    """What one load balancer of a type can hold, as the API's ``load_balancer_type`` reports it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    max_connections: int = Field(gt=0, description="Open connections at once")
    max_services: int = Field(gt=0, description="Listen ports")
    max_targets: int = Field(gt=0)
    max_assigned_certificates: int = Field(gt=0)
    verified: bool = Field(description="Every figure is confirmed by a primary source")

    def summary(self) -> str:
        """One line for a capacity component's source: ``lb11: 20,000 connections, ...``."""
        note = "" if self.verified else " (partly unverified)"
        return (
            f"{self.name}: {self.max_connections:,} connections, {self.max_services} services, "
            f"{self.max_targets} targets, {self.max_assigned_certificates} certificates{note}"
        )


LOAD_BALANCER_TYPES: Mapping[str, LoadBalancerTypeLimits] = MappingProxyType(
    {
        limits.name: limits
        for limits in (
            # Matches the API docs example mirrored in hcloud-python's load-balancer fixture.
            LoadBalancerTypeLimits(
                name="lb11",
                max_connections=20_000,
                max_services=5,
                max_targets=25,
                max_assigned_certificates=10,
                verified=True,
            ),
            # Services, targets and certificates match hcloud-python's type fixture; the
            # connection figure is the pricing page's, which could not be consulted: unverified.
            LoadBalancerTypeLimits(
                name="lb21",
                max_connections=40_000,
                max_services=15,
                max_targets=75,
                max_assigned_certificates=25,
                verified=False,
            ),
            # Every figure is the widely quoted pricing-page one: unverified.
            LoadBalancerTypeLimits(
                name="lb31",
                max_connections=80_000,
                max_services=30,
                max_targets=150,
                max_assigned_certificates=50,
                verified=False,
            ),
        )
    }
)


def limits(type_name: str) -> LoadBalancerTypeLimits:
    """The limits of ``type_name`` (``lb11``...); an unknown type is an :class:`InputError`."""
    try:
        return LOAD_BALANCER_TYPES[type_name]
    except KeyError:
        raise InputError(
            f"unknown Hetzner load-balancer type {type_name!r} "
            f"(known: {', '.join(LOAD_BALANCER_TYPES)})"
        ) from None
