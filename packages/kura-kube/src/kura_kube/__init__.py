"""kura-kube: kura's one way to the Kubernetes API.

The resource table is kura-core's (``kura_core.Kind`` and its constants); here are the requests
built from it (:mod:`kura_kube.requests`), the one error every request raises
(:class:`KubeError`), and two clients that send them: :class:`kura_kube.client.KubeClient`
(synchronous, for the smoke tool and the dashboard) and :class:`kura_kube.aio.AsyncKubeClient`
(for the operator). The clients are imported from their modules, so importing this package
loads no Kubernetes client.
"""

from kura_kube.errors import ConfigError, KubeError, redact
from kura_kube.requests import Request

__all__ = ["ConfigError", "KubeError", "Request", "redact"]
