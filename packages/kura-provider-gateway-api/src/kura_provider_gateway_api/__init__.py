"""kura's ``gateway-api`` ingress provider: gateways as Gateway API objects (Envoy Gateway)."""
