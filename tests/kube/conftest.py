"""Tests of kura-kube: the request builders, the one error, and both clients against the
Kubernetes double (faults on demand) and the real control plane."""
