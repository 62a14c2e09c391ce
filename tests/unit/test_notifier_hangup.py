"""The notifier's wait against a client that hangs up: released at once, told apart
from a wake-up and a timeout, and counted in the gauge only while parked."""

from __future__ import annotations

import asyncio

import pytest

from revier.notify import ClientGone, LocalNotifier
from revier.notify.local import WAITING
from revier.server import _Hangup


def hangup() -> _Hangup:
    """The server's own per-connection ``Hangup``, as a connection gets it."""
    return _Hangup()


def parked() -> float:
    return WAITING._value.get()  # type: ignore[attr-defined]


async def test_a_hang_up_ends_the_wait_with_client_gone() -> None:
    notifier, conn = LocalNotifier(), hangup()
    before = parked()
    wait = asyncio.create_task(
        notifier.wait(since_serial=0, rooms=["!r"], users=["@u"], timeout_s=60, hangup=conn)
    )
    await asyncio.sleep(0)
    assert parked() == before + 1 and conn._waiter is not None
    conn.lost()
    with pytest.raises(ClientGone):
        await asyncio.wait_for(wait, 1)
    assert parked() == before and conn._waiter is None  # nothing left on the connection
    assert not notifier._waiters  # nor on the notifier


async def test_a_client_already_gone_does_not_wait_and_a_wake_up_is_still_one() -> None:
    notifier, conn = LocalNotifier(), hangup()
    conn.gone = True
    with pytest.raises(ClientGone):
        await notifier.wait(since_serial=0, rooms=["!r"], users=[], timeout_s=60, hangup=conn)

    alive = hangup()
    wait = asyncio.create_task(
        notifier.wait(since_serial=0, rooms=["!r"], users=[], timeout_s=60, hangup=alive)
    )
    await asyncio.sleep(0)
    notifier.notify(rooms=["!r"])
    assert await asyncio.wait_for(wait, 1) is True
    assert alive._waiter is None  # the ended wait took its Future back off the connection
    assert (
        await notifier.wait(
            since_serial=notifier.serial, rooms=["!r"], users=[], timeout_s=0.01, hangup=alive
        )
        is False
    )  # a timeout, the client still there


async def test_a_stop_ends_the_wait_as_a_timeout_and_a_cancelled_wait_leaves_nothing() -> None:
    notifier, before = LocalNotifier(), parked()
    wait = asyncio.create_task(notifier.wait(since_serial=0, rooms=["!r"], users=[], timeout_s=60))
    await asyncio.sleep(0)
    notifier.stop_waiting()
    assert await asyncio.wait_for(wait, 1) is False

    notifier = LocalNotifier()
    wait = asyncio.create_task(notifier.wait(since_serial=0, rooms=["!r"], users=[], timeout_s=60))
    await asyncio.sleep(0)
    wait.cancel()
    with pytest.raises(asyncio.CancelledError):
        await wait
    assert parked() == before and not notifier._waiters
