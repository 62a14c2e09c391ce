"""Presence (spec: "Presence"): online, unavailable or offline, and a status message.

Who sees it: the user and everyone sharing a joined room with them, as the
spec's "presence list" is gone and Matrix servers scope presence to room
mates. A tenant can switch presence off (``presence_enabled``): its users can
then neither set nor read it, and /sync carries none.

A change takes a stream position and wakes the waiting /syncs of the user's
joined rooms rather than of each room mate: a sync waiter listens on every
room it is joined to already, so one key per room reaches exactly the room
mates without first reading the member lists (a user is in far fewer rooms
than the rooms have members).

``set_presence`` on /sync only writes when the state changes. While it stays
the same, the activity time is refreshed at most once a minute and silently
(no stream position, nobody woken): room mates see the newer
``last_active_ago`` with the next change they are sent anyway. Every /sync
asks, so the state it compares with is kept in memory for as long as the
change log says the user's presence did not change (``SnapshotCache``): a
woken /sync would otherwise spend a transaction of its own on a row that
hardly ever changes (two fifths of a woken /sync's time, measured in
process). Another worker's silent refresh is not a change: this one may
refresh once more than needed, which costs a write a minute.
"""

from __future__ import annotations

import dataclasses
from typing import Final, Literal, TypeAlias

from revier.errors import BadJson, Forbidden
from revier.events.filters import EventFilter
from revier.events.types import JsonDict
from revier.notify import Notifier
from revier.notify.snapshot_cache import SnapshotCache
from revier.services.core import Clock, Requester
from revier.services.rooms import room_members
from revier.storage import Store, Tx, streams
from revier.storage.sync import SyncRepos
from revier.storage.sync.presence import PresenceState

Presence: TypeAlias = Literal["online", "unavailable", "offline"]
PRESENCE_STATES: Final[tuple[Presence, ...]] = ("online", "unavailable", "offline")

ACTIVITY_REFRESH_MS: Final = 60_000
"""How stale ``last_active_ts`` may get before a sync refreshes it."""

CURRENTLY_ACTIVE_MS: Final = 5 * 60_000
"""An online user seen within this window is ``currently_active``."""

MAX_STATUS_MSG: Final = 1024
"""Every room mate's /sync carries the status message: keep it a status, not a file."""


class PresenceService:
    def __init__(self, store: Store, notifier: Notifier, clock: Clock) -> None:
        self._store = store
        self._notifier = notifier
        self._clock = clock
        # user_id -> (their presence row or None, read at a position the log knew).
        self._known: SnapshotCache[tuple[PresenceState | None]] = SnapshotCache(
            notifier.changes, streams.PRESENCE
        )

    async def set_presence(
        self, requester: Requester, user_id: str, presence: str, status_msg: str | None
    ) -> None:
        """PUT /presence/{userId}/status"""
        _require_enabled(requester)
        if user_id != requester.user_id:
            raise Forbidden("You cannot set the presence of another user")
        if presence not in PRESENCE_STATES:
            raise BadJson("'presence' must be one of online, unavailable, offline")
        if status_msg is not None and len(status_msg) > MAX_STATUS_MSG:
            raise BadJson(f"'status_msg' must be at most {MAX_STATUS_MSG} characters")
        # The body is the whole new state: leaving out status_msg clears it.
        await self._write(user_id, presence, status_msg)

    async def get_presence(self, requester: Requester, user_id: str) -> JsonDict:
        """GET /presence/{userId}/status"""
        _require_enabled(requester)
        async with self._store.read() as tx:
            db = SyncRepos.of(tx)
            if user_id != requester.user_id and not await db.presence.shares_a_room(
                requester.user_id, user_id
            ):
                # One answer for unknown users and strangers: no probing who exists.
                raise Forbidden("You are not allowed to see their presence")
            state = await db.presence.get(user_id)
        if state is None:
            # Never set: a room mate (or oneself) simply is not known to be around.
            return {"presence": "offline"}
        return self._content(state)

    async def on_sync(self, requester: Requester, set_presence: Presence) -> None:
        """The ``set_presence`` parameter of GET /sync (default ``online``).

        ``offline`` leaves presence alone: the spec says the client "is not
        marked as being online", and a phone's background sync must not log the
        user off on their desktop.
        """
        if set_presence == "offline" or not requester.tenant.policy.presence_enabled:
            return
        now = self._clock.time_ms()
        user_id = requester.user_id
        state, at = await self._current(user_id)
        if state is not None and state.presence == set_presence:
            if now - state.last_active_ts >= ACTIVITY_REFRESH_MS:
                async with self._store.transaction() as tx:
                    await SyncRepos.of(tx).presence.touch(user_id, now)
                if at is not None:
                    self._known.put(user_id, at, (dataclasses.replace(state, last_active_ts=now),))
            return
        await self._write(user_id, set_presence, state.status_msg if state is not None else None)

    async def _current(self, user_id: str) -> tuple[PresenceState | None, int | None]:
        """The user's presence row (None: never set), and the position the change log
        vouches for it at (None: it can't)."""
        # Taken before the read: the row read is at least as new as this position.
        # Only while the log has every commit it heard of: a write of this very
        # worker's, taken at a position above a gap, is not "as of known_upto".
        log = self._notifier.changes
        at = log.known_upto if log.caught_up else None
        if at is not None:
            cached = self._known.get(user_id, at)
            if cached is not None:
                return cached[0], at
        async with self._store.read() as tx:
            state = await SyncRepos.of(tx).presence.get(user_id)
        if at is not None:
            self._known.put(user_id, at, (state,))
        return state, at

    async def events(
        self, tx: Tx, requester: Requester, after: int | None, upto: int, flt: EventFilter
    ) -> list[JsonDict]:
        """``presence.events`` of a /sync: room mates' (and one's own) changes in (after, upto]."""
        if not requester.tenant.policy.presence_enabled or not flt.allows_type("m.presence"):
            return []
        events = [
            {"type": "m.presence", "sender": state.user_id, "content": self._content(state)}
            for state in await SyncRepos.of(tx).presence.changed_for(requester.user_id, after, upto)
        ]
        return [e for e in events if flt.allows(e)]

    async def _write(self, user_id: str, presence: str, status_msg: str | None) -> None:
        async with self._store.transaction() as tx:
            rooms = await room_members.joined_room_ids(tx, user_id)
            position = await tx.streams.next_position()
            await SyncRepos.of(tx).presence.put(
                PresenceState(user_id, presence, status_msg, self._clock.time_ms(), position)
            )
        self._notifier.notify(rooms=rooms, users=[user_id])

    def _content(self, state: PresenceState) -> JsonDict:
        ago = max(self._clock.time_ms() - state.last_active_ts, 0)
        content: JsonDict = {
            "presence": state.presence,
            "last_active_ago": ago,
            "currently_active": state.presence == "online" and ago < CURRENTLY_ACTIVE_MS,
        }
        if state.status_msg is not None:
            content["status_msg"] = state.status_msg
        return content


def _require_enabled(requester: Requester) -> None:
    if not requester.tenant.policy.presence_enabled:
        raise Forbidden("Presence is switched off for this organisation")
