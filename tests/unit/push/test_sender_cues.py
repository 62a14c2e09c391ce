"""The push sender's cues: a user whose pusher was set just before a message is
pushed that message.

``PushActions.record`` cues the sender inside the event's transaction, before
its commit. A cue for a user whose new pusher the sender has not loaded yet was
dropped; the round that then loaded the pusher looked for what is owed in a
snapshot without the event, and nothing cued the user again until the rescan
minutes later (seen in CI as a lost push in ``test_duty_hours.py``).

The sender as the server wires it (``build_services``), on a real SQLite store;
its rounds are run here one at a time, as its task would run them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from revier.config import Settings
from revier.services.container.build import build_services
from revier.services.notifications.push_sender import PushSender
from revier.storage import Store
from revier.storage.engine import create_engines, migrate
from revier.storage.notifications import NotificationRepos
from revier.storage.notifications.pushers import NewPusher

BOB = "@bob:localhost"


@pytest.fixture
async def sender(tmp_path: Path) -> AsyncIterator[tuple[Store, PushSender]]:
    settings = Settings.model_validate({"server": {"data_dir": str(tmp_path)}})
    engines = create_engines(settings.database_url)
    await migrate(engines)
    store = Store(engines)
    sender = build_services(settings, store).push_sender
    sender._running = True  # as its task does before the first load
    await sender._load()
    yield store, sender
    await sender.deliveries.stop()
    await store.close()


async def set_pusher(store: Store, user_id: str) -> None:
    async with store.transaction() as tx:
        pusher = NewPusher(
            user_id, "PHONE", "http", "app", "key", "App", "Phone", None, "en",
            {"url": "http://127.0.0.1:9/_matrix/push/v1/notify"},
        )  # fmt: skip
        position = await tx.streams.current()
        await NotificationRepos.of(tx).pushers.upsert(pusher, now_ms=0, position=position)


async def commit_a_position(store: Store) -> int:
    async with store.transaction() as tx:
        return await tx.streams.next_position()


async def test_a_cue_before_the_new_pusher_is_loaded_waits_for_its_commit(
    sender: tuple[Store, PushSender],
) -> None:
    store, push_sender = sender
    await set_pusher(store, BOB)
    push_sender._changed(frozenset({f"u:{BOB}"}))  # the commit's wake-up: reload bob's
    async with store.read() as tx:
        uncommitted = await tx.streams.current() + 1
    push_sender._notified([BOB], uncommitted)  # a message to bob, not yet committed
    await push_sender._round()  # loads bob's pusher; the message isn't there yet
    assert push_sender._dirty == {BOB: uncommitted}, "the cue was dropped"
    assert await commit_a_position(store) == uncommitted
    await push_sender._round()  # now it is: looked for, the cue taken
    assert push_sender._dirty == {}


async def test_a_user_without_pushers_costs_no_cue_once_loaded(
    sender: tuple[Store, PushSender],
) -> None:
    store, push_sender = sender
    await push_sender._round()
    push_sender._notified(["@nobody:localhost"], await commit_a_position(store))
    assert push_sender._dirty == {}
