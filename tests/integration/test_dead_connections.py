"""Clients that hang up while their long-poll waits (issue 23): phones drop
connections all the time.

A /sync or sliding-sync request whose client closes its connection is released
within a second, seen in the ``revier_long_polls_waiting`` gauge; nothing is
answered or stored for it, so the client's next request with its old
``since``/``pos`` still gets what arrived in between. Stopping the server still
answers the requests that wait: test_lifecycle.py.
"""

from __future__ import annotations

import asyncio
import re
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlencode

import httpx
import orjson

from tests.integration.conftest import server_fixture
from tests.integration.harness import RevierProcess
from tests.integration.sliding import SS, Connection, one_list
from tests.integration.steps import create_room, log_in, say

# A server of this module's own: the gauge counts every wait of the process.
# Plain messages in its rooms, as on the shared server (the tests read them back).
server = server_fixture(
    "deadconn", scope="module", tenant_policy={"plaintext_in_encrypted_rooms": "allow"}
)

CLIENTS = 50
V3 = "/_matrix/client/v3"
_GAUGE = re.compile(r"^revier_long_polls_waiting (\S+)$", re.MULTILINE)


async def waiting(http: httpx.AsyncClient) -> int:
    """The server's count of long-polls parked waiting, from its metrics."""
    metrics = (await http.get("/_revier/metrics")).text
    found = _GAUGE.search(metrics)
    assert found, "no revier_long_polls_waiting in the metrics"
    return int(float(found.group(1)))


async def until(http: httpx.AsyncClient, done: Callable[[int], bool], within_s: float) -> float:
    """Poll the gauge until ``done(gauge)``; the seconds it took."""
    started = time.monotonic()
    while not done(count := await waiting(http)):
        assert time.monotonic() - started < within_s, f"gauge stuck at {count}"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


class RawClient:
    """A long-poll on a socket of its own, hung up on without a word."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def send(
        cls, url: str, method: str, path: str, token: str, body: bytes | None = None
    ) -> RawClient:
        address = httpx.URL(url)
        reader, writer = await asyncio.open_connection(address.host, address.port)
        head = [
            f"{method} {path} HTTP/1.1",
            f"Host: {address.host}:{address.port}",
            f"Authorization: Bearer {token}",
        ]
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        writer.write("\r\n".join([*head, "", ""]).encode() + (body or b""))
        await writer.drain()
        return cls(reader, writer)

    def hang_up(self, *, reset: bool) -> None:
        """Close abruptly: with a reset (the phone's socket torn down), or a plain FIN."""
        if reset:
            sock = self.writer.get_extra_info("socket")
            # SO_LINGER on with 0 s: closing sends a reset instead of a FIN.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.writer.transport.abort()
        else:
            self.writer.close()


async def hold_then_hang_up(
    http: httpx.AsyncClient, open_one: Callable[[], Awaitable[RawClient]]
) -> float:
    """Park CLIENTS long-polls, hang all up; the seconds until the server let them go."""
    clients = [await open_one() for _ in range(CLIENTS)]
    await until(http, lambda n: n >= CLIENTS, within_s=20)
    for i, client in enumerate(clients):
        client.hang_up(reset=i % 2 == 0)
    return await until(http, lambda n: n == 0, within_s=5)


async def test_sync_long_polls_of_clients_that_hung_up_end_within_a_second(
    server: RevierProcess, make_user
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        me = await log_in(http, make_user("sync-gone"))
        room = await create_room(http, me)
        since = (await http.get(f"{V3}/sync", headers=me.headers)).json()["next_batch"]
        path = f"{V3}/sync?" + urlencode({"since": since, "timeout": 60_000})

        released = await hold_then_hang_up(
            http, lambda: RawClient.send(server.url, "GET", path, me.token)
        )
        assert released < 2.0, released

        # Nothing was taken from the client: its old token brings what came since.
        event_id = await say(http, me, room, "while you were away")
        r = await http.get(f"{V3}/sync", params={"since": since}, headers=me.headers)
        timeline = r.json()["rooms"]["join"][room]["timeline"]["events"]
        assert event_id in [e["event_id"] for e in timeline]
        metrics = (await http.get("/_revier/metrics")).text
    assert 'endpoint="sync",method="GET",status="499"' in metrics
    assert "Traceback" not in server.log_path.read_text()


async def test_sliding_sync_long_polls_of_clients_that_hung_up_end_within_a_second(
    server: RevierProcess, make_user
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        me = await log_in(http, make_user("ss-gone"))
        phone = Connection(http, me, one_list([[0, 10]], timeline_limit=5))
        await phone.sync()
        path = f"{SS}?" + urlencode({"pos": phone.pos, "timeout": 60_000})
        body = orjson.dumps(phone.body)

        released = await hold_then_hang_up(
            http, lambda: RawClient.send(server.url, "POST", path, me.token, body)
        )
    assert released < 2.0, released
    assert "Traceback" not in server.log_path.read_text()


async def test_sliding_sync_after_a_hang_up_the_old_pos_brings_what_came_in_between(
    server: RevierProcess, make_user
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        me = await log_in(http, make_user("ss-back"))
        room = await create_room(http, me)
        phone = Connection(http, me, one_list([[0, 10]], timeline_limit=5))
        await phone.sync()
        await say(http, me, room, "seen before the drop")
        await phone.sync()  # the room is live on the connection, up to this pos
        old_pos = phone.pos

        body = orjson.dumps(phone.body)
        path = f"{SS}?" + urlencode({"pos": old_pos, "timeout": 60_000})
        # Hung up on while waiting, before the message: nothing is stored for it.
        gone = await RawClient.send(server.url, "POST", path, me.token, body)
        await until(http, lambda n: n >= 1, within_s=10)
        gone.hang_up(reset=True)
        await until(http, lambda n: n == 0, within_s=5)
        await say(http, me, room, "first while away")
        # Answered at once (the message is news) but lost on the way: the
        # response left the server, the phone never read its body.
        lost = await RawClient.send(server.url, "POST", path, me.token, body)
        assert (await lost.reader.readline()).startswith(b"HTTP/1.1 200")
        lost.hang_up(reset=True)

        back = await phone.sync()  # with the old pos
    assert phone.pos != old_pos
    bodies = [e["content"].get("body") for e in back["rooms"][room]["timeline"]]
    assert bodies == ["first while away"], bodies


def _timers_of_connections_to(port: int) -> dict[int, str]:
    """The kernel's timer (``tr`` of /proc/net/tcp) on each of the server's
    established sockets at ``port``, by the client's port: 02 is keepalive."""
    timers: dict[int, str] = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, timer = fields[1], fields[2], fields[3], fields[5]
        if state == "01" and int(local.split(":")[1], 16) == port:
            timers[int(remote.split(":")[1], 16)] = timer.split(":")[0]
    return timers


async def test_a_silent_client_is_probed_by_tcp_keepalive(server: RevierProcess, make_user) -> None:
    """A phone that loses its network sends nothing: the server's side of its
    connection runs the kernel's keepalive timer, so the dead peer is found
    and its parked request released (revier.server.notice_silent_drops)."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        me = await log_in(http, make_user("silent"))
        since = (await http.get(f"{V3}/sync", headers=me.headers)).json()["next_batch"]
        path = f"{V3}/sync?" + urlencode({"since": since, "timeout": 60_000})
        client = await RawClient.send(server.url, "GET", path, me.token)
        await until(http, lambda n: n >= 1, within_s=20)
        mine = client.writer.get_extra_info("sockname")[1]
        assert _timers_of_connections_to(httpx.URL(server.url).port or 80).get(mine) == "02"
        client.hang_up(reset=True)
        await until(http, lambda n: n == 0, within_s=5)
