"""Typing notifications: ephemeral, kept in memory, expiring on their own.

Nothing is stored: a typing notice lost in a restart is harmless. Each
change bumps a serial (the second part of a sync token) and wakes the room.
"""

from __future__ import annotations

from revier.errors import Forbidden
from revier.notify import Notifier
from revier.services.core import Clock, Requester
from revier.services.rooms.visibility import Visibility
from revier.storage import Store

MAX_TIMEOUT_MS = 120_000


class TypingService:
    def __init__(
        self, store: Store, notifier: Notifier, clock: Clock, visibility: Visibility
    ) -> None:
        self._store = store
        self._notifier = notifier
        self._clock = clock
        self._visibility = visibility
        self._serial = 0
        # room_id -> {user_id: expiry (ms)}
        self._typing: dict[str, dict[str, int]] = {}
        # room_id -> serial of its last change
        self._changed: dict[str, int] = {}

    @property
    def serial(self) -> int:
        return self._serial

    async def set_typing(
        self, requester: Requester, room_id: str, user_id: str, typing: bool, timeout_ms: int
    ) -> None:
        """PUT /rooms/{roomId}/typing/{userId}: one's own notice, in a room one is joined to."""
        if user_id != requester.user_id:
            raise Forbidden("You can only set your own typing notice")
        async with self._store.read() as tx:
            await self._visibility.require_joined(tx, requester.user_id, room_id)
        self._set(room_id, user_id, typing, timeout_ms)

    def _set(self, room_id: str, user_id: str, typing: bool, timeout_ms: int) -> None:
        users = self._typing.setdefault(room_id, {})
        was = user_id in users and users[user_id] > self._clock.time_ms()
        if typing:
            users[user_id] = self._clock.time_ms() + min(max(timeout_ms, 0), MAX_TIMEOUT_MS)
        else:
            users.pop(user_id, None)
        if was != typing:
            self._bump(room_id)

    def typing_users(self, room_id: str) -> list[str]:
        now = self._clock.time_ms()
        users = self._typing.get(room_id, {})
        expired = [u for u, expiry in users.items() if expiry <= now]
        for user_id in expired:
            del users[user_id]
        return sorted(users)

    def changed_since(self, room_id: str, serial: int) -> bool:
        """Has the room's typing list changed since ``serial`` (or has someone's notice expired)?"""
        if self._changed.get(room_id, 0) > serial:
            return True
        users = self._typing.get(room_id)
        now = self._clock.time_ms()
        return users is not None and any(e <= now for e in users.values())

    def rooms(self) -> set[str]:
        """Every room whose typing list ever changed: in any other the list is empty
        and no ``changed_since`` holds (a long room list asks only about these)."""
        return self._changed.keys() | self._typing.keys()

    def forget_room(self, room_id: str) -> None:
        """A purged room: nobody is left to type or to be told."""
        self._typing.pop(room_id, None)
        self._changed.pop(room_id, None)

    def _bump(self, room_id: str) -> None:
        self._serial += 1
        self._changed[room_id] = self._serial
        self._notifier.notify(rooms=[room_id])
