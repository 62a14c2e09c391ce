"""The guard every way into a room passes: a closed room stays closed.

Joining, inviting and knocking (services/membership.py) and publishing in
the room directory (services/directory.py) call it inside their transaction.
"""

from __future__ import annotations

from revier.policy.room_closure import room_closed_error
from revier.storage import Tx
from revier.storage.rooms import RoomRepos


async def require_open(tx: Tx, room_id: str) -> None:
    """M_FORBIDDEN naming who closed the room and when, if it is closed."""
    closure = await RoomRepos.of(tx).room_closures.get(room_id)
    if closure is not None:
        raise room_closed_error(closure.closed_by, closure.closed_ts)
