"""Running the ASGI app under uvicorn, and saying when it is ready."""

from __future__ import annotations

import socket
import sys

import structlog
import uvicorn

from revier.app import create_app
from revier.config import Settings
from revier.conformance import WARNING, startup_problem
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


def run(settings: Settings, *, conformance_mode: bool = False) -> int:
    """Serve until stopped: 0 after a clean stop, 1 if start-up failed, 2 if refused."""
    problem = startup_problem(settings, flag=conformance_mode)
    if problem is not None:
        print(f"revier: {problem}", file=sys.stderr)
        return 2
    configure_logging(settings.logging)
    if conformance_mode:
        log = structlog.get_logger("revier")
        for _ in range(3):  # hard to miss in a scrolling log
            log.warning(WARNING)
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
