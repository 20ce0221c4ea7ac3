"""KuraGateway reconcile: the upstream order, idempotent, with no writes when nothing changed.

1. Validate and render everything first, so bad input applies nothing.
2. Add the finalizer.
3. Delete a renamed IngressClass (``status.ingressClassName`` differs from the spec).
4. Apply the ConfigMap, the LB Service and the IngressClass.
5. Persist a renamed class in ``status.ingressClassName`` right after the IngressClass.
6. Apply the Deployment.
7. Compute status from the observed Deployment and Service.

A new gateway's class goes into the status write of step 7, or, when the Deployment's apply
fails, before the retry: so creating a gateway costs one status write fewer than upstream's
order, and its class is still on record before the reconcile ends. Everything is read from the
operator's cache; a child is applied only when it differs (its applied-hash annotation also
catches a field taken out of the desired state); status is written only when more than its
timestamp changed. Deletion removes the cluster-scoped IngressClasses (read before
delete) and then the finalizer; namespaced children go with their owner references. Every
write is logged with the gateway as ``object``. A failed API request shows in the status as the
base class says: Degraded while the Deployment's ready pods behind the LB address still serve.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kura_core import (
    CLIENT_TRAFFIC_POLICY,
    CONFIG_MAP,
    DEPLOYMENT,
    ENVOY_PROXY,
    GATEWAY,
    GATEWAY_FINALIZER,
    HTTP_ROUTE,
    INGRESS_CLASS,
    KURA_GATEWAY,
    SERVICE,
    InputError,
    KuraGateway,
    ignored_annotations_warning,
    kind_of,
    object_key,
    parse_gateway,
    require_own_load_balancer,
)
from kura_kube import KubeError
from kura_operator.conditions import ERROR, error_status
from kura_operator.convergence import with_applied_hash
from kura_operator.instance_layout import MANAGED_BY, MANAGED_BY_LABEL
from kura_operator.reconciler import Reconciler, owned_by
from kura_operator.writer import Log

GATEWAY_LABEL = "tuist.dev/kura-gateway"
# What each provider makes of a dedicated gateway in its namespace (its IngressClass aside).
GATEWAY_CHILD_KINDS = (CONFIG_MAP, SERVICE, DEPLOYMENT)
GATEWAY_API_CHILD_KINDS = (ENVOY_PROXY, CLIENT_TRAFFIC_POLICY, GATEWAY, HTTP_ROUTE)
ADOPTED_INGRESS_CLASS = "AdoptedIngressClass"
ANNOTATIONS_IGNORED = "AnnotationsIgnored"
# Status fields a provider may not report: after a change of provider, the old one's Service
# name and replica count would describe children that are gone.
REMOVABLE_STATUS = ("serviceName", "readyReplicas")


@dataclass(frozen=True)
class DesiredGateway:
    """A valid gateway and its children, split where the upstream order puts the status write,
    and the warning about load-balancer annotations its provider did not honour, if any."""

    gateway: KuraGateway
    before_deployment: list[dict[str, Any]]
    deployment: dict[str, Any] | None
    ignored_annotations: str | None = None


class GatewayReconciler(Reconciler):
    kind = KURA_GATEWAY

    # --- the reconcile ----------------------------------------------------------------------

    async def _reconcile(self, namespace: str, name: str, key: str, log: Log) -> str | None:
        raw = await self.api.get(KURA_GATEWAY, namespace, name)
        if raw is None:
            self.metrics.gateway_phase(key, None)
            return None
        if raw["metadata"].get("deletionTimestamp"):
            await self._finalize(raw, log)
            self.metrics.gateway_phase(key, None)
            return None
        try:
            desired = self._desire(raw)
            adopting = await self._check_class_owner(desired.gateway)
        except InputError as exc:
            await self._write_status(raw, error_status(raw, str(exc), now=self.clock()), log)
            self.metrics.gateway_phase(key, ERROR)
            return ERROR
        if desired.ignored_annotations:
            await self.warn_per_generation(
                raw, ANNOTATIONS_IGNORED, desired.ignored_annotations, log
            )
        raw = await self.writer.set_finalizer(
            KURA_GATEWAY, raw, GATEWAY_FINALIZER, log, present=True
        )
        gateway = desired.gateway
        await self.warn_uncatalogued(raw, gateway.spec.region, log)
        if adopting:
            await self.writer.warn(raw, ADOPTED_INGRESS_CLASS, adopting, log)
        await self._delete_renamed_class(raw, gateway, log)
        live: dict[str, dict[str, Any] | None] = {}
        for child in desired.before_deployment:
            live[child["kind"]] = await self.writer.converge(child, log)
        class_name = gateway.spec.ingress_class_name
        if (raw.get("status") or {}).get("ingressClassName"):
            await self._remember_class(raw, class_name)
        try:
            deployment = desired.deployment and await self.writer.converge(desired.deployment, log)
        except KubeError:
            await self._remember_class(raw, class_name)
            raise
        # Only a change of provider leaves children of other kinds or names behind.
        if self.settings.gateway_api and self.should_prune(raw):
            await self._prune_children(raw, desired, log)
        if deployment is not None:
            live[DEPLOYMENT.kind] = deployment
        provider = self._ingress_provider(gateway)
        status = provider.gateway_status(
            gateway,
            children={kind: obj for kind, obj in live.items() if obj is not None},
            now=self.clock(),
        )
        phase = status.phase or "Pending"
        await self._write_status(
            raw,
            status.model_dump(mode="json", by_alias=True, exclude_none=True),
            log,
            removable=REMOVABLE_STATUS,
        )
        self.metrics.gateway_phase(key, phase)
        return phase

    def _ingress_provider(self, gateway: KuraGateway) -> Any:
        return self.ingress_provider(self.catalog_region(gateway.spec.region))

    def _desire(self, raw: Mapping[str, Any]) -> DesiredGateway:
        """Parse, resolve and render: everything that can reject the gateway, before any write."""
        gateway = parse_gateway(raw)
        region = self.catalog_region(gateway.spec.region)
        ingress = self.ingress_provider(region)
        load_balancer = self.load_balancer_provider(region)
        require_own_load_balancer(gateway.metadata.name, self.catalog.ids)
        children = ingress.render_gateway(
            gateway,
            region=region,
            load_balancer=load_balancer,
            service_account_name=self.settings.gateway_service_account,
        )
        for child in children:
            # Every child must be a kind this operator knows how to write: a plugin's mistake
            # shows on the gateway, like bad input, and nothing is applied.
            try:
                kind_of(child)
            except ValueError as exc:
                raise InputError(f"ingress provider {ingress.name!r}: {exc}") from None
        children = [with_applied_hash(child) for child in children]
        before = [c for c in children if c["kind"] != DEPLOYMENT.kind]
        deployments = [c for c in children if c["kind"] == DEPLOYMENT.kind]
        return DesiredGateway(
            gateway,
            before,
            deployments[0] if deployments else None,
            ignored_annotations_warning(gateway, region, load_balancer),
        )

    async def _prune_children(
        self, raw: Mapping[str, Any], desired: DesiredGateway, log: Log
    ) -> None:
        """Delete this gateway's children that its provider no longer renders, of both
        providers' kinds: a region that changed provider leaves the other's behind."""
        metadata = raw["metadata"]
        namespace, name = str(metadata["namespace"]), str(metadata["name"])
        rendered = [*desired.before_deployment, *filter(None, [desired.deployment])]
        wanted = {(child["kind"], child["metadata"]["name"]) for child in rendered}
        kinds = list(GATEWAY_CHILD_KINDS)
        if self.settings.gateway_api:
            kinds += [kind for kind in GATEWAY_API_CHILD_KINDS if await self.serves(kind)]
        selector = f"{GATEWAY_LABEL}={name},{MANAGED_BY_LABEL}={MANAGED_BY}"
        for kind in kinds:
            for live in await self.api.list(kind, namespace, label_selector=selector):
                child = str(live["metadata"]["name"])
                if (kind.kind, child) in wanted or not owned_by(live, metadata.get("uid")):
                    continue
                log.info("deleting %s (no longer rendered)", object_key(kind, namespace, child))
                await self.api.delete(kind, namespace, child)
        if INGRESS_CLASS.kind not in {kind for kind, _ in wanted}:
            await self._delete_owned_class(desired.gateway.spec.ingress_class_name, name, log)
        self.swept.add((namespace, name))

    async def _check_class_owner(self, gateway: KuraGateway) -> str | None:
        """Refuse an IngressClass that is someone else's; say so when adopting one.

        As upstream, an existing class is taken over when nobody claims it and it names this
        gateway's controller (a class made by hand, or left by an older controller). A class
        of another gateway, or one whose controller is someone else's, is never touched.
        """
        name = gateway.spec.ingress_class_name
        live = await self.api.get(INGRESS_CLASS, None, name)
        if live is None:
            return None
        owner = ((live.get("metadata") or {}).get("labels") or {}).get(GATEWAY_LABEL)
        if owner == gateway.metadata.name:
            return None
        if owner:
            raise InputError(
                f"IngressClass {name!r} already exists and belongs to gateway {owner!r}"
            )
        controller = (live.get("spec") or {}).get("controller")
        ours = gateway.spec.controller_class_name or self._ingress_provider(
            gateway
        ).default_controller_class(name)
        if controller != ours:
            raise InputError(
                f"IngressClass {name!r} already exists with controller {controller!r}, not this "
                f"gateway's {ours!r}: it is someone else's"
            )
        return (
            f"adopting IngressClass {name!r}: it exists without a gateway label and names this "
            f"gateway's controller {ours!r}"
        )

    async def _delete_renamed_class(
        self, raw: Mapping[str, Any], gateway: KuraGateway, log: Log
    ) -> None:
        previous = (raw.get("status") or {}).get("ingressClassName")
        if previous and previous != gateway.spec.ingress_class_name:
            await self._delete_owned_class(previous, gateway.metadata.name, log)

    async def _delete_owned_class(self, class_name: str, gateway_name: str, log: Log) -> None:
        # Read (from the cache) before delete: a class that is not ours stays.
        live = await self.api.get(INGRESS_CLASS, None, class_name)
        if live is None:
            return
        owner = ((live.get("metadata") or {}).get("labels") or {}).get(GATEWAY_LABEL)
        if owner == gateway_name:
            log.info("deleting %s", object_key(INGRESS_CLASS, None, class_name))
            await self.api.delete(INGRESS_CLASS, None, class_name)

    async def _remember_class(self, raw: dict[str, Any], class_name: str) -> None:
        """Put ``class_name`` on record in the status (and in ``raw``), unless it is."""
        status = raw.get("status") or {}
        if status.get("ingressClassName") == class_name:
            return
        metadata = raw["metadata"]
        await self.api.patch_status(
            KURA_GATEWAY, metadata["namespace"], metadata["name"], {"ingressClassName": class_name}
        )
        raw["status"] = {**status, "ingressClassName": class_name}

    # --- status -----------------------------------------------------------------------------

    def _record_phase(self, key: str, phase: str | None) -> None:
        self.metrics.gateway_phase(key, phase)

    async def _serving(self, raw: Mapping[str, Any]) -> str | None:
        try:
            desired = self._desire(raw)
        except InputError:
            return None
        live: dict[str, dict[str, Any]] = {}
        for child in (*desired.before_deployment, desired.deployment):
            if child is None:
                continue
            metadata = child["metadata"]
            found = await self.api.get(kind_of(child), metadata.get("namespace"), metadata["name"])
            if found is not None:
                live[child["kind"]] = found
        status = self._ingress_provider(desired.gateway).gateway_status(
            desired.gateway, children=live, now=self.clock()
        )
        return status.message if status.ready_replicas and status.load_balancer else None

    # --- deletion ---------------------------------------------------------------------------

    async def _finalize(self, raw: Mapping[str, Any], log: Log) -> None:
        metadata = raw["metadata"]
        finalizers = list(metadata.get("finalizers") or [])
        if GATEWAY_FINALIZER not in finalizers:
            return
        spec = raw.get("spec") or {}
        classes = {spec.get("ingressClassName"), (raw.get("status") or {}).get("ingressClassName")}
        for class_name in sorted(c for c in classes if isinstance(c, str) and c):
            await self._delete_owned_class(class_name, str(metadata["name"]), log)
        await self.writer.set_finalizer(KURA_GATEWAY, raw, GATEWAY_FINALIZER, log, present=False)
