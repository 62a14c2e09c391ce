"""How much bulk work of the organisation one transaction takes, per engine:
on SQLite few enough that a transaction (run on the event loop without a
pause) stays short however many rooms a job has; on PostgreSQL, whose
statements each yield the loop, bigger batches (fewer commits), still short
enough not to keep other writers waiting long for the stream position."""

from __future__ import annotations

import pytest

from revier.services.org.batches import POSTGRESQL, SQLITE, batches_for
from revier.services.org.work import USER_BATCH, users_per_batch


@pytest.mark.parametrize("pairs", [SQLITE.memberships, POSTGRESQL.memberships])
@pytest.mark.parametrize("rooms", [1, 2, 3, 5, 12, 13, 100, 200])
def test_a_batch_holds_at_most_its_share_of_memberships(rooms: int, pairs: int) -> None:
    users = users_per_batch(rooms, pairs)
    assert 1 <= users <= USER_BATCH
    # Over the share only when a single user has more rooms than it: one user still goes.
    assert users * rooms <= max(pairs, rooms)


def test_a_job_without_rooms_still_moves_on() -> None:
    assert users_per_batch(0, SQLITE.memberships) >= 1


def test_each_engine_has_its_sizes() -> None:
    assert batches_for(True) is SQLITE
    assert batches_for(False) is POSTGRESQL


def test_sqlite_batches_are_small_and_postgresql_ones_are_not() -> None:
    # SQLite: a transaction holds every request up, so ~30 ms at most (see
    # org/batches.py for the per-item costs these come from).
    assert SQLITE.memberships * 6 <= 30  # 3 to 6 ms of CPU per membership event
    assert SQLITE.unit_users * 1.5 <= 30
    assert SQLITE.accounts * 0.85 <= 30
    # PostgreSQL: no pause needed between statements, so fewer commits; but
    # a batch holds the stream position's row lock, so not many more.
    for field in ("memberships", "unit_users", "accounts", "plan_page"):
        assert getattr(POSTGRESQL, field) > getattr(SQLITE, field), field
    assert POSTGRESQL.memberships * 6 <= 100
    assert users_per_batch(3, POSTGRESQL.memberships) == 5
    assert users_per_batch(3, SQLITE.memberships) == 1
