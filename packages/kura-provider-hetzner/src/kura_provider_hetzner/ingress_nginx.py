"""The ``ingress-nginx`` ingress provider: gateways run the community ingress-nginx controller."""

from __future__ import annotations


class IngressNginxProvider:
    name = "ingress-nginx"

    def default_controller_class(self, ingress_class_name: str) -> str:
        # One controller class per IngressClass, so each controller only serves its own class.
        return f"k8s.io/{ingress_class_name}-ingress-nginx"
