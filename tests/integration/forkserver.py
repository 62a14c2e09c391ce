"""Run ``revier …`` commands as forks of one process that has imported revier already.

A ``revier admin`` command spends about 95% of its time importing revier (1.5 to 3 s
on a busy CI machine, 0.1 s doing its work), and the suite runs some hundreds of
them. The fork server imports revier once; each command is then a fresh child
process forked from it, with its own argument list, environment, working
directory, standard input and output, and exit status: the same ``main()`` on the
same code as ``python -m revier``, without the import. Only modules imported before
the fork are shared, and nothing runs at import time that holds a connection, a
thread or an event loop.

``REVIER_TEST_FORKSERVER=0`` runs every command as a process of its own instead.
Started lazily, once per test process; stopped when that process exits.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
_lock = threading.Lock()
_server: tuple[subprocess.Popen[bytes], str] | None = None
_broken = False


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
    request = {
        "args": args,
        "input": input_text,
        "env": dict(os.environ if env is None else env),
        "cwd": str(cwd or os.getcwd()),
    }
    path = _socket_path()
    if path is not None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(path)
            _send(conn, request)
            answer = _receive(conn)
        return subprocess.CompletedProcess(
            [sys.executable, "-m", "revier", *args],
            answer["code"],
            answer["stdout"],
            answer["stderr"],
        )
    return subprocess.run(
        [sys.executable, "-m", "revier", *args],
        input=input_text,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


def _socket_path() -> str | None:
    """The running fork server's socket, started now if need be; None where it is
    switched off or could not start."""
    global _server, _broken
    if os.environ.get("REVIER_TEST_FORKSERVER") == "0" or _broken:
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
            _broken = True  # say so once, then run commands the plain way
            print("fork server did not start: revier commands run unforked", file=sys.stderr)
            return None
        proc.stdout.close()
        _server = (proc, path)
        atexit.register(_stop, proc, path)
        return path


def _stop(proc: subprocess.Popen[bytes], path: str) -> None:
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


def _serve(path: str) -> None:
    """The fork server: import revier (the CLI and the app its commands load), then
    fork a child per connection. Children are reaped by the kernel (SIGCHLD ignored)."""
    for module in ("revier.cli", "revier.app"):  # the app: what the commands import lazily
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
                _child(conn)
            finally:
                os._exit(0)
        conn.close()


def _child(conn: socket.socket) -> None:
    """One command, as ``python -m revier`` would run it: its own working directory,
    environment and standard streams (files here, read back for the answer)."""
    request = _receive(conn)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    # Not closed: the process ends with the command (os._exit).
    streams = [tempfile.TemporaryFile() for _ in range(3)]  # noqa: SIM115
    streams[0].write(request["input"].encode())
    streams[0].seek(0)
    for fd, stream in enumerate(streams):
        os.dup2(stream.fileno(), fd)
    sys.argv = [sys.executable, *request["args"]]
    code: int
    try:
        import revier.cli

        code = revier.cli.main(request["args"])
    except SystemExit as e:  # argparse: --help, usage errors
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    out, err = (_read(s) for s in streams[1:])
    _send(conn, {"code": code, "stdout": out, "stderr": err})
    conn.close()


def _read(stream: Any) -> str:
    stream.seek(0)
    return str(stream.read().decode(errors="replace"))


if __name__ == "__main__":
    _serve(sys.argv[1])
