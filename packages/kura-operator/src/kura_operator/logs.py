"""Log hygiene on top of kopf's JSON logging."""

from __future__ import annotations

import logging
import re

_HANDLER_SUCCEEDED = re.compile(r"^Handler '[^']+' succeeded\.$")


class QuietHandlerSuccess(logging.Filter):
    """Drops kopf's "Handler '...' succeeded." lines.

    Every kopf handler here only requests a reconcile, so each watch event would log one such
    line: thousands per resync of a large fleet, saying nothing. The reconcilers log what they
    actually change, and failures still come through.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.levelno == logging.INFO and _HANDLER_SUCCEEDED.match(record.getMessage())
        )


def quiet_kopf(*, verbose: bool) -> None:
    if not verbose:
        logging.getLogger("kopf.objects").addFilter(QuietHandlerSuccess())
