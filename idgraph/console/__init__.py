"""The steward console (`idgraph console`, or `IDGRAPH_CONSOLE_ADDR` with `idgraph serve`):
see app.py."""

from __future__ import annotations

import threading
from typing import Any

from idgraph.console.app import Console


def serve_console(app: Any, address: str, tls: tuple[str, str] | None = None
                  ) -> tuple[Any, threading.Thread]:
    """Serve an ASGI app on host:port in a thread, over HTTPS with `tls` (certificate chain
    and key files); answer (the uvicorn server, its thread): ``server.should_exit = True``
    stops it."""
    import uvicorn

    host, _, port = address.rpartition(":")
    server = uvicorn.Server(uvicorn.Config(
        app, host=host or "127.0.0.1", port=int(port), log_level="warning", access_log=False,
        lifespan="off", ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None))
    thread = threading.Thread(target=server.run, name="console", daemon=True)
    thread.start()
    return server, thread


__all__ = ["Console", "serve_console"]
