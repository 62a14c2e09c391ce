"""How many users a unit job's batch takes: few enough that the memberships one
transaction writes stay bounded however many rooms the job has, since SQLite
runs the transaction on the event loop without a pause."""

from __future__ import annotations

import pytest

from revier.services.org.work import PAIRS_PER_BATCH, USER_BATCH, users_per_batch


@pytest.mark.parametrize("rooms", [1, 2, 3, 5, 12, 13, 100])
def test_a_batch_holds_at_most_its_share_of_memberships(rooms: int) -> None:
    users = users_per_batch(rooms)
    assert 1 <= users <= USER_BATCH
    # Over the share only when a single user has more rooms than it: one user still goes.
    assert users * rooms <= max(PAIRS_PER_BATCH, rooms)


def test_a_job_without_rooms_still_moves_on() -> None:
    assert users_per_batch(0) >= 1
