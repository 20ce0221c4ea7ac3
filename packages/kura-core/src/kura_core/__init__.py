"""kura-core: the typed source of truth for Kura's regional cache gateways.

This module is kura-core's public API: what plugins (providers, the operator, the dashboard, the
smoke) may import, documented in ``docs/plugin-utilities.md``. Everything else in ``kura_core`` is
internal and may change. The names load on first use, so ``import kura_core`` stays cheap.
"""

from __future__ import annotations

import importlib
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kura_core.accounts import Account as Account
    from kura_core.accounts import Plan as Plan
    from kura_core.assignment import OVERRIDES_ENV as OVERRIDES_ENV
    from kura_core.assignment import GatewayAssignment as GatewayAssignment
    from kura_core.assignment import assign_gateway as assign_gateway
    from kura_core.assignment import parse_overrides as parse_overrides
    from kura_core.capacity import DEFAULT_COMPONENTS as DEFAULT_COMPONENTS
    from kura_core.capacity import REGIONAL_LB as REGIONAL_LB
    from kura_core.capacity import Ceiling as Ceiling
    from kura_core.capacity import Component as Component
    from kura_core.capacity import Shard as Shard
    from kura_core.certificates import DEFAULT_CLUSTER_ISSUER as DEFAULT_CLUSTER_ISSUER
    from kura_core.certificates import render_certificate as render_certificate
    from kura_core.cli.account_args import ACCOUNT_ID as ACCOUNT_ID
    from kura_core.cli.app import KuraGroup as KuraGroup
    from kura_core.cli.context import KuraContext as KuraContext
    from kura_core.cli.context import env_option as env_option
    from kura_core.cli.context import pass_kura as pass_kura
    from kura_core.cli.output import ClosableStdout as ClosableStdout
    from kura_core.cli.output import console as console
    from kura_core.cli.output import emit as emit
    from kura_core.cli.output import output_option as output_option
    from kura_core.cli.output import simple_table as simple_table
    from kura_core.cli.output import to_plain as to_plain
    from kura_core.cli.params import DATA_SIZE as DATA_SIZE
    from kura_core.cli.params import NON_EMPTY as NON_EMPTY
    from kura_core.cli.params import QuantityType as QuantityType
    from kura_core.dns import DNS_LABEL_PATTERN as DNS_LABEL_PATTERN
    from kura_core.dns import is_dns_label as is_dns_label
    from kura_core.dns import is_dns_subdomain as is_dns_subdomain
    from kura_core.dns import is_label_key as is_label_key
    from kura_core.dns import is_label_value as is_label_value
    from kura_core.errors import CatalogError as CatalogError
    from kura_core.errors import CheckFailed as CheckFailed
    from kura_core.errors import InputError as InputError
    from kura_core.errors import KuraError as KuraError
    from kura_core.errors import PluginError as PluginError
    from kura_core.errors import ProviderNotFoundError as ProviderNotFoundError
    from kura_core.errors import transport_reason as transport_reason
    from kura_core.files import list_items as list_items
    from kura_core.files import parse_yaml_stream as parse_yaml_stream
    from kura_core.files import read_text as read_text
    from kura_core.hookspecs import hookimpl as hookimpl
    from kura_core.kinds import BACKEND_TRAFFIC_POLICY as BACKEND_TRAFFIC_POLICY
    from kura_core.kinds import CERTIFICATE as CERTIFICATE
    from kura_core.kinds import CLIENT_TRAFFIC_POLICY as CLIENT_TRAFFIC_POLICY
    from kura_core.kinds import CONFIG_MAP as CONFIG_MAP
    from kura_core.kinds import DEPLOYMENT as DEPLOYMENT
    from kura_core.kinds import ENVOY_PROXY as ENVOY_PROXY
    from kura_core.kinds import EVENT as EVENT
    from kura_core.kinds import GATEWAY as GATEWAY
    from kura_core.kinds import GRPC_ROUTE as GRPC_ROUTE
    from kura_core.kinds import HTTP_ROUTE as HTTP_ROUTE
    from kura_core.kinds import HTTP_ROUTE_FILTER as HTTP_ROUTE_FILTER
    from kura_core.kinds import INGRESS as INGRESS
    from kura_core.kinds import INGRESS_CLASS as INGRESS_CLASS
    from kura_core.kinds import KINDS as KINDS
    from kura_core.kinds import KURA_GATEWAY as KURA_GATEWAY
    from kura_core.kinds import KURA_INSTANCE as KURA_INSTANCE
    from kura_core.kinds import LEASE as LEASE
    from kura_core.kinds import LISTENER_SET as LISTENER_SET
    from kura_core.kinds import NETWORK_POLICY as NETWORK_POLICY
    from kura_core.kinds import POD as POD
    from kura_core.kinds import POD_DISRUPTION_BUDGET as POD_DISRUPTION_BUDGET
    from kura_core.kinds import SECRET as SECRET
    from kura_core.kinds import SERVICE as SERVICE
    from kura_core.kinds import STATEFUL_SET as STATEFUL_SET
    from kura_core.kinds import Kind as Kind
    from kura_core.kinds import kind_of as kind_of
    from kura_core.kinds import object_key as object_key
    from kura_core.ladder import AccountDemand as AccountDemand
    from kura_core.ladder import Recommendation as Recommendation
    from kura_core.ladder import Thresholds as Thresholds
    from kura_core.ladder import recommend as recommend
    from kura_core.manifests import DEFAULT_IMAGE as DEFAULT_IMAGE
    from kura_core.manifests import GatewayOptions as GatewayOptions
    from kura_core.manifests import InstanceOptions as InstanceOptions
    from kura_core.manifests import render_gateway as render_gateway
    from kura_core.manifests import render_instance as render_instance
    from kura_core.manifests import render_manifests as render_manifests
    from kura_core.metric_queries import QUANTILE_LABEL as QUANTILE_LABEL
    from kura_core.metric_queries import QUANTILES as QUANTILES
    from kura_core.metric_queries import STATUS_CLASS_LABEL as STATUS_CLASS_LABEL
    from kura_core.metric_queries import GatewayQuery as GatewayQuery
    from kura_core.metric_queries import Metric as Metric
    from kura_core.metric_queries import MetricQueries as MetricQueries
    from kura_core.metric_queries import Readings as Readings
    from kura_core.metric_queries import Sample as Sample
    from kura_core.metric_queries import Shape as Shape
    from kura_core.names import dedicated_ingress_class as dedicated_ingress_class
    from kura_core.names import dedicated_load_balancer_name as dedicated_load_balancer_name
    from kura_core.names import gateway_name as gateway_name
    from kura_core.names import gateway_workload_name as gateway_workload_name
    from kura_core.names import instance_name as instance_name
    from kura_core.names import regional_gateway_values_key as regional_gateway_values_key
    from kura_core.names import regional_ingress_class as regional_ingress_class
    from kura_core.names import regional_load_balancer_name as regional_load_balancer_name
    from kura_core.names import require_own_load_balancer as require_own_load_balancer
    from kura_core.ownership import MANAGED_BY as MANAGED_BY
    from kura_core.ownership import MANAGED_BY_LABEL as MANAGED_BY_LABEL
    from kura_core.ownership import child_metadata as child_metadata
    from kura_core.ownership import gateway_labels as gateway_labels
    from kura_core.ownership import instance_labels as instance_labels
    from kura_core.ownership import owner_references as owner_references
    from kura_core.plugins import PluginHost as PluginHost
    from kura_core.providers import (
        DEFAULT_GATEWAY_SERVICE_ACCOUNT as DEFAULT_GATEWAY_SERVICE_ACCOUNT,
    )
    from kura_core.providers import IngressProvider as IngressProvider
    from kura_core.providers import LoadBalancerProvider as LoadBalancerProvider
    from kura_core.providers import LoadBalancerTraffic as LoadBalancerTraffic
    from kura_core.providers import LoadBalancerTrafficReader as LoadBalancerTrafficReader
    from kura_core.providers import LoadBalancerTrafficSupport as LoadBalancerTrafficSupport
    from kura_core.providers import ignored_annotations_warning as ignored_annotations_warning
    from kura_core.regions import DEFAULT_INGRESS_PROVIDER as DEFAULT_INGRESS_PROVIDER
    from kura_core.regions import DEFAULT_LOAD_BALANCER_PROVIDER as DEFAULT_LOAD_BALANCER_PROVIDER
    from kura_core.regions import Region as Region
    from kura_core.regions import RegionCatalog as RegionCatalog
    from kura_core.regions import catalog_for as catalog_for
    from kura_core.regions import load_catalog_file as load_catalog_file
    from kura_core.resources import ACCOUNT_LABEL as ACCOUNT_LABEL
    from kura_core.resources import API_VERSION as API_VERSION
    from kura_core.resources import DEFAULT_CONTROLLER_IMAGE as DEFAULT_CONTROLLER_IMAGE
    from kura_core.resources import DEFAULT_GATEWAY_REPLICAS as DEFAULT_GATEWAY_REPLICAS
    from kura_core.resources import DEFAULT_INSTANCE_INGRESS_CLASS as DEFAULT_INSTANCE_INGRESS_CLASS
    from kura_core.resources import DEFAULT_INSTANCE_NODE_SELECTOR as DEFAULT_INSTANCE_NODE_SELECTOR
    from kura_core.resources import DEFAULT_INSTANCE_REPLICAS as DEFAULT_INSTANCE_REPLICAS
    from kura_core.resources import DEFAULT_STORAGE_SIZE as DEFAULT_STORAGE_SIZE
    from kura_core.resources import GATEWAY_ANNOTATION as GATEWAY_ANNOTATION
    from kura_core.resources import GATEWAY_FINALIZER as GATEWAY_FINALIZER
    from kura_core.resources import GATEWAY_KIND as GATEWAY_KIND
    from kura_core.resources import GROUP as GROUP
    from kura_core.resources import INSTANCE_FINALIZER as INSTANCE_FINALIZER
    from kura_core.resources import INSTANCE_KIND as INSTANCE_KIND
    from kura_core.resources import MANIFEST_REVISION_ANNOTATION as MANIFEST_REVISION_ANNOTATION
    from kura_core.resources import NAMESPACE as NAMESPACE
    from kura_core.resources import REGION_LABEL as REGION_LABEL
    from kura_core.resources import VERSION as VERSION
    from kura_core.resources import Condition as Condition
    from kura_core.resources import EnvVar as EnvVar
    from kura_core.resources import KuraGateway as KuraGateway
    from kura_core.resources import KuraGatewayStatus as KuraGatewayStatus
    from kura_core.resources import KuraInstance as KuraInstance
    from kura_core.resources import ObjectMeta as ObjectMeta
    from kura_core.resources import parse_gateway as parse_gateway
    from kura_core.resources import parse_instance as parse_instance
    from kura_core.resources import to_manifest as to_manifest
    from kura_core.scenario import DEFAULT_SCENARIO as DEFAULT_SCENARIO
    from kura_core.scenario import Scenario as Scenario
    from kura_core.simulator import DEFAULT_SIMULATION as DEFAULT_SIMULATION
    from kura_core.simulator import GatewayKind as GatewayKind
    from kura_core.simulator import Simulator as Simulator
    from kura_core.simulator import Tick as Tick
    from kura_core.simulator import load_simulation as load_simulation
    from kura_core.simulator import shard_ingress_class as shard_ingress_class
    from kura_core.status import READY_CONDITION as READY_CONDITION
    from kura_core.status import make_gateway_status as make_gateway_status
    from kura_core.status import ready_condition as ready_condition
    from kura_core.units import Bandwidth as Bandwidth
    from kura_core.units import DataSize as DataSize
    from kura_core.units import Duration as Duration
    from kura_core.urls import is_loopback as is_loopback
    from kura_core.validation import validation_problems as validation_problems

# Public name -> the module that defines it.
_PUBLIC: dict[str, str] = {
    "Kind": "kura_core.kinds",
    "KINDS": "kura_core.kinds",
    "kind_of": "kura_core.kinds",
    "object_key": "kura_core.kinds",
    "KURA_GATEWAY": "kura_core.kinds",
    "KURA_INSTANCE": "kura_core.kinds",
    "CONFIG_MAP": "kura_core.kinds",
    "SERVICE": "kura_core.kinds",
    "SECRET": "kura_core.kinds",
    "EVENT": "kura_core.kinds",
    "POD": "kura_core.kinds",
    "DEPLOYMENT": "kura_core.kinds",
    "STATEFUL_SET": "kura_core.kinds",
    "INGRESS": "kura_core.kinds",
    "INGRESS_CLASS": "kura_core.kinds",
    "NETWORK_POLICY": "kura_core.kinds",
    "POD_DISRUPTION_BUDGET": "kura_core.kinds",
    "LEASE": "kura_core.kinds",
    "CERTIFICATE": "kura_core.kinds",
    "GATEWAY": "kura_core.kinds",
    "LISTENER_SET": "kura_core.kinds",
    "HTTP_ROUTE": "kura_core.kinds",
    "GRPC_ROUTE": "kura_core.kinds",
    "ENVOY_PROXY": "kura_core.kinds",
    "CLIENT_TRAFFIC_POLICY": "kura_core.kinds",
    "BACKEND_TRAFFIC_POLICY": "kura_core.kinds",
    "HTTP_ROUTE_FILTER": "kura_core.kinds",
    "Shape": "kura_core.metric_queries",
    "STATUS_CLASS_LABEL": "kura_core.metric_queries",
    "QUANTILES": "kura_core.metric_queries",
    "QUANTILE_LABEL": "kura_core.metric_queries",
    "Sample": "kura_core.metric_queries",
    "Readings": "kura_core.metric_queries",
    "GatewayQuery": "kura_core.metric_queries",
    "is_loopback": "kura_core.urls",
    "EnvVar": "kura_core.resources",
    "DEFAULT_LOAD_BALANCER_PROVIDER": "kura_core.regions",
    "DEFAULT_INGRESS_PROVIDER": "kura_core.regions",
    "ignored_annotations_warning": "kura_core.providers",
    "require_own_load_balancer": "kura_core.names",
    "console": "kura_core.cli.output",
    "Duration": "kura_core.units",
    "regional_ingress_class": "kura_core.names",
    "gateway_name": "kura_core.names",
    "dedicated_ingress_class": "kura_core.names",
    "CatalogError": "kura_core.errors",
    "CheckFailed": "kura_core.errors",
    "InputError": "kura_core.errors",
    "KuraError": "kura_core.errors",
    "PluginError": "kura_core.errors",
    "ProviderNotFoundError": "kura_core.errors",
    "transport_reason": "kura_core.errors",
    "hookimpl": "kura_core.hookspecs",
    "DEFAULT_GATEWAY_SERVICE_ACCOUNT": "kura_core.providers",
    "IngressProvider": "kura_core.providers",
    "LoadBalancerProvider": "kura_core.providers",
    "LoadBalancerTraffic": "kura_core.providers",
    "LoadBalancerTrafficReader": "kura_core.providers",
    "LoadBalancerTrafficSupport": "kura_core.providers",
    "PluginHost": "kura_core.plugins",
    "Region": "kura_core.regions",
    "RegionCatalog": "kura_core.regions",
    "catalog_for": "kura_core.regions",
    "load_catalog_file": "kura_core.regions",
    "ACCOUNT_LABEL": "kura_core.resources",
    "API_VERSION": "kura_core.resources",
    "Condition": "kura_core.resources",
    "DEFAULT_CONTROLLER_IMAGE": "kura_core.resources",
    "DEFAULT_GATEWAY_REPLICAS": "kura_core.resources",
    "DEFAULT_INSTANCE_INGRESS_CLASS": "kura_core.resources",
    "DEFAULT_INSTANCE_NODE_SELECTOR": "kura_core.resources",
    "DEFAULT_INSTANCE_REPLICAS": "kura_core.resources",
    "DEFAULT_STORAGE_SIZE": "kura_core.resources",
    "GATEWAY_ANNOTATION": "kura_core.resources",
    "GATEWAY_FINALIZER": "kura_core.resources",
    "GATEWAY_KIND": "kura_core.resources",
    "GROUP": "kura_core.resources",
    "INSTANCE_FINALIZER": "kura_core.resources",
    "INSTANCE_KIND": "kura_core.resources",
    "KuraGateway": "kura_core.resources",
    "KuraGatewayStatus": "kura_core.resources",
    "KuraInstance": "kura_core.resources",
    "MANIFEST_REVISION_ANNOTATION": "kura_core.resources",
    "NAMESPACE": "kura_core.resources",
    "ObjectMeta": "kura_core.resources",
    "REGION_LABEL": "kura_core.resources",
    "VERSION": "kura_core.resources",
    "parse_gateway": "kura_core.resources",
    "parse_instance": "kura_core.resources",
    "to_manifest": "kura_core.resources",
    "MANAGED_BY": "kura_core.ownership",
    "MANAGED_BY_LABEL": "kura_core.ownership",
    "owner_references": "kura_core.ownership",
    "gateway_labels": "kura_core.ownership",
    "instance_labels": "kura_core.ownership",
    "child_metadata": "kura_core.ownership",
    "DEFAULT_CLUSTER_ISSUER": "kura_core.certificates",
    "render_certificate": "kura_core.certificates",
    "READY_CONDITION": "kura_core.status",
    "ready_condition": "kura_core.status",
    "make_gateway_status": "kura_core.status",
    "dedicated_load_balancer_name": "kura_core.names",
    "gateway_workload_name": "kura_core.names",
    "instance_name": "kura_core.names",
    "regional_gateway_values_key": "kura_core.names",
    "regional_load_balancer_name": "kura_core.names",
    "DNS_LABEL_PATTERN": "kura_core.dns",
    "is_dns_label": "kura_core.dns",
    "is_dns_subdomain": "kura_core.dns",
    "is_label_key": "kura_core.dns",
    "is_label_value": "kura_core.dns",
    "Bandwidth": "kura_core.units",
    "DataSize": "kura_core.units",
    "Ceiling": "kura_core.capacity",
    "Component": "kura_core.capacity",
    "DEFAULT_COMPONENTS": "kura_core.capacity",
    "REGIONAL_LB": "kura_core.capacity",
    "Shard": "kura_core.capacity",
    "Metric": "kura_core.metric_queries",
    "MetricQueries": "kura_core.metric_queries",
    "Account": "kura_core.accounts",
    "Plan": "kura_core.accounts",
    "GatewayAssignment": "kura_core.assignment",
    "OVERRIDES_ENV": "kura_core.assignment",
    "assign_gateway": "kura_core.assignment",
    "parse_overrides": "kura_core.assignment",
    "DEFAULT_IMAGE": "kura_core.manifests",
    "render_gateway": "kura_core.manifests",
    "GatewayOptions": "kura_core.manifests",
    "InstanceOptions": "kura_core.manifests",
    "render_instance": "kura_core.manifests",
    "render_manifests": "kura_core.manifests",
    "AccountDemand": "kura_core.ladder",
    "Recommendation": "kura_core.ladder",
    "Thresholds": "kura_core.ladder",
    "recommend": "kura_core.ladder",
    "DEFAULT_SCENARIO": "kura_core.scenario",
    "Scenario": "kura_core.scenario",
    "DEFAULT_SIMULATION": "kura_core.simulator",
    "GatewayKind": "kura_core.simulator",
    "Simulator": "kura_core.simulator",
    "Tick": "kura_core.simulator",
    "load_simulation": "kura_core.simulator",
    "shard_ingress_class": "kura_core.simulator",
    "list_items": "kura_core.files",
    "parse_yaml_stream": "kura_core.files",
    "read_text": "kura_core.files",
    "validation_problems": "kura_core.validation",
    "KuraGroup": "kura_core.cli.app",
    "KuraContext": "kura_core.cli.context",
    "env_option": "kura_core.cli.context",
    "pass_kura": "kura_core.cli.context",
    "ClosableStdout": "kura_core.cli.output",
    "emit": "kura_core.cli.output",
    "output_option": "kura_core.cli.output",
    "simple_table": "kura_core.cli.output",
    "to_plain": "kura_core.cli.output",
    "DATA_SIZE": "kura_core.cli.params",
    "NON_EMPTY": "kura_core.cli.params",
    "QuantityType": "kura_core.cli.params",
    "ACCOUNT_ID": "kura_core.cli.account_args",
}

__version__ = version("kura-core")

__all__ = ["__version__", *sorted(_PUBLIC)]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'kura_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
