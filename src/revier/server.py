"""Running the ASGI app under uvicorn, and saying when it is ready."""

from __future__ import annotations

import socket
import sys

import uvicorn

from revier.app import create_app
from revier.config import Settings
from revier.logs import configure_logging


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, settings: Settings) -> None:
        super().__init__(config)
        self._settings = settings

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            host = self.config.host
            port = self.servers[0].sockets[0].getsockname()[1] if self.servers else self.config.port
            names = ", ".join(t.server_name for t in self._settings.tenants)
            # One line on stdout, so people and test harnesses know when to start.
            print(f"revier ready on http://{host}:{port} (tenants: {names})", flush=True)


def run(settings: Settings) -> int:
    configure_logging(settings.logging)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.server.bind_address,
        port=settings.server.port,
        loop="auto",
        http="auto",
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=int(settings.server.shutdown_grace_seconds),
    )
    server = _Server(config, settings)
    server.run()
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit("use: revier serve")
