"""The socket options that let the kernel find a peer gone silent (server.py)."""

from __future__ import annotations

import socket
import sys

import pytest

from revier.server import (
    KEEPALIVE_COUNT,
    KEEPALIVE_IDLE_S,
    KEEPALIVE_INTERVAL_S,
    UNACKNOWLEDGED_TIMEOUT_MS,
    notice_silent_drops,
)


@pytest.mark.skipif(sys.platform != "linux", reason="the TCP options are Linux's")
def test_an_accepted_connection_gets_keepalive_and_a_user_timeout() -> None:
    with (
        socket.create_server(("127.0.0.1", 0)) as listener,
        socket.create_connection(listener.getsockname()),
    ):
        accepted, _ = listener.accept()
        with accepted:
            notice_silent_drops(accepted)
            get = accepted.getsockopt
            assert get(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            assert get(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == KEEPALIVE_IDLE_S
            assert get(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == KEEPALIVE_INTERVAL_S
            assert get(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == KEEPALIVE_COUNT
            assert get(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == UNACKNOWLEDGED_TIMEOUT_MS


def test_a_unix_socket_is_left_alone() -> None:
    left, right = socket.socketpair()
    with left, right:
        notice_silent_drops(left)  # no TCP options on a Unix socket, and no error
        assert left.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
