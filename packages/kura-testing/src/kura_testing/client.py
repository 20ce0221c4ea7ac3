"""A small synchronous Kubernetes REST client for tests and tools that provision test objects.

It resolves kinds and plurals through the server's own discovery, so it knows every CRD the
server serves, and raises one error type with the server's status, reason and message.
"""

from __future__ import annotations

import base64
import json
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

APPLY = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
THROTTLE_RETRIES = 20


class KubeRequestError(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        self.status = status
        self.reason = reason
        self.message = message
        super().__init__(f"{status} {reason}: {message}")


@dataclass(frozen=True)
class Resource:
    group_version: str
    plural: str
    kind: str
    namespaced: bool

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = (
            f"/api/{self.group_version}"
            if "/" not in self.group_version
            else (f"/apis/{self.group_version}")
        )
        if self.namespaced and namespace is not None:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base


class KubeClient:
    """Requests as one identity (a bearer token) to one API server, verified against its CA."""

    def __init__(self, server: str, token: str, ca_file: Path, *, timeout: float = 30.0) -> None:
        self.server = server
        self.token = token
        self.ca_file = ca_file
        self._http = httpx.Client(
            base_url=server,
            headers={"Authorization": f"Bearer {token}"},
            verify=ssl.create_default_context(cafile=str(ca_file)),
            timeout=timeout,
        )
        self._by_kind: dict[tuple[str, str], Resource] = {}
        self._by_plural: dict[str, Resource] = {}

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def with_token(self, token: str) -> KubeClient:
        return KubeClient(self.server, token, self.ca_file)

    # --- raw requests --------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        content_type: str = "application/json",
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        content = None if body is None else json.dumps(body).encode()
        for attempt in range(THROTTLE_RETRIES + 1):
            answer = self._http.request(
                method,
                path,
                content=content,
                params=dict(params or {}),
                headers={"Content-Type": content_type} if content is not None else {},
            )
            # 429 is the server asking to come back (priority and fairness, or a CRD's storage
            # still initialising): every Kubernetes client honours it.
            if answer.status_code != 429 or attempt == THROTTLE_RETRIES:
                break
            time.sleep(min(float(answer.headers.get("Retry-After", "1") or 1), 1.0))
        if answer.status_code >= 400:
            try:
                status = answer.json()
                reason, message = str(status.get("reason", "")), str(status.get("message", ""))
            except ValueError:
                reason, message = answer.reason_phrase, answer.text[:500]
            raise KubeRequestError(answer.status_code, reason, message)
        return dict(answer.json()) if answer.content else {}

    def healthy(self, endpoint: str = "/readyz") -> bool:
        """Whether ``/readyz`` (or another health endpoint) answers 200; False when unreachable."""
        try:
            return self._http.get(endpoint).status_code == 200
        except httpx.TransportError:
            return False

    # --- discovery -----------------------------------------------------------------------------

    def _discover(self) -> None:
        self._by_kind.clear()
        self._by_plural.clear()
        versions = ["v1"] + [
            v["groupVersion"]
            for group in self.request("GET", "/apis")["groups"]
            for v in [group["preferredVersion"], *group["versions"]]
        ]
        for group_version in dict.fromkeys(versions):
            path = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
            try:
                listed = self.request("GET", path)
            except KubeRequestError:
                continue
            for entry in listed.get("resources", []):
                if "/" in entry["name"]:
                    continue
                resource = Resource(
                    group_version, entry["name"], entry["kind"], entry["namespaced"]
                )
                self._by_kind.setdefault((group_version, entry["kind"]), resource)
                self._by_plural.setdefault(entry["name"], resource)

    def resource(self, api_version: str, kind: str) -> Resource:
        if (api_version, kind) not in self._by_kind:
            self._discover()
        if (api_version, kind) not in self._by_kind:
            raise KubeRequestError(404, "NotFound", f"the server serves no {kind} {api_version}")
        return self._by_kind[(api_version, kind)]

    def resource_named(self, plural: str) -> Resource:
        """The preferred version of a plural (``deployments``, ``kuragateways``)."""
        if plural not in self._by_plural:
            self._discover()
        if plural not in self._by_plural:
            raise KubeRequestError(404, "NotFound", f"the server serves no {plural}")
        return self._by_plural[plural]

    # --- objects -------------------------------------------------------------------------------

    def _object_path(self, obj: Mapping[str, Any]) -> str:
        metadata = obj["metadata"]
        resource = self.resource(obj["apiVersion"], obj["kind"])
        return resource.path(metadata.get("namespace"), metadata["name"])

    def get(self, plural: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            return self.request("GET", self.resource_named(plural).path(namespace, name))
        except KubeRequestError as exc:
            if exc.status == 404:
                return None
            raise

    def list(
        self, plural: str, namespace: str | None = None, *, selector: str | None = None
    ) -> list[dict[str, Any]]:
        params = {"labelSelector": selector} if selector else None
        listed = self.request("GET", self.resource_named(plural).path(namespace), params=params)
        return list(listed.get("items", []))

    def apply(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str,
        force: bool = True,
        dry_run: bool = False,
        subresource: str = "",
    ) -> dict[str, Any]:
        params = {"fieldManager": field_manager, "force": "true" if force else "false"}
        if dry_run:
            params["dryRun"] = "All"
        path = self._object_path(obj) + (f"/{subresource}" if subresource else "")
        return self.request("PATCH", path, obj, content_type=APPLY, params=params)

    def create(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        metadata = obj["metadata"]
        resource = self.resource(obj["apiVersion"], obj["kind"])
        return self.request("POST", resource.path(metadata.get("namespace")), obj)

    def merge_patch(
        self, plural: str, namespace: str | None, name: str, patch: object, *, status: bool = False
    ) -> dict[str, Any]:
        path = self.resource_named(plural).path(namespace, name) + ("/status" if status else "")
        return self.request("PATCH", path, patch, content_type=MERGE_PATCH)

    def delete(self, plural: str, namespace: str | None, name: str) -> bool:
        """Delete; False when it was already gone."""
        try:
            self.request("DELETE", self.resource_named(plural).path(namespace, name))
        except KubeRequestError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def apply_all(self, objects: Iterable[Mapping[str, Any]], *, field_manager: str) -> None:
        """Apply in order; CRDs are waited for until Established so their objects can follow."""
        for obj in objects:
            self.apply(obj, field_manager=field_manager)
            if obj["kind"] == "CustomResourceDefinition":
                self.wait_established(obj["metadata"]["name"])

    def wait_established(self, crd: str, timeout: float = 30.0) -> None:
        def established() -> bool:
            found = self.get("customresourcedefinitions", None, crd) or {}
            conditions = (found.get("status") or {}).get("conditions") or []
            return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

        wait_for(established, f"CRD {crd} to be established", timeout)
        self._by_kind.clear()
        self._by_plural.clear()

    def create_token(self, namespace: str, service_account: str, *, seconds: int = 3600) -> str:
        """A ServiceAccount token minted through the TokenRequest API, as a kubelet gets one."""
        answer = self.request(
            "POST",
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token",
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {"expirationSeconds": seconds},
            },
        )
        return str(answer["status"]["token"])


def kubeconfig_yaml(server: str, ca_file: Path, token: str, namespace: str) -> str:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "kura-envtest",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_file.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": "kura-envtest", "user": {"token": token}}],
        "contexts": [
            {
                "name": "kura-envtest",
                "context": {
                    "cluster": "kura-envtest",
                    "user": "kura-envtest",
                    "namespace": namespace,
                },
            }
        ],
        "current-context": "kura-envtest",
    }
    return yaml.safe_dump(config, sort_keys=False)


def wait_for(predicate: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)
