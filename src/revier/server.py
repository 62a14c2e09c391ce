"""Running the ASGI app under uvicorn: refusing to start in one line, saying when
it is ready, and stopping at once when told to.

The app's start-up and shut-down (its lifespan) run here, around uvicorn, not
inside it: a refusal (``StartupRefused``: a renamed tenant, a database from a
newer release, a weak initial admin password) then reaches the operator as one
line and exit status 2, instead of uvicorn's traceback of a failed lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack

import structlog
import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from revier.api.hangup import HANGUP
from revier.app import create_app, metrics_app
from revier.config import Settings, StartupRefused
from revier.conformance import WARNING, startup_problem
from revier.gc_pacing import paced_collection
from revier.logs import configure_logging
from revier.storage.datadir import holding_data_dir
from revier.storage.engine import is_sqlite_url


class _Server(uvicorn.Server):
    def __init__(
        self, config: uvicorn.Config, settings: Settings, on_stopping: Callable[[], None]
    ) -> None:
        super().__init__(config)
        self._settings = settings
        self._on_stopping = on_stopping

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            host = self.config.host
            port = self.servers[0].sockets[0].getsockname()[1] if self.servers else self.config.port
            names = ", ".join(t.server_name for t in self._settings.tenants)
            # One line on stdout, so people and test harnesses know when to start. It
            # comes first: a harness waits for it with select() on the pipe, which
            # can't see a line already read into the pipe reader's buffer.
            print(f"revier ready on http://{host}:{port} (tenants: {names})", flush=True)
            if len(self.servers) > 1:
                metrics_host, metrics_port = self.servers[1].sockets[0].getsockname()[:2]
                path = self._settings.metrics.path
                print(f"metrics on http://{metrics_host}:{metrics_port}{path}", flush=True)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Long-polls answer now, empty and with the client's own token, instead of
        # holding the stop up until the grace period cuts them off with a 500.
        self._on_stopping()
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            # uvicorn raises the signal that stopped it again once it is done, which
            # ends the process as "killed by SIGTERM". A stop that was asked for and
            # carried out is a clean exit: status 0, for systemd and scripts alike.
            self._captured_signals.clear()


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
    try:
        with ExitStack() as held:
            held.enter_context(_exclusive(settings))
            server = settings.server
            sockets = [held.enter_context(_listening(server.bind_address, server.port, "server"))]
            metrics = settings.metrics
            if metrics.enabled and metrics.port is not None:
                host = metrics.bind_address or server.bind_address
                sockets.append(held.enter_context(_listening(host, metrics.port, "metrics")))
            config = _uvicorn_config(settings, sockets)
            with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
                return runner.run(_serve(settings, config, sockets))
    except StartupRefused as e:
        print(f"revier: {e}", file=sys.stderr)
        return 2


async def _serve(settings: Settings, config: uvicorn.Config, sockets: list[socket.socket]) -> int:
    app = config.app
    assert isinstance(app, _Listeners)
    async with app.main.router.lifespan_context(app.main), paced_collection():
        server = _Server(config, settings, app.main.state.services.notifier.stop_waiting)
        await server.serve(sockets=sockets)
        return 0 if server.started else 1


class _Hangup:
    """One connection's ``Hangup`` (``revier.api.hangup``): whether its client left,
    and the one Future a wait parks (HTTP/1.1 answers one request at a time)."""

    __slots__ = ("_waiter", "gone")

    def __init__(self) -> None:
        self.gone = False
        self._waiter: asyncio.Future[bool] | None = None

    def wake_on_hangup(self, future: asyncio.Future[bool] | None) -> None:
        self._waiter = future

    def lost(self) -> None:
        self.gone = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(False)
        self._waiter = None


class _HttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol, telling a waiting long-poll that its client hung up.

    uvicorn learns of a lost connection in ``connection_lost`` but tells the app
    only through ``receive()``, which a handler would have to await in a second
    task for the whole wait. Here each request's scope carries the connection's
    ``_Hangup``, which completes the wait's Future when the client goes, so a
    parked request stays a Future on the notifier and nothing more. The scope
    holds the hangup, not the protocol: the protocol holds the scope, and that
    cycle would keep every closed connection's objects (transport, request
    cycle, buffers) until a full pass of the cyclic collector, up to a minute
    (``revier.gc_pacing``).
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.hangup = _Hangup()
        sock = transport.get_extra_info("socket")
        if sock is not None:
            notice_silent_drops(sock)
        super().connection_made(transport)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope.setdefault("extensions", {})[HANGUP] = {"connection": self.hangup}

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.hangup.lost()


# A phone that loses its network sends no FIN: without these, its socket (and
# the parked request on it) stays until the long-poll's own timeout, and the
# answer written then is retransmitted to nobody for ~15 minutes (tcp_retries2)
# with its buffers held. Keepalive probes find a silent peer after about
# IDLE + INTERVAL * COUNT seconds of quiet; TCP_USER_TIMEOUT drops a connection
# whose written data stays unacknowledged that long. Both are Linux options;
# elsewhere the connection simply lives as before.
KEEPALIVE_IDLE_S = 30
KEEPALIVE_INTERVAL_S = 10
KEEPALIVE_COUNT = 3
UNACKNOWLEDGED_TIMEOUT_MS = 60_000


def notice_silent_drops(sock: socket.socket) -> None:
    """Ask the kernel to find and close connections whose peer went silent."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for option, value in (
            ("TCP_KEEPIDLE", KEEPALIVE_IDLE_S),
            ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL_S),
            ("TCP_KEEPCNT", KEEPALIVE_COUNT),
            ("TCP_USER_TIMEOUT", UNACKNOWLEDGED_TIMEOUT_MS),
        ):
            if hasattr(socket, option):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


class _Listeners:
    """One uvicorn for both listeners: a request that came in on the metrics
    listener reaches the metrics alone, never the client API."""

    def __init__(self, main: Starlette, metrics: ASGIApp | None, metrics_port: int | None) -> None:
        self.main, self._metrics, self._metrics_port = main, metrics, metrics_port
        # What Starlette's own __call__ would call (``create_app`` sets it).
        assert main.middleware_stack is not None
        self._main_stack = main.middleware_stack

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine: it hands on the app's, so a parked long-poll's stack
        # holds no frame of it, nor of Starlette's __call__, done here instead.
        server = scope.get("server")
        if self._metrics is not None and server is not None and server[1] == self._metrics_port:
            return self._metrics(scope, receive, send)
        scope["app"] = self.main
        return self._main_stack(scope, receive, send)


# How long an idle keep-alive connection stays open. Longer than the clients'
# and proxies' own: a client reusing a connection the server is closing at that
# moment gets "server disconnected" (httpx keeps them 5 s, aiohttp 15 s, nginx's
# upstream keepalive 60 s — where a POST then fails as a 502). uvicorn's default
# is 5 s; tests saw the race under load.
KEEP_ALIVE_S = 75

# Connections waiting to be accepted. When thousands of phones reconnect at once
# (a restart, a network blip) a full queue drops their SYNs, and each dropped
# one is retried by the phone's kernel only after 1, 3, 7, 15 s (two workers
# took 47 s to hold the 25,000 soak's long-polls, opened in one second).
# uvicorn's default is 2,048; asked for high, the kernel caps it at
# net.core.somaxconn (docs/operations.md).
LISTEN_BACKLOG = 65535


def _uvicorn_config(settings: Settings, sockets: list[socket.socket]) -> uvicorn.Config:
    metrics_port = sockets[1].getsockname()[1] if len(sockets) > 1 else None
    app = _Listeners(
        create_app(settings), metrics_app(settings) if metrics_port else None, metrics_port
    )
    return uvicorn.Config(
        app,
        host=settings.server.bind_address,
        port=settings.server.port,
        loop="auto",
        http=_HttpProtocol,
        # Said, not guessed: uvicorn takes an app whose __call__ is no coroutine
        # function (``_Listeners``) for the old two-call interface.
        interface="asgi3",
        # run by _serve around uvicorn (see the module's docstring)
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=int(settings.server.shutdown_grace_seconds),
        timeout_keep_alive=KEEP_ALIVE_S,
        backlog=LISTEN_BACKLOG,
    )


@contextlib.contextmanager
def _exclusive(settings: Settings) -> Iterator[None]:
    """SQLite: this process alone serves the data directory (see storage.datadir)."""
    if is_sqlite_url(settings.database_url):
        with holding_data_dir(settings.server.data_dir):
            yield
    else:
        yield


@contextlib.contextmanager
def _listening(host: str, port: int, section: str) -> Iterator[socket.socket]:
    """A listening socket, bound before the database is touched: a port in use
    is one line, not uvicorn's error after a full start."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # A restart right after a stop must not wait for the old connections' TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            where = "--port, or server.port" if section == "server" else "metrics.port"
            raise StartupRefused(
                f"port {port} on {host} is in use by another program: stop it, or choose "
                f"another port ({where} in the configuration)"
            ) from None
        raise StartupRefused(f"can't listen on {host} port {port}: {e.strerror}") from None
    with sock:
        yield sock
