"""KuraInstance reconcile: upstream's order, idempotent, with no writes when nothing changed.

1. Validate and render everything first (spec, region, ingress provider, routes), so bad input
   gets phase Error and applies nothing.
2. Add the finalizer ``kurainstances.kura.tuist.dev/finalizer``.
3. Apply the extension ConfigMap (with a script), the headless Service, the account peer Service
   (cross-region peering only; otherwise retire it once no instance of the account peers), the
   primary Service (sticky primary pod: the current one while Ready, else the lowest Ready
   ordinal).
4. Delete the legacy ``<inst>-grpc`` and ``<inst>-peer`` Services, read first and only when
   labelled as made by kura.
5. Apply the ingress provider's Ingresses and Certificates (the class from the spec); after a
   spec change or a revision bump, delete the route objects of this instance it no longer renders.
6. Keep the peer TLS Secret (generated only when missing or unusable), then the NetworkPolicy,
   the PodDisruptionBudget (deleted again at one replica) and the StatefulSet.
7. Compute status from the StatefulSet, the IngressClass and the peer TLS Secret.

Every child is read first and applied only when it differs, except that a new value of the
annotation ``tuist.dev/kura-manifest-revision`` (compared with ``status.appliedManifestRevision``)
re-applies every child once: that is how deployed instances pick up a new topology. Deletion
removes the account peer Service with the account's last peering instance (read first), then the
finalizer; everything else goes with its owner reference. A failed API request shows in the
status as the base class says: Degraded while some of the StatefulSet's pods are Ready.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kura_core import (
    ACCOUNT_LABEL,
    BACKEND_TRAFFIC_POLICY,
    CERTIFICATE,
    GATEWAY,
    GRPC_ROUTE,
    HTTP_ROUTE,
    HTTP_ROUTE_FILTER,
    INGRESS,
    INGRESS_CLASS,
    INSTANCE_FINALIZER,
    KURA_INSTANCE,
    LISTENER_SET,
    MANIFEST_REVISION_ANNOTATION,
    POD,
    POD_DISRUPTION_BUDGET,
    SECRET,
    SERVICE,
    STATEFUL_SET,
    InputError,
    Kind,
    KuraInstance,
    is_dns_label,
    kind_of,
    object_key,
    parse_instance,
)
from kura_kube import KubeError
from kura_operator.conditions import ERROR, error_status
from kura_operator.convergence import with_applied_hash
from kura_operator.instance_checks import check_instance
from kura_operator.instance_env import legacy_env_notice
from kura_operator.instance_layout import (
    INSTANCE_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    SHARED_SECRETS,
    account_peer_service_name,
    cross_region_enabled,
    generated_peer_tls_secret_name,
    is_ours,
    legacy_service_names,
    namespace_of,
    selector_labels,
)
from kura_operator.instance_network import (
    render_account_peer_service,
    render_headless_service,
    render_network_policy,
    render_primary_service,
)
from kura_operator.instance_status import (
    KIND_NOT_SERVED,
    condition_reason,
    instance_status,
    rollout,
)
from kura_operator.instance_workload import (
    claim_template,
    render_extension_config_map,
    render_pod_disruption_budget,
    render_stateful_set,
)
from kura_operator.peer_tls import (
    decode_secret_data,
    generate_peer_tls,
    peer_tls_problem,
    render_peer_tls_secret,
)
from kura_operator.primary import choose_primary, current_primary
from kura_operator.reconciler import Reconciler, owned_by
from kura_operator.writer import Log

Key = tuple[str, str]
# Status fields a later status may no longer have: a host taken out, the revision annotation
# removed. Anything else is always written or kept.
LEGACY_ENV = "LegacyEnvMigrated"
REMOVABLE_STATUS = ("publicURL", "grpcPublicURL", "appliedManifestRevision")
# What routes an instance's public traffic, whichever ingress provider renders it. A region
# that moves to another provider leaves the old provider's routes behind, to be pruned.
ROUTE_KINDS: tuple[Kind, ...] = (
    INGRESS,
    LISTENER_SET,
    HTTP_ROUTE,
    GRPC_ROUTE,
    BACKEND_TRAFFIC_POLICY,
    HTTP_ROUTE_FILTER,
    CERTIFICATE,
)


@dataclass(frozen=True)
class DesiredInstance:
    """A valid instance and the children that do not depend on live state, hashed."""

    instance: KuraInstance
    extension: dict[str, Any] | None
    headless: dict[str, Any]
    account_peers: dict[str, Any] | None
    routes: list[dict[str, Any]]
    network_policy: dict[str, Any]
    disruption_budget: dict[str, Any] | None

    @property
    def gateways(self) -> list[tuple[Kind, str | None, str]]:
        """What the routes attach to, in order, as (kind, namespace, name): the gateways that
        must exist. An Ingress names its IngressClass; a ListenerSet its Gateway, which the
        gateway-api provider names after the ingress class."""
        found: list[tuple[Kind, str | None, str]] = []
        for route in self.routes:
            spec = route.get("spec") or {}
            if route["kind"] == INGRESS.kind and spec.get("ingressClassName"):
                found.append((INGRESS_CLASS, None, str(spec["ingressClassName"])))
            parent = spec.get("parentRef") if route["kind"] == LISTENER_SET.kind else None
            if isinstance(parent, Mapping) and parent.get("kind", GATEWAY.kind) == GATEWAY.kind:
                namespace = parent.get("namespace") or route["metadata"].get("namespace")
                found.append((GATEWAY, str(namespace), str(parent["name"])))
        return list(dict.fromkeys(found))

    @property
    def ingress_classes(self) -> list[str]:
        """The classes the routes go through (a Gateway carries its class's name)."""
        return list(dict.fromkeys(name for _, _, name in self.gateways))


@dataclass(frozen=True)
class Seen:
    """What later events need to know of an instance: its account and its classes."""

    account: str
    ingress_classes: frozenset[str]


class InstanceReconciler(Reconciler):
    kind = KURA_INSTANCE

    @functools.cached_property
    def _seen(self) -> dict[Key, Seen]:
        """Every instance's account and classes as last reconciled, for mapping events."""
        return {}

    def instances_for_class(self, class_name: str) -> list[Key]:
        """The instances routed through ``class_name``, as last reconciled."""
        return sorted(key for key, seen in self._seen.items() if class_name in seen.ingress_classes)

    def instances_for(self, child: Mapping[str, Any]) -> list[Key]:
        """The instances a changed child belongs to: its instance label, else its account's."""
        metadata = child.get("metadata") or {}
        namespace = metadata.get("namespace")
        labels = metadata.get("labels") or {}
        if not namespace:
            return []
        if labels.get(INSTANCE_LABEL):
            return [(str(namespace), str(labels[INSTANCE_LABEL]))]
        handle = labels.get(ACCOUNT_LABEL)
        return sorted(
            key
            for key, seen in self._seen.items()
            if key[0] == namespace and handle and seen.account == handle
        )

    # --- the reconcile ----------------------------------------------------------------------

    async def _reconcile(self, namespace: str, name: str, key: str, log: Log) -> str | None:
        raw = await self.api.get(KURA_INSTANCE, namespace, name)
        if raw is None or raw["metadata"].get("deletionTimestamp"):
            if raw is not None:
                await self._finalize(raw, log)
            self._seen.pop((namespace, name), None)
            self.metrics.instance_phase(key, None)
            return None
        try:
            desired = self._desire(raw)
        except InputError as exc:
            self._seen.pop((namespace, name), None)
            await self._write_status(raw, error_status(raw, str(exc), now=self.clock()), log)
            self.metrics.instance_phase(key, ERROR)
            return ERROR
        instance = desired.instance
        self._seen[(namespace, name)] = Seen(
            instance.spec.account_handle, frozenset(desired.ingress_classes)
        )
        raw = await self.writer.set_finalizer(
            KURA_INSTANCE, raw, INSTANCE_FINALIZER, log, present=True
        )
        old_status = raw.get("status") or {}
        await self.warn_uncatalogued(raw, instance.spec.region, log)
        if notice := legacy_env_notice(instance):
            await self.warn_per_generation(raw, LEGACY_ENV, notice, log)
        revision = (instance.metadata.annotations or {}).get(MANIFEST_REVISION_ANNOTATION)
        force = revision != old_status.get("appliedManifestRevision")
        if force:
            log.info("manifest revision %s: re-applying every child", revision)

        if desired.extension:
            await self.writer.converge(desired.extension, log, force=force)
        await self.writer.converge(desired.headless, log, force=force)
        if desired.account_peers:
            await self.writer.converge(desired.account_peers, log, force=force)
        else:
            await self._retire_account_peers(namespace, instance.spec.account_handle, None, log)
        await self._converge_primary_service(instance, log, force=force)
        # By owner too: a hand-named instance `x-grpc` has a Service named like x's legacy one.
        for legacy in legacy_service_names(name):
            await self._delete_if_ours(
                SERVICE, namespace, legacy, log, why="legacy", owner=instance
            )
        unserved = await self._converge_routes(desired.routes, log, force=force)
        if not unserved and (force or self.should_prune(raw)):
            await self._prune_routes(instance, desired.routes, log)
        tls_problem = await self._ensure_peer_tls(instance, log)
        await self.writer.converge(desired.network_policy, log, force=force)
        if desired.disruption_budget:
            await self.writer.converge(desired.disruption_budget, log, force=force)
        else:
            await self._delete_if_ours(
                POD_DISRUPTION_BUDGET, namespace, name, log, why="one replica", owner=instance
            )
        stateful_set = await self._converge_stateful_set(instance, log, force=force)

        missing_class = missing_gateway = None
        for kind, where, gateway in desired.gateways:
            # A shared Gateway lives in the platform's namespace, which the operator may not read.
            watched = self.settings.all_namespaces or where in (None, self.settings.namespace)
            if watched and await self.api.get(kind, where, gateway) is None:
                if kind == INGRESS_CLASS:
                    missing_class = gateway
                else:
                    missing_gateway = object_key(kind, where, gateway)
                break
        status = instance_status(
            instance,
            old_status,
            stateful_set=stateful_set,
            missing_class=missing_class,
            missing_gateway=missing_gateway,
            peer_tls_problem=tls_problem,
            unserved=unserved,
            # A revision is applied only once every child was.
            applied_revision=None if unserved else revision,
            now=self.clock(),
        )
        if unserved and condition_reason(old_status) != KIND_NOT_SERVED:
            await self.writer.warn(raw, KIND_NOT_SERVED, unserved, log)
        await self._write_status(raw, status, log, removable=REMOVABLE_STATUS)
        self.metrics.instance_phase(key, status["phase"])
        return str(status["phase"])

    def _desire(self, raw: Mapping[str, Any]) -> DesiredInstance:
        """Parse, resolve and render: everything that can reject the instance, before any write."""
        # The status is the operator's own (or upstream's, with fields of its own): not input.
        instance = parse_instance({k: v for k, v in raw.items() if k != "status"})
        check_instance(instance)
        region = self.catalog_region(instance.spec.region)
        provider = self.ingress_provider(region)
        routes = provider.render_instance_ingress(
            instance, cluster_issuer=self.settings.cluster_issuer
        )
        for route in routes:
            # A plugin's mistake shows on the instance, like bad input, and nothing is applied.
            try:
                kind = kind_of(route)
            except ValueError as exc:
                raise InputError(f"ingress provider {provider.name!r}: {exc}") from None
            if kind not in ROUTE_KINDS:
                raise InputError(
                    f"ingress provider {provider.name!r}: an instance's routes are "
                    f"{', '.join(k.kind for k in ROUTE_KINDS)} objects, not {kind.kind}"
                )
        network_policy = render_network_policy(
            instance,
            gateway_peers=provider.gateway_peers(instance, region=region),
            scraper_namespaces=self.settings.scraper_namespaces,
        )
        extension = render_extension_config_map(instance)
        budget = render_pod_disruption_budget(instance)
        return DesiredInstance(
            instance=instance,
            extension=extension and with_applied_hash(extension),
            headless=with_applied_hash(render_headless_service(instance)),
            account_peers=(
                with_applied_hash(render_account_peer_service(instance))
                if cross_region_enabled(instance)
                else None
            ),
            routes=[with_applied_hash(route) for route in routes],
            network_policy=with_applied_hash(network_policy),
            disruption_budget=budget and with_applied_hash(budget),
        )

    async def _converge_routes(
        self, routes: list[dict[str, Any]], log: Log, *, force: bool
    ) -> str | None:
        """Apply the routes; what the cluster does not serve (cert-manager not installed) is
        skipped and said, so the rest of the instance is still applied."""
        missing: list[Kind] = []
        for route in routes:
            kind = kind_of(route)
            if kind in missing:
                continue
            try:
                await self.writer.converge(route, log, force=force)
            except KubeError as exc:
                # An apply creates what is missing: its 404 means the kind itself is missing.
                if exc.status != 404 or await self.api.serves(kind):
                    raise
                missing.append(kind)
        if not missing:
            return None
        kind = missing[0]
        if kind != CERTIFICATE:
            return (
                f"this cluster does not serve {kind.kind} ({kind.api_version}), so no gateway "
                "routes to this instance: install the CRDs its region's ingress provider needs "
                "(docs/gateway-api.md)"
            )
        return (
            f"this cluster does not serve {kind.kind} ({kind.api_version}), so the public TLS "
            "certificates cannot be requested: install cert-manager, or run the operator with "
            "--cluster-issuer '' and provide the TLS Secrets"
        )

    # --- children that depend on live state -------------------------------------------------

    async def _converge_primary_service(
        self, instance: KuraInstance, log: Log, *, force: bool
    ) -> None:
        namespace, name = namespace_of(instance), instance.metadata.name
        live = await self.api.get(SERVICE, namespace, name)
        pods = await self.api.list(
            POD,
            namespace,
            label_selector=",".join(f"{k}={v}" for k, v in selector_labels(name).items()),
        )
        current = current_primary(live)
        primary = choose_primary(instance, current, pods)
        if current and primary != current:
            log.info("primary pod %s -> %s", current, primary)
        desired = with_applied_hash(render_primary_service(instance, primary))
        await self.writer.converge(desired, log, force=force, live=live)

    async def _converge_stateful_set(
        self, instance: KuraInstance, log: Log, *, force: bool
    ) -> dict[str, Any] | None:
        namespace = namespace_of(instance)
        live = await self.api.get(STATEFUL_SET, namespace, instance.metadata.name)
        shared = await self.api.get(SECRET, namespace, SHARED_SECRETS)
        version = (shared or {}).get("metadata", {}).get("resourceVersion")
        desired = render_stateful_set(
            instance,
            deployment_environment=self.settings.env,
            otlp_traces_endpoint=self.settings.otlp_traces_endpoint,
            claim=claim_template(instance, live),
            shared_secrets_version=str(version) if version else None,
        )
        return await self.writer.converge(with_applied_hash(desired), log, force=force, live=live)

    async def _ensure_peer_tls(self, instance: KuraInstance, log: Log) -> str | None:
        """Keep the generated peer TLS Secret usable; why the pods cannot mount theirs, if so."""
        namespace = namespace_of(instance)
        external = instance.spec.peer_tls_secret_name
        if external:
            if await self.api.get(SECRET, namespace, external) is None:
                return f"peer TLS Secret {external!r} does not exist, so no pod can start"
            return None
        name = generated_peer_tls_secret_name(instance.metadata.name)
        live = await self.api.get(SECRET, namespace, name)
        now = self.clock()
        if live is None:
            log.info("creating %s (missing)", object_key(SECRET, namespace, name))
            secret = render_peer_tls_secret(instance, generate_peer_tls(instance, now=now))
            await self.api.create(secret)
            return None
        problem = peer_tls_problem(decode_secret_data(live.get("data")), instance, now=now)
        if problem is None:
            return None
        if not is_ours(live):
            return f"Secret {name!r} is not kura's and not usable as peer TLS: {problem}"
        log.info("regenerating %s: %s", object_key(SECRET, namespace, name), problem)
        secret = render_peer_tls_secret(instance, generate_peer_tls(instance, now=now))
        await self.api.replace_data(
            SECRET,
            namespace,
            name,
            secret["data"],
            resource_version=str(live["metadata"].get("resourceVersion", "")),
        )
        return None

    # --- deletes: always read first, only what kura made ------------------------------------

    async def _delete_if_ours(
        self,
        kind: Kind,
        namespace: str,
        name: str,
        log: Log,
        *,
        why: str,
        owner: KuraInstance | None = None,
    ) -> None:
        """Delete a kura-made object (owned by ``owner``, when given); absent costs one GET."""
        live = await self.api.get(kind, namespace, name)
        if live is None or not is_ours(live):
            return
        if owner is not None and not owned_by(live, owner.metadata.uid):
            return
        log.info("deleting %s (%s)", object_key(kind, namespace, name), why)
        await self.api.delete(kind, namespace, name)

    async def _prune_routes(
        self, instance: KuraInstance, routes: list[dict[str, Any]], log: Log
    ) -> None:
        """Delete this instance's routes that its provider no longer renders, of every provider's
        kinds: a region that changed provider leaves the other provider's routes behind."""
        namespace, name = namespace_of(instance), instance.metadata.name
        wanted = {(r["kind"], r["metadata"]["name"]) for r in routes}
        # Without an issuer the Certificate API may not even exist; then none were made. The
        # Gateway API's kinds exist only where a region uses that provider (and the RBAC
        # component grants them).
        kinds = [INGRESS, *([CERTIFICATE] if self.settings.cluster_issuer else [])]
        if self.settings.gateway_api:
            kinds += [k for k in ROUTE_KINDS if k not in kinds and await self.serves(k)]
        selector = f"{INSTANCE_LABEL}={name},{MANAGED_BY_LABEL}={MANAGED_BY}"
        for kind in kinds:
            for live in await self.api.list(kind, namespace, label_selector=selector):
                child = str(live["metadata"]["name"])
                if (kind.kind, child) in wanted or not owned_by(live, instance.metadata.uid):
                    continue
                log.info("deleting %s (no longer rendered)", object_key(kind, namespace, child))
                await self.api.delete(kind, namespace, child)
        self.swept.add((namespace, name))

    async def _retire_account_peers(
        self, namespace: str, handle: str, leaving: str | None, log: Log
    ) -> None:
        """Delete the account peer Service once no other instance of the account peers."""
        if not is_dns_label(handle):
            return  # no such Service can exist
        service = account_peer_service_name(handle)
        live = await self.api.get(SERVICE, namespace, service)
        if live is None or not is_ours(live):
            return
        for other in await self.api.list(KURA_INSTANCE, namespace):
            metadata, spec = other.get("metadata") or {}, other.get("spec") or {}
            if (
                metadata.get("name") != leaving
                and not metadata.get("deletionTimestamp")
                and spec.get("accountHandle") == handle
                and spec.get("peerTLSSecretName")
            ):
                return
        log.info(
            "deleting %s (no instance of account %s peers across regions any more)",
            object_key(SERVICE, namespace, service),
            handle,
        )
        await self.api.delete(SERVICE, namespace, service)

    # --- status and deletion ----------------------------------------------------------------

    def _record_phase(self, key: str, phase: str | None) -> None:
        self.metrics.instance_phase(key, phase)

    async def _serving(self, raw: Mapping[str, Any]) -> str | None:
        try:
            instance = parse_instance({k: v for k, v in raw.items() if k != "status"})
        except InputError:
            return None
        live = await self.api.get(STATEFUL_SET, namespace_of(instance), instance.metadata.name)
        _, message, ready = rollout(instance, live)
        return message if ready else None

    async def _finalize(self, raw: Mapping[str, Any], log: Log) -> None:
        metadata = raw["metadata"]
        if INSTANCE_FINALIZER not in (metadata.get("finalizers") or []):
            return
        handle = (raw.get("spec") or {}).get("accountHandle")
        if isinstance(handle, str):
            await self._retire_account_peers(
                str(metadata["namespace"]), handle, str(metadata["name"]), log
            )
        await self.writer.set_finalizer(KURA_INSTANCE, raw, INSTANCE_FINALIZER, log, present=False)
