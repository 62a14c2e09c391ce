"""Stream positions: one counter for every change a client syncs."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import BigInteger, Column, ColumnElement, Integer, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.direct import Prepared
from revier.storage.metadata import metadata

# One row. Every change a client must see takes the next position from it
# (UPDATE … RETURNING): the row lock makes positions commit in the order they
# were taken, so "everything after position P" never skips a late commit.
# A new room event takes its position inside the statement that stores it on
# PostgreSQL (``rooms/event_appends.py``: the same UPDATE, as a CTE, the same lock).
stream_counter = Table(
    "stream_counter",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("position", BigInteger, nullable=False),
)


# An incremental sync's range of the stream is short: read it whole (the stream
# position is indexed) and pick the rooms in Python, rather than send the list of
# every room a user is in — a thousand bound parameters — to look each one up.
SHORT_RANGE = 1000


def in_window(position: ColumnElement[int]) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """``after < position <= upto``: what changed between two sync tokens.

    For statements built once; the caller binds ``after`` and ``upto``.
    """
    return position > bindparam("after"), position <= bindparam("upto")


_NEXT = Prepared(
    update(stream_counter)
    .where(stream_counter.c.id == 1)
    .values(position=stream_counter.c.position + 1)
    .returning(stream_counter.c.position)
)
_CURRENT = Prepared(select(stream_counter.c.position).where(stream_counter.c.id == 1))


# What a positioned row changed, named for the in-memory change log that lets
# /sync skip the queries whose answer is "nothing" (revier.notify.changes).
# Each is recorded by the one repository method that writes such rows:
EVENT = "e"  # key: room ID — an event in the room's timeline
ROOM_MEMBERS = "m"  # key: room ID — someone's membership of the room changed
MEMBERSHIP = "mu"  # key: user ID — the user's own membership of a room changed
RECEIPT = "r"  # key: room ID
ACCOUNT_DATA = "a"  # key: user ID — global or room account data, ignore list
PRESENCE = "p"  # key: user ID
DEVICE_LIST = "d"  # key: user ID — devices or cross-signing keys changed
TO_DEVICE = "t"  # key: "<user ID> <device ID>"
ONE_TIME_KEYS = "k"  # key: "<user ID> <device ID>" — its one-time/fallback keys: claimed, uploaded

Change = tuple[int, str, str]  # (position, stream, key)


@dataclass
class StreamChanges:
    """The positions one write transaction took, and what it wrote at them.

    Published after the commit (``Store.on_commit``): every position taken is
    listed even if nothing was recorded at it, so a reader of the log can tell
    "nothing changed at P" from "P not heard of yet".
    """

    positions: list[int] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)

    def record(self, position: int, stream: str, key: str) -> None:
        self.changes.append((position, stream, key))


def device_key(user_id: str, device_id: str) -> str:
    return f"{user_id} {device_id}"


class StreamRepository:
    def __init__(self, conn: AsyncConnection, changes: StreamChanges) -> None:
        # ``changes``: the transaction's, which lists every position it takes.
        self._conn = conn
        self._changes = changes

    async def next_position(self) -> int:
        """Take the next position; call it last in a write transaction.

        On PostgreSQL the UPDATE holds the counter row until commit, so
        positions become visible strictly in order (a reader that has seen
        position P has seen every position below it). SQLite has one writer.
        """
        position = int((await _NEXT.rows(self._conn)).scalar_one())
        self._changes.positions.append(position)
        return position

    async def current(self) -> int:
        """The newest committed position."""
        return int((await _CURRENT.rows(self._conn)).scalar_one())
