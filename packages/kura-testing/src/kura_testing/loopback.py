"""An HTTP server on 127.0.0.1, served from a thread: stand-ins and scrape targets for tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LoopbackServer(ThreadingHTTPServer):
    """Serves ``handler`` on 127.0.0.1 at a port the kernel picks as it binds, while
    :meth:`serving`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``, as a scrape target or a proxy names it."""
        return f"127.0.0.1:{self.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @contextmanager
    def serving(self) -> Iterator[Self]:
        """Answer on a thread until the block ends, then stop and close the port."""
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.shutdown()
            self.server_close()
