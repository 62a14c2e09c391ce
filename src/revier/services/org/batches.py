"""How much of the organisation's bulk work goes into one transaction, per
database engine — the one place that says why.

SQLite runs a transaction on the event loop's own thread from BEGIN to COMMIT
without a pause (storage/sqlite_inline.py): the whole transaction, its
statements and the Python around them, is one stall for every other request.
So on SQLite a batch is sized to stay near 30 ms of CPU (the issue allows a
``/sync`` 200 ms, and a request needs several turns of the loop). Measured on
a shared 2-core machine (``python -m bench org``, the loop's stalls sampled;
under load a stall's wall time is 2 to 3 times its CPU):

- a membership a unit job makes (a user in a room: invite and join, 3 to 6 ms
  of CPU per event) — 4 per transaction;
- a user's units changed by a directory sync (~1.5 ms each with its audit
  entries; 16 a transaction still held the loop 60 to 180 ms) — 10;
- an account created (~0.85 ms each with its directory marker; 100 held the
  loop up to 290 ms, 30 at most 72 ms) — 30;
- a page of the sync's plan reads (accounts and their units: ~10 µs a row;
  one statement over 2,000 accounts held the loop 345 ms) — 1,000, with a
  turn of the loop between pages.

PostgreSQL (asyncpg) awaits every statement: requests run between the
statements of any transaction, and only the Python between two awaits holds
the loop (one event's work at most), so batches there can be bigger and save
commits. Not much bigger: every event takes its stream position from one
counter row, locked until the transaction commits, so every other writer
(a login's new device, a message) waits for the whole batch. With 150
memberships a batch (50 users' invites and joins), a login behind a unit job
timed out on a loaded machine; 16 keep a batch in the tens of milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OrgBatches:
    # Memberships (a user in a room) one transaction of a unit job checks.
    memberships: int
    # Users whose directory units one transaction of a sync changes.
    unit_users: int
    # Accounts one transaction of a sync creates.
    accounts: int
    # Rows of the sync's plan reads per statement (a read transaction each).
    plan_page: int


SQLITE = OrgBatches(memberships=4, unit_users=10, accounts=30, plan_page=1000)
POSTGRESQL = OrgBatches(memberships=16, unit_users=40, accounts=100, plan_page=5000)


def batches_for(is_sqlite: bool) -> OrgBatches:
    return SQLITE if is_sqlite else POSTGRESQL
