"""Run ``revier …`` as forks of one process that has imported revier already.

A ``revier admin`` command spends about 95% of its time importing revier (1.5 to 3 s
on a busy CI machine, 0.1 s doing its work), a ``revier serve`` most of its start,
and the suite runs hundreds of both. The fork server imports revier once; each
command or server is then a fresh child process forked from it, with its own
argument list, environment, working directory, standard streams and exit status:
the same ``main()`` on the same code as ``python -m revier``, without the import.
Only modules imported before the fork are shared, and nothing runs at import time
that holds a connection, a thread or an event loop.

A command whose environment changes what Python imports (another ``PYTHON*``
variable than the tests', e.g. a previous release's ``PYTHONPATH``) runs as a
process of its own, and ``REVIER_TEST_FORKSERVER=0`` runs everything so.
Started lazily, once per test process; stopped when that process exits.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[2]
_lock = threading.Lock()
_server: tuple[subprocess.Popen[bytes], str] | None = None
_broken = False
_spawned: set[ForkedProcess] = set()  # the servers still running


def run(
    args: list[str],
    *,
    input_text: str = "",
    env: dict[str, str] | None = None,
    cwd: Path | str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run([python, "-m", "revier", *args], capture_output=True, text=True)``,
    forked from the fork server when it runs."""
    path = _socket_path(env)
    if path is None:
        return subprocess.run(
            [sys.executable, "-m", "revier", *args],
            input=input_text,
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            timeout=timeout,
        )
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(path)
        socket.send_fds(conn, [b"r"], [])
        _send(conn, _request(args, env, cwd) | {"input": input_text})
        answer = _receive(conn)
    return subprocess.CompletedProcess(
        [sys.executable, "-m", "revier", *args], answer["code"], answer["stdout"], answer["stderr"]
    )


class ForkedProcess:
    """A ``revier`` forked by the fork server, driven like the ``subprocess.Popen`` it
    stands for (pid, signals, poll/wait, returncode, its standard output)."""

    def __init__(self, args: list[str], conn: socket.socket, pid: int, stdout: IO[str]) -> None:
        self.args = args
        self.pid = pid
        self.stdout: IO[str] | None = stdout
        self.returncode: int | None = None
        self._conn = conn
        self._lock = threading.Lock()

    def poll(self) -> int | None:
        return self._wait(0)

    def wait(self, timeout: float | None = None) -> int:
        status = self._wait(timeout)
        if status is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return status

    def _wait(self, timeout: float | None) -> int | None:
        # Its exit status comes from the fork server's waiter (its parent) on the socket.
        with self._lock:
            if self.returncode is None and select.select([self._conn], [], [], timeout)[0]:
                self.returncode = int(_receive(self._conn)["status"])
                self._conn.close()
                _spawned.discard(self)
            return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def spawn(
    args: list[str], *, env: dict[str, str], cwd: Path, stderr: IO[str]
) -> ForkedProcess | subprocess.Popen[str]:
    """``subprocess.Popen([python, "-m", "revier", *args], stdout=PIPE, stderr=stderr,
    text=True)``: a long-running ``revier serve``, forked when the fork server runs."""
    path = _socket_path(env)
    if path is None:
        return subprocess.Popen(
            [sys.executable, "-m", "revier", *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
            cwd=cwd,
        )
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    read_end, write_end = os.pipe()
    try:
        socket.send_fds(conn, [b"s"], [write_end, stderr.fileno()])
    finally:
        os.close(write_end)
    _send(conn, _request(args, env, cwd))
    pid = int(_receive(conn)["pid"])
    forked = ForkedProcess(
        [sys.executable, "-m", "revier", *args], conn, pid, os.fdopen(read_end, "r")
    )
    _spawned.add(forked)
    return forked


def _request(args: list[str], env: dict[str, str] | None, cwd: Path | str | None) -> Any:
    return {
        "args": args,
        "env": dict(os.environ if env is None else env),
        "cwd": str(cwd or os.getcwd()),
    }


def _socket_path(env: dict[str, str] | None) -> str | None:
    """The running fork server's socket, started now if need be; None where it is
    switched off, could not start, or would import other code than ``env`` does."""
    global _server, _broken
    if os.environ.get("REVIER_TEST_FORKSERVER") == "0" or _broken:
        return None
    if env is not None and _python_vars(env) != _python_vars(os.environ):
        return None
    with _lock:
        if _server is not None and _server[0].poll() is None:
            return _server[1]
        path = str(Path(tempfile.mkdtemp(prefix="revier-forkserver-")) / "socket")
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.forkserver", path],
            cwd=REPO,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != b"ready":
            proc.kill()
            proc.wait()
            _broken = True  # said once; then everything runs unforked
            print("fork server did not start: revier runs unforked", file=sys.stderr)
            return None
        proc.stdout.close()
        _server = (proc, path)
        atexit.register(_stop, proc, path)
        return path


def _python_vars(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith("PYTHON")}


def _stop(proc: subprocess.Popen[bytes], path: str) -> None:
    # A server a failed test left running ends with the tests, not after them.
    for server in list(_spawned):
        if server.returncode is None:
            server.kill()
            server.wait(timeout=10)
    proc.terminate()
    proc.wait(timeout=10)
    Path(path).unlink(missing_ok=True)
    Path(path).parent.rmdir()


def _send(conn: socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message).encode()
    conn.sendall(struct.pack("!I", len(data)) + data)


def _receive(conn: socket.socket) -> Any:
    (size,) = struct.unpack("!I", _exactly(conn, 4))
    return json.loads(_exactly(conn, size))


def _exactly(conn: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = conn.recv(min(size, 1 << 20))
        if not chunk:
            raise ConnectionError("the fork server's child ended without an answer")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


# --- the fork server's side ---


def _serve(path: str) -> None:
    """Import revier (the CLI, the app its commands load, the server), then fork a
    child per connection; the kernel reaps them (SIGCHLD ignored)."""
    for module in ("revier.cli", "revier.app", "revier.server"):
        importlib.import_module(module)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        conn, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                served = _child(conn)
            except BaseException:
                traceback.print_exc()
                os._exit(1)
            if served is None:
                os._exit(0)
            # A server ends as a process does: atexit handlers, buffers flushed.
            sys.exit(served)
        conn.close()


def _child(conn: socket.socket) -> int | None:
    """A command run here, or a server forked from here and waited for; in the
    server's own process, its exit status (None elsewhere)."""
    kind, fds, _, _ = socket.recv_fds(conn, 1, 2)
    request = _receive(conn)
    if kind == b"r":
        _command(conn, request)
        return None
    pid = os.fork()
    if pid == 0:
        conn.close()
        stdin = os.open(os.devnull, os.O_RDONLY)
        _become(request, stdin=stdin, stdout=fds[0], stderr=fds[1])
        for fd in {stdin, *fds} - {0, 1, 2}:  # only the standard streams stay open
            os.close(fd)
        return _main(request["args"])
    # This process waits for the server (its child) and tells its exit status.
    for fd in fds:
        os.close(fd)
    _send(conn, {"pid": pid})
    _, status = os.waitpid(pid, 0)
    _send(conn, {"status": os.waitstatus_to_exitcode(status)})
    return None


def _command(conn: socket.socket, request: Any) -> None:
    """A command to its end, its standard streams in files read back for the answer."""
    # Not closed: the process ends with the command (os._exit).
    streams = [tempfile.TemporaryFile() for _ in range(3)]  # noqa: SIM115
    streams[0].write(request["input"].encode())
    streams[0].seek(0)
    _become(request, *(s.fileno() for s in streams))
    code = _main(request["args"])
    out, err = (_read(s) for s in streams[1:])
    _send(conn, {"code": code, "stdout": out, "stderr": err})
    conn.close()


def _become(request: Any, stdin: int, stdout: int, stderr: int) -> None:
    """This process as ``python -m revier`` would start: working directory,
    environment, standard streams."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for fd, source in enumerate((stdin, stdout, stderr)):
        os.dup2(source, fd)
    sys.argv = [sys.executable, *request["args"]]


def _main(args: list[str]) -> int:
    """``revier.cli.main(args)``'s exit status, as the process would end with it."""
    import revier.cli

    code: int
    try:
        code = revier.cli.main(args)
    except SystemExit as e:  # argparse: --help, usage errors
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def _read(stream: Any) -> str:
    stream.seek(0)
    return str(stream.read().decode(errors="replace"))


if __name__ == "__main__":
    _serve(sys.argv[1])
