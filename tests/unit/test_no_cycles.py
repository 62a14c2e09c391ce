"""What every request makes is freed by reference counting alone.

The cyclic collector runs its full passes at most once a minute
(``revier.gc_pacing``): an object caught in a reference cycle after its
request ends stays in memory until then, and each pass has it to walk. A
transaction and its repositories are made for every request; a connection's
objects for every client that connects.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.server import _Hangup
from revier.storage.accounts import AccountRepos
from revier.storage.core import CoreRepos
from revier.storage.e2e import E2eRepos
from revier.storage.media import MediaRepos
from revier.storage.notifications import NotificationRepos
from revier.storage.org import OrgRepos
from revier.storage.rooms import RoomRepos
from revier.storage.signin import SigninRepos
from revier.storage.store import Repositories, Tx
from revier.storage.sync import SyncRepos

WINGS: list[type[Repositories]] = [
    AccountRepos,
    CoreRepos,
    E2eRepos,
    MediaRepos,
    NotificationRepos,
    OrgRepos,
    RoomRepos,
    SigninRepos,
    SyncRepos,
]


@contextmanager
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def every_repository(repos: Repositories) -> int:
    """Builds each repository the wing offers (they are cached properties)."""
    names = [n for n, v in vars(type(repos)).items() if isinstance(v, cached_property)]
    for name in names:
        getattr(repos, name)
    return len(names)


def test_a_transaction_and_its_repositories_need_no_cycle_collector() -> None:
    # The repositories keep the connection and look at its dialect, no more.
    conn = cast(AsyncConnection, SimpleNamespace(dialect=sqlite.dialect()))
    with collector_off():
        tx = Tx(conn, is_sqlite=True, room_versions={})
        built = sum(every_repository(wing.of(tx)) for wing in WINGS)
        _ = tx.streams
        assert built > 20
        gone = weakref.ref(tx)
        del tx
        assert gone() is None, "a reference cycle keeps the finished transaction"


@pytest.mark.asyncio
async def test_a_connections_hangup_holds_no_future_after_the_client_left() -> None:
    hangup = _Hangup()
    waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    hangup.wake_on_hangup(waiter)
    hangup.lost()
    assert hangup.gone and waiter.done()
    with collector_off():
        kept: Any = weakref.ref(waiter)
        del waiter
        assert kept() is None
