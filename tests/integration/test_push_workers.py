"""Pushes with several workers on one PostgreSQL database: one worker sends, and
events written on any worker are pushed, once each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bench.push_gateway import PushGateway

from tests.integration.harness import RevierProcess
from tests.integration.push import (
    People,
    answering,
    gateway_fixture,
    push_options,
    room_with,
    send,
    set_pusher,
)
from tests.integration.workers import two_workers

gateway = gateway_fixture()


@pytest.fixture(scope="module")
def workers(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path, gateway: PushGateway
) -> Iterator[list[RevierProcess]]:
    with two_workers(engine, request, tmp_root, "push_workers", **push_options(gateway)) as procs:
        yield procs


async def test_events_written_on_either_worker_are_pushed_once(
    workers: list[RevierProcess], gateway: PushGateway, password_hash: str
) -> None:
    gw = answering(gateway)
    a, b = workers
    people = People(a, password_hash)
    alice, bob = await people.new(), await people.new()
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=60) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=60) as on_b,
    ):
        room = await room_with(on_a, alice, bob)
        key = await set_pusher(on_b, bob, gw)
        sent = []
        for worker in (on_a, on_b, on_b, on_a):
            sent.append(await send(worker, alice, room))
            await gw.wait_for_event(sent[-1], key)
        extra = await send(on_b, alice, room)
        await gw.wait_for_event(extra, key)
    assert [p.notification["event_id"] for p in gw.pushes(key)] == [*sent, extra]
