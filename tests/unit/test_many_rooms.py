"""Reads over many rooms at once (``storage/rooms/many_rooms.py``) answer each room
as the one-room reads do — on a real SQLite database, rows written directly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import insert

from revier.storage.engine import create_engines, migrate
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.many_rooms import TimelineRange
from revier.storage.rooms.tables import events, memberships, rooms
from revier.storage.store import Store

ROOMS = [f"!room{k}:test" for k in range(60)]  # more than one statement's 50


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    engines = create_engines(f"sqlite:///{tmp_path / 'revier.db'}")
    await migrate(engines)
    store = Store(engines)
    position = 0
    async with store.transaction() as tx:
        for k, room_id in enumerate(ROOMS):
            await tx.conn.execute(
                insert(rooms).values(
                    room_id=room_id,
                    tenant="test",
                    room_version="10",
                    creator="@a:test",
                    created_ts=0,
                )
            )
            # Per room: its name (state, ts 0), then k % 7 + 3 messages, ts 100, 200, …
            rows = [("m.room.name", "", 0)]
            rows += [("m.room.message", None, 100 * (j + 1)) for j in range(k % 7 + 3)]
            for event_type, state_key, ts in rows:
                position += 1
                event_id = f"$e{position}"
                body = {
                    "type": event_type,
                    "room_id": room_id,
                    "sender": "@a:test",
                    "origin_server_ts": ts,
                    "content": {},
                }
                if state_key is not None:
                    body["state_key"] = state_key
                await tx.conn.execute(
                    insert(events).values(
                        event_id=event_id,
                        stream_ordering=position,
                        room_id=room_id,
                        type=event_type,
                        state_key=state_key,
                        sender="@a:test",
                        depth=position,
                        origin_server_ts=ts,
                        json=orjson.dumps(body).decode(),
                    )
                )
            for who in ("@c:test", "@b:test", "@a:test", "@d:test")[: 1 + k % 4]:
                await tx.conn.execute(
                    insert(memberships).values(
                        room_id=room_id,
                        user_id=who,
                        membership="join",
                        event_id=f"$m-{room_id}-{who}",
                        stream_ordering=0,
                    )
                )
    yield store
    await store.close()


async def test_timelines_with_each_rooms_cutoff_as_read_one_by_one(store: Store) -> None:
    """Each room's own retention cutoff applies inside the one statement: the limit
    counts only messages still served, and state events stay."""
    cutoffs = {room_id: (None if k % 3 == 0 else 100 * (k % 5)) for k, room_id in enumerate(ROOMS)}
    async with store.read() as tx:
        db = RoomRepos.of(tx)
        upto = 10_000
        ranges = [TimelineRange(r, None, upto, 4, cutoffs[r]) for r in ROOMS]
        together = await db.many_rooms.newest_in_rooms(ranges)
        for room_id in ROOMS:
            alone = await db.events.room_events(
                room_id, upto=upto, limit=4, not_before_ts=cutoffs[room_id]
            )
            assert [e.event_id for e in together[room_id]] == [e.event_id for e in alone]
        # A cutoff took effect somewhere: the name, older than any message, came back.
        assert any(e.pdu.type == "m.room.name" for t in together.values() for e in t)


async def test_heroes_of_many_rooms_as_of_each_room(store: Store) -> None:
    async with store.read() as tx:
        db = RoomRepos.of(tx)
        together = await db.many_rooms.heroes_in_rooms(ROOMS, "@a:test", 2)
        for room_id in ROOMS:
            assert together[room_id] == await db.memberships.heroes(room_id, "@a:test", 2)
        assert together[ROOMS[3]] == ["@b:test", "@c:test"]
