"""A device's acknowledgements: cheap when nothing was sent to it, exact when something was.

On a real SQLite store, its commits announced to a real notifier's change log,
as in the server (``services/container/build.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest
from prometheus_client import REGISTRY

from revier.notify.changes import MAX_SPAN
from revier.notify.local import LocalNotifier
from revier.services.core import Requester, SystemClock
from revier.services.core.tenants import Tenant
from revier.services.e2e.to_device import ToDeviceService
from revier.storage import Store, streams
from revier.storage.e2e import E2eRepos
from revier.storage.e2e.to_device import ToDeviceMessage
from revier.storage.engine import create_engines, migrate

ALICE = Requester("@alice:t", "PHONE", cast(Tenant, None), is_admin=False, token_hash=b"")


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[tuple[Store, ToDeviceService]]:
    engines = create_engines(f"sqlite:///{tmp_path / 'revier.db'}")
    await migrate(engines)
    store = Store(engines)
    notifier = LocalNotifier()
    store.on_commit = lambda written: notifier.announce(written.positions, written.changes)
    async with store.read() as tx:
        notifier.changes.observed(await tx.streams.current())
    yield store, ToDeviceService(store, notifier, SystemClock())
    await store.close()


async def others_write(store: Store, positions: int) -> int:
    """``positions`` positions taken by changes that are not the device's; the last."""
    async with store.transaction() as tx:
        for _ in range(positions):
            position = await tx.streams.next_position()
            tx.changes.record(position, streams.ACCOUNT_DATA, "@bob:t")
    return position


async def send_to_alice(store: Store) -> int:
    async with store.transaction() as tx:
        position = await tx.streams.next_position()
        message = ToDeviceMessage("@alice:t", "PHONE", "@bob:t", "m.room_key", {"k": 1})
        await E2eRepos.of(tx).to_device.add([message], position)
    return position


async def pending(store: Store, upto: int) -> int:
    async with store.read() as tx:
        return len(await E2eRepos.of(tx).to_device.pending("@alice:t", "PHONE", 0, upto, 10))


def unknown_windows() -> float:
    found = REGISTRY.get_sample_value("revier_change_log_answers_total", {"answer": "unknown"})
    return found or 0.0


async def test_syncs_with_nothing_sent_never_look_further_back_than_the_last(
    service: tuple[Store, ToDeviceService],
) -> None:
    store, to_device = service
    await to_device.acknowledge(ALICE, await others_write(store, 1))  # the first: read once
    before = unknown_windows()
    # Far more positions in all than the log answers for in one window: each
    # acknowledgement must start from the one before, not from the first.
    step = MAX_SPAN // 4
    for _ in range(8):
        await to_device.acknowledge(ALICE, await others_write(store, step))
    assert unknown_windows() == before


async def test_a_message_after_quiet_acknowledgements_is_kept_until_acknowledged(
    service: tuple[Store, ToDeviceService],
) -> None:
    store, to_device = service
    await to_device.acknowledge(ALICE, await others_write(store, 1))
    await to_device.acknowledge(ALICE, await others_write(store, 10))
    sent = await send_to_alice(store)
    await to_device.acknowledge(ALICE, sent - 1)  # a token from before it
    assert await pending(store, sent) == 1
    later = await others_write(store, 3)
    await to_device.acknowledge(ALICE, later)
    assert await pending(store, later) == 0
