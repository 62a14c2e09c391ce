"""The notifier's waits time out on shared timers (one per tick of deadlines): each
wait still ends by its own timeout, at most a tick late, and one that ends
otherwise leaves nothing behind."""

from __future__ import annotations

import asyncio

from revier.notify import LocalNotifier
from revier.notify.local import _TICK_S


async def _wait(notifier: LocalNotifier, room: str, timeout_s: float) -> tuple[bool, float]:
    loop = asyncio.get_running_loop()
    start = loop.time()
    woke = await notifier.wait(since_serial=0, rooms=[room], users=[], timeout_s=timeout_s)
    return woke, loop.time() - start


async def test_each_wait_ends_by_its_own_timeout_at_most_a_tick_late() -> None:
    notifier = LocalNotifier()
    timeouts = [0.05, 0.05, 0.12, 0.3, 0.3, 0.31]
    ended = await asyncio.gather(*(_wait(notifier, "!r", t) for t in timeouts))
    for timeout, (woke, took) in zip(timeouts, ended, strict=True):
        assert woke is False
        # Never early; late by at most a tick (and the loop's own slack).
        assert timeout <= took + 0.002 and took <= timeout + _TICK_S + 0.05, (timeout, took)
    assert not notifier._deadlines and not notifier._waiters


async def test_a_woken_wait_is_taken_off_its_timer_and_the_others_still_time_out() -> None:
    notifier = LocalNotifier()
    woken = asyncio.create_task(_wait(notifier, "!woken", 0.2))
    sleeper = asyncio.create_task(_wait(notifier, "!quiet", 0.2))
    await asyncio.sleep(0)
    assert sum(len(waits) for waits in notifier._deadlines.values()) == 2
    notifier.notify(rooms=["!woken"])
    assert (await woken)[0] is True
    # Only the sleeper is left on the shared timer.
    assert sum(len(waits) for waits in notifier._deadlines.values()) == 1
    assert (await sleeper)[0] is False
    assert not notifier._deadlines


async def test_a_user_in_many_rooms_parks_with_one_key_each() -> None:
    """A room named twice is one key; a change in any one of them wakes the wait."""
    notifier = LocalNotifier()
    rooms = [f"!room{k}" for k in range(50)]
    wait = asyncio.create_task(
        notifier.wait(since_serial=0, rooms=[*rooms, *rooms], users=["@u"], timeout_s=60)
    )
    await asyncio.sleep(0)
    assert len(notifier._waiters) == 51
    notifier.notify(rooms=["!room49"])
    assert await asyncio.wait_for(wait, 1) is True
    assert not notifier._waiters
