"""Upstream Tuist's own controller, as it leaves a dedicated gateway and an instance behind.

The migration test starts kura's operator on a cluster that upstream's Go controller (a
controller-runtime manager, gateway era) has been running: this module writes what that
controller writes, field for field, under its field manager ``kura-controller`` with server-side
apply, and what the Tuist server applies (field manager ``tuist-server``). Everything here is
written out by hand from upstream's behaviour (docs/upstream.md), not rendered by kura: the test
compares kura's objects with these, so they must not come from the code under test.

Upstream's reconcilers, for a gateway: the finalizer ``kuragateways.kura.tuist.dev/finalizer``,
then ConfigMap, LoadBalancer Service and Deployment ``<gateway>-controller`` (owned by the
gateway) and the cluster-scoped IngressClass (labelled, unowned), then a status of ``phase``,
``ingressClassName``, ``serviceName``, ``readyReplicas``, ``loadBalancer``, ``message`` and
``lastReconciledAt``. For an instance: the finalizer ``kurainstances.kura.tuist.dev/finalizer``,
the extension ConfigMap, the headless and primary Services, the public and gRPC Ingresses and
their cert-manager Certificates, the peer TLS Secret, the NetworkPolicy, the
PodDisruptionBudget and the StatefulSet, all owned by the instance, then a status of ``phase``,
``publicURL``, ``grpcPublicURL``, ``observedImage``, ``readyReplicas``, ``message`` and
``lastReconciledAt``. Unset fields are left out, as Go's ``omitempty`` leaves them out.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.operator.harness import NAMESPACE

UPSTREAM_MANAGER = "kura-controller"
SERVER_MANAGER = "tuist-server"
API_VERSION = "kura.tuist.dev/v1alpha1"
GATEWAY_FINALIZER = "kuragateways.kura.tuist.dev/finalizer"
INSTANCE_FINALIZER = "kurainstances.kura.tuist.dev/finalizer"
# The platform chart names the gateway pods' ServiceAccount after its release and component.
GATEWAY_SERVICE_ACCOUNT = "tuist-tuist-kura-controller-gateway-ingress-nginx"
CLUSTER_ISSUER = "letsencrypt-cloudflare"
OTLP_ENDPOINT = "http://otel-collector.observability.svc.cluster.local:4318"
MANIFEST_REVISION = "2026-06-13-env-scoped-public-host-v1"
NODE_POOL = "node.cluster.x-k8s.io/pool"
LB = "load-balancer.hetzner.cloud/"
LOAD_BALANCER_ADDRESS = "203.0.113.7"
HOOKS_LUA = "function authenticate(ctx)\n  return nil\nend\n"
# What upstream's preStop hook runs: SIGUSR1 to Kura (the init's first child), then a sleep.
PRE_STOP = (
    "KURA_PID=\"$(tr ' ' '\\n' </proc/1/task/1/children | head -n1)\" && "
    'if [ -n "$KURA_PID" ]; then kill -USR1 "$KURA_PID"; fi && sleep 20'
)


@dataclass(frozen=True)
class Account:
    """An Enterprise account with a dedicated gateway in us-east, and the names that follow."""

    id: int
    handle: str
    region: str = "us-east"
    cluster_id: str = "us-east-1"
    location: str = "ash"
    image: str = "ghcr.io/tuist/kura:0.5.0"

    @property
    def gateway(self) -> str:
        digest = hashlib.sha256(f"account:{self.id}".encode()).hexdigest()
        return f"kgw-{digest[:12]}-{self.region}"

    @property
    def ingress_class(self) -> str:
        return f"kura-{self.region}-{self.gateway}"

    @property
    def workload(self) -> str:
        return f"{self.gateway}-controller"

    @property
    def instance(self) -> str:
        return f"kura-{self.handle}-{self.cluster_id}"

    @property
    def public_host(self) -> str:
        return f"{self.handle}-{self.cluster_id}.kura.tuist.dev"

    @property
    def grpc_host(self) -> str:
        return f"grpc.{self.public_host}"

    @property
    def pool(self) -> str:
        return f"kura-{self.region}"


# --- what the Tuist server applies ------------------------------------------------------------


def server_gateway(account: Account) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "KuraGateway",
        "metadata": {
            "name": account.gateway,
            "namespace": NAMESPACE,
            "labels": {
                "app.kubernetes.io/name": "kura-gateway",
                "app.kubernetes.io/instance": account.gateway,
                "tuist.dev/region": account.region,
            },
        },
        "spec": {
            "region": account.region,
            "ingressClassName": account.ingress_class,
            "controllerImage": "registry.k8s.io/ingress-nginx/controller:v1.11.3",
            "replicas": 2,
            "nodeSelector": {NODE_POOL: account.pool},
            "loadBalancerAnnotations": {
                LB + "name": f"tuist-{account.gateway}-ingress",
                LB + "uses-proxyprotocol": "true",
                LB + "location": account.location,
            },
        },
    }


def server_instance(account: Account) -> dict[str, Any]:
    base_url = "https://tuist.dev"
    extra_env = {
        "KURA_EXTENSION_FAIL_CLOSED_AUTHENTICATE": "true",
        "KURA_EXTENSION_FAIL_CLOSED_AUTHORIZE": "true",
        "KURA_EXTENSION_HOOK_TIMEOUT_MS": "5000",
        "KURA_CONTROL_PLANE_URL": base_url,
        "KURA_EXTENSION_HTTP_CLIENT_TUIST_BASE_URL": base_url,
        "KURA_EXTENSION_HTTP_CLIENT_TUIST_CONNECT_TIMEOUT_MS": "3000",
        "KURA_EXTENSION_HTTP_CLIENT_TUIST_REQUEST_TIMEOUT_MS": "4000",
        "KURA_CONTROL_PLANE_CLIENT_ID": "0b6f7d1e-4a2c-4f59-9d7e-3c1a2b4d5e6f",
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "KuraInstance",
        "metadata": {
            "name": account.instance,
            "namespace": NAMESPACE,
            "annotations": {
                "tuist.dev/kura-manifest-revision": MANIFEST_REVISION,
                "tuist.dev/kura-gateway": account.gateway,
            },
            "labels": {
                "app.kubernetes.io/name": "kura",
                "app.kubernetes.io/instance": account.instance,
                "tuist.dev/account": account.handle,
                "tuist.dev/region": account.region,
            },
        },
        "spec": {
            "accountHandle": account.handle,
            "tenantID": account.handle,
            "region": account.region,
            "image": account.image,
            "publicHost": account.public_host,
            "grpcPublicHost": account.grpc_host,
            "ingressClassName": account.ingress_class,
            "storageClassName": "hcloud-volumes",
            "replicas": 2,
            "nodeSelector": {NODE_POOL: account.pool},
            "extensionScript": HOOKS_LUA,
            "extraEnv": [{"name": name, "value": value} for name, value in extra_env.items()],
        },
    }


# --- what upstream's controller writes ------------------------------------------------------


def _owner(live: dict[str, Any]) -> list[dict[str, Any]]:
    """controller-runtime's SetControllerReference."""
    return [
        {
            "apiVersion": API_VERSION,
            "kind": live["kind"],
            "name": live["metadata"]["name"],
            "uid": live["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def finalizer(live: dict[str, Any], name: str) -> dict[str, Any]:
    """The object as upstream's controller adds its finalizer to it."""
    return {
        "apiVersion": API_VERSION,
        "kind": live["kind"],
        "metadata": {
            "name": live["metadata"]["name"],
            "namespace": NAMESPACE,
            "finalizers": [name],
        },
    }


def gateway_selector(account: Account) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "ingress-nginx",
        "app.kubernetes.io/instance": account.gateway,
        "app.kubernetes.io/component": "controller",
    }


def _gateway_labels(account: Account) -> dict[str, str]:
    return {
        **gateway_selector(account),
        "app.kubernetes.io/managed-by": "kura-controller",
        "tuist.dev/region": account.region,
        "tuist.dev/kura-gateway": account.gateway,
    }


# Upstream's gateway nginx configuration, every value a string.
GATEWAY_CONFIG = {
    "use-forwarded-headers": "true",
    "use-proxy-protocol": "true",
    "compute-full-forwarded-for": "true",
    "upstream-keepalive-timeout": "10",
    "allow-snippet-annotations": "false",
    "enable-real-ip": "true",
    "proxy-real-ip-cidr": "0.0.0.0/0",
    "proxy-body-size": "0",
    "proxy-request-buffering": "off",
    "proxy-buffering": "off",
    "proxy-max-temp-file-size": "0",
    "keep-alive-requests": "10000",
    "upstream-keepalive-requests": "10000",
    "client-body-buffer-size": "4m",
    "http2-max-concurrent-streams": "32",
    "http-snippet": "http2_body_preread_size 4m;",
}


def gateway_children(account: Account, gateway: dict[str, Any]) -> list[dict[str, Any]]:
    """ConfigMap, Service, IngressClass and Deployment, in upstream's order."""
    labels = _gateway_labels(account)
    owned = {"namespace": NAMESPACE, "labels": labels, "ownerReferences": _owner(gateway)}
    spec = gateway["spec"]
    annotations = {
        **spec["loadBalancerAnnotations"],
        LB + "node-selector": f"{NODE_POOL}={account.pool}",
    }
    probe = {
        "httpGet": {"path": "/healthz", "port": "metrics"},
        "initialDelaySeconds": 10,
        "periodSeconds": 10,
        "timeoutSeconds": 1,
    }
    workload = account.workload
    controller_class = f"k8s.io/{account.ingress_class}-ingress-nginx"
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": workload, **owned},
            "data": GATEWAY_CONFIG,
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": workload, **owned, "annotations": annotations},
            "spec": {
                "type": "LoadBalancer",
                "externalTrafficPolicy": "Local",
                "selector": gateway_selector(account),
                "ports": [
                    {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
                    {"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"},
                ],
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": account.ingress_class, "labels": labels},
            "spec": {"controller": controller_class},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": workload, **owned},
            "spec": {
                "replicas": spec["replicas"],
                "selector": {"matchLabels": gateway_selector(account)},
                "template": {
                    "metadata": {"labels": gateway_selector(account)},
                    "spec": {
                        "dnsPolicy": "ClusterFirst",
                        "serviceAccountName": GATEWAY_SERVICE_ACCOUNT,
                        "nodeSelector": spec["nodeSelector"],
                        "containers": [
                            {
                                "name": "controller",
                                "image": spec["controllerImage"],
                                "imagePullPolicy": "IfNotPresent",
                                "args": [
                                    "/nginx-ingress-controller",
                                    f"--election-id={account.gateway}-leader",
                                    f"--controller-class={controller_class}",
                                    f"--ingress-class={account.ingress_class}",
                                    f"--configmap=$(POD_NAMESPACE)/{workload}",
                                    "--watch-namespace=$(POD_NAMESPACE)",
                                    f"--publish-service=$(POD_NAMESPACE)/{workload}",
                                ],
                                "env": [
                                    _field_env("POD_NAME", "metadata.name"),
                                    _field_env("POD_NAMESPACE", "metadata.namespace"),
                                ],
                                "ports": [
                                    {"name": "http", "containerPort": 80, "protocol": "TCP"},
                                    {"name": "https", "containerPort": 443, "protocol": "TCP"},
                                    {"name": "metrics", "containerPort": 10254, "protocol": "TCP"},
                                ],
                                "readinessProbe": probe,
                                "livenessProbe": probe,
                                "resources": {
                                    "requests": {"cpu": "100m", "memory": "128Mi"},
                                    "limits": {"memory": "512Mi"},
                                },
                            }
                        ],
                    },
                },
            },
        },
    ]


def gateway_status(account: Account, *, ready: int, now: datetime) -> dict[str, Any]:
    want = 2
    phase = "Ready" if ready >= want else "Pending"
    message = f"{ready}/{want} gateway replicas ready"
    if phase != "Ready":
        message += ", loadBalancer=true"
    return {
        "phase": phase,
        "ingressClassName": account.ingress_class,
        "serviceName": account.workload,
        "readyReplicas": ready,
        "loadBalancer": LOAD_BALANCER_ADDRESS,
        "message": message,
        "lastReconciledAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _field_env(name: str, path: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}


def instance_selector(account: Account) -> dict[str, str]:
    return {"app.kubernetes.io/name": "kura", "app.kubernetes.io/instance": account.instance}


def _instance_labels(account: Account) -> dict[str, str]:
    return {
        **instance_selector(account),
        "app.kubernetes.io/managed-by": "kura-controller",
        "tuist.dev/account": account.handle,
        "tuist.dev/region": account.region,
    }


def _service_ports() -> list[dict[str, Any]]:
    return [
        {"name": name, "port": port, "targetPort": name}
        for name, port in (("http", 4000), ("grpc", 50051), ("peer", 7443))
    ]


def _streaming(protocol: str) -> dict[str, str]:
    prefix = "nginx.ingress.kubernetes.io/"
    return {
        prefix + "backend-protocol": protocol,
        prefix + "proxy-body-size": "0",
        prefix + "proxy-buffering": "off",
        prefix + "proxy-request-buffering": "off",
        prefix + "proxy-read-timeout": "3600",
        prefix + "proxy-send-timeout": "3600",
    }


def _ingress(
    account: Account, owned: dict[str, Any], name: str, host: str, port: str, protocol: str
) -> dict[str, Any]:
    secret = f"{account.instance}-{'public' if port == 'http' else 'grpc'}-tls"
    path = {
        "path": "/",
        "pathType": "Prefix",
        "backend": {"service": {"name": account.instance, "port": {"name": port}}},
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, **owned, "annotations": _streaming(protocol)},
        "spec": {
            "ingressClassName": account.ingress_class,
            "tls": [{"hosts": [host], "secretName": secret}],
            "rules": [{"host": host, "http": {"paths": [path]}}],
        },
    }


def _certificate(owned: dict[str, Any], name: str, host: str) -> dict[str, Any]:
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": name, **owned},
        "spec": {
            "secretName": name,
            "dnsNames": [host],
            "issuerRef": {"name": CLUSTER_ISSUER, "kind": "ClusterIssuer"},
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        },
    }


def _env(account: Account, spec: dict[str, Any]) -> list[dict[str, Any]]:
    headless = f"{account.instance}-headless"
    values = {
        "KURA_PORT": "4000",
        "KURA_GRPC_PORT": "50051",
        "KURA_TENANT_ID": spec["tenantID"],
        "KURA_REGION": spec["region"],
        "KURA_TMP_DIR": "/var/cache/kura/tmp",
        "KURA_DATA_DIR": "/var/cache/kura",
        "KURA_NODE_URL": f"https://$(POD_NAME).{headless}.$(POD_NAMESPACE).svc.cluster.local:7443",
        "KURA_DISCOVERY_DNS_NAME": f"{headless}.$(POD_NAMESPACE).svc.cluster.local",
        "KURA_INTERNAL_PORT": "7443",
        "KURA_INTERNAL_TLS_CA_CERT_PATH": "/etc/kura/peer-tls/ca.pem",
        "KURA_INTERNAL_TLS_CERT_PATH": "/etc/kura/peer-tls/tls.crt",
        "KURA_INTERNAL_TLS_KEY_PATH": "/etc/kura/peer-tls/tls.key",
        "KURA_DRAIN_COMPLETION_TIMEOUT_MS": "240000",
        "KURA_OTEL_SERVICE_NAME": "$(POD_NAME)",
        "KURA_OTEL_DEPLOYMENT_ENVIRONMENT": "production",
        "KURA_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": OTLP_ENDPOINT,
        "KURA_EXTENSION_ENABLED": "true",
        "KURA_EXTENSION_SCRIPT_PATH": "/etc/kura/extensions/hooks.lua",
    }
    return [
        _field_env("POD_NAME", "metadata.name"),
        _field_env("POD_NAMESPACE", "metadata.namespace"),
        *({"name": name, "value": value} for name, value in values.items()),
        *spec["extraEnv"],
    ]


def _probe(path: str, delay: int, period: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "initialDelaySeconds": delay,
        "periodSeconds": period,
        "timeoutSeconds": 5,
    }


def _stateful_set(
    account: Account, instance: dict[str, Any], owned: dict[str, Any], shared_secrets: str
) -> dict[str, Any]:
    spec = instance["spec"]
    labels = _instance_labels(account)
    container = {
        "name": "kura",
        "image": spec["image"],
        "imagePullPolicy": "IfNotPresent",
        "ports": [
            {"name": name, "containerPort": port}
            for name, port in (("http", 4000), ("grpc", 50051), ("peer", 7443))
        ],
        "env": _env(account, spec),
        "envFrom": [{"secretRef": {"name": "kura-shared-secrets", "optional": True}}],
        "resources": {
            "requests": {"cpu": "500m", "memory": "2Gi"},
            "limits": {"memory": "2Gi"},
        },
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/cache/kura"},
            {"name": "peer-tls", "mountPath": "/etc/kura/peer-tls", "readOnly": True},
            {"name": "extension-script", "mountPath": "/etc/kura/extensions", "readOnly": True},
        ],
        "lifecycle": {"preStop": {"exec": {"command": ["/bin/sh", "-c", PRE_STOP]}}},
        "readinessProbe": _probe("/ready", 5, 10),
        "livenessProbe": _probe("/up", 20, 20),
        "startupProbe": _probe("/up", 0, 10),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": account.instance, **owned},
        "spec": {
            "serviceName": f"{account.instance}-headless",
            "replicas": spec["replicas"],
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": instance_selector(account)},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port-name": "http",
                        "prometheus.io/path": "/metrics",
                        "kura.tuist.dev/shared-secrets-resource-version": shared_secrets,
                    },
                },
                "spec": {
                    "terminationGracePeriodSeconds": 275,
                    "nodeSelector": spec["nodeSelector"],
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "DoNotSchedule",
                            "labelSelector": {"matchLabels": instance_selector(account)},
                        }
                    ],
                    "containers": [container],
                    "volumes": [
                        {
                            "name": "peer-tls",
                            "secret": {"secretName": f"{account.instance}-peer-tls"},
                        },
                        {
                            "name": "extension-script",
                            "configMap": {"name": f"{account.instance}-extension"},
                        },
                    ],
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data", "labels": labels},
                    "spec": {
                        "accessModes": ["ReadWriteOncePod"],
                        "resources": {"requests": {"storage": "200Gi"}},
                        "storageClassName": spec["storageClassName"],
                    },
                }
            ],
            "persistentVolumeClaimRetentionPolicy": {
                "whenDeleted": "Delete",
                "whenScaled": "Retain",
            },
        },
    }


def instance_children(
    account: Account, instance: dict[str, Any], *, namespace: str, shared_secrets: str
) -> list[dict[str, Any]]:
    """Every child, in upstream's order; ``namespace`` is the real one (the peer certificate
    names it), ``shared_secrets`` the resourceVersion of ``kura-shared-secrets``."""
    name = account.instance
    labels = _instance_labels(account)
    owned = {"namespace": NAMESPACE, "labels": labels, "ownerReferences": _owner(instance)}
    selector = instance_selector(account)
    own_pods = {"podSelector": {"matchLabels": selector}}
    peers = {
        "podSelector": {
            "matchLabels": {"app.kubernetes.io/name": "kura", "tuist.dev/account": account.handle}
        }
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{name}-extension", **owned},
            "data": {"hooks.lua": instance["spec"]["extensionScript"]},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"{name}-headless", **owned},
            "spec": {
                "clusterIP": "None",
                "publishNotReadyAddresses": True,
                "selector": selector,
                "ports": _service_ports(),
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, **owned},
            "spec": {
                "type": "ClusterIP",
                "selector": {**selector, "statefulset.kubernetes.io/pod-name": f"{name}-0"},
                "ports": _service_ports(),
            },
        },
        _ingress(account, owned, name, account.public_host, "http", "HTTP"),
        _ingress(account, owned, f"{name}-grpc", account.grpc_host, "grpc", "GRPC"),
        _certificate(owned, f"{name}-public-tls", account.public_host),
        _certificate(owned, f"{name}-grpc-tls", account.grpc_host),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"{name}-peer-tls", **owned},
            "type": "Opaque",
            "data": {
                key: base64.b64encode(value.encode()).decode()
                for key, value in peer_tls(name, namespace, account.handle).items()
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, **owned},
            "spec": {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"from": [own_pods]},
                    {"from": [peers], "ports": [{"port": "peer", "protocol": "TCP"}]},
                    {
                        "from": [{"namespaceSelector": {}}],
                        "ports": [
                            {"port": "http", "protocol": "TCP"},
                            {"port": "grpc", "protocol": "TCP"},
                        ],
                    },
                ],
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": name, **owned},
            "spec": {
                "minAvailable": instance["spec"]["replicas"] - 1,
                "selector": {"matchLabels": selector},
            },
        },
        _stateful_set(account, instance, owned, shared_secrets),
    ]


def instance_status(
    account: Account, *, ready: int, revision: str, now: datetime
) -> dict[str, Any]:
    return {
        "phase": "Ready",
        "publicURL": f"https://{account.public_host}",
        "grpcPublicURL": f"grpcs://{account.grpc_host}",
        "observedImage": account.image,
        "readyReplicas": ready,
        "message": f"{ready}/{ready} replicas ready on revision {revision}",
        "lastReconciledAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


# --- upstream's self-signed peer TLS ----------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _usage(*, authority: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not authority,
        content_commitment=False,
        key_encipherment=not authority,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=authority,
        crl_sign=authority,
        encipher_only=False,
        decipher_only=False,
    )


def peer_tls(instance: str, namespace: str, handle: str) -> dict[str, str]:
    """A per-instance CA and leaf as Go's crypto/x509 makes them from upstream's templates:
    P-256 keys, the CA with a generated subject key id, the leaf (digital signature and key
    encipherment, server and client auth) with the CA's key id; the key in PKCS #8."""
    now = datetime.now(UTC)
    headless, peers = f"{instance}-headless", f"kura-{handle}-peers"
    names = [
        f"*.{headless}.{namespace}.svc.cluster.local",
        f"*.{headless}.{namespace}.svc",
        f"*.{headless}.{namespace}",
        headless,
        f"{headless}.{namespace}",
        f"{headless}.{namespace}.svc",
        f"{headless}.{namespace}.svc.cluster.local",
        peers,
        f"{peers}.{namespace}",
        f"{peers}.{namespace}.svc",
        f"{peers}.{namespace}.svc.cluster.local",
        f"*.{peers}.{namespace}.svc.cluster.local",
    ]
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_id = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{instance} peer CA"))
        .issuer_name(_name(f"{instance} peer CA"))
        .public_key(ca_key.public_key())
        .serial_number(secrets.randbits(127) | 1)
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(_usage(authority=True), critical=True)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(ca_id, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{instance} peer"))
        .issuer_name(_name(f"{instance} peer CA"))
        .public_key(leaf_key.public_key())
        .serial_number(secrets.randbits(127) | 1)
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=730))
        .add_extension(_usage(authority=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_id), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return {
        "ca.pem": ca.public_bytes(pem).decode(),
        "tls.crt": leaf.public_bytes(pem).decode(),
        "tls.key": leaf_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    }
