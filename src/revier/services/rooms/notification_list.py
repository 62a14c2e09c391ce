"""GET /notifications (spec: "Push notifications", ``getNotifications``): the events
the user was notified of, newest first, from the push actions stored at send time.

Push actions go when a read receipt covers them (that is what keeps /sync's
counts and the pushes right), so this lists what is still unread: ``read`` is
always false. The actions are those the push rules gave the event as far as
they are stored — ``notify``, and ``highlight`` when it was set.
"""

from __future__ import annotations

from typing import Any

from revier.errors import InvalidParam
from revier.events.types import JsonDict
from revier.services.core import Clock, Requester
from revier.services.notifications import PushActions
from revier.services.rooms.event_format import client_events
from revier.services.rooms.retention import RoomRetention
from revier.storage import Store
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.events import StoredEvent

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
_HIGHLIGHT: list[Any] = ["notify", {"set_tweak": "highlight", "value": True}]


class NotificationList:
    def __init__(
        self, store: Store, clock: Clock, push_actions: PushActions, retention: RoomRetention
    ) -> None:
        self._store = store
        self._clock = clock
        self._push_actions = push_actions
        self._retention = retention

    async def notifications(
        self, requester: Requester, from_token: str | None, limit: int, only: str | None
    ) -> JsonDict:
        """A page; ``next_token`` (the stream position of its oldest entry) only
        when the page is full."""
        before = _position(from_token)
        limit = min(limit, MAX_LIMIT)
        async with self._store.read() as tx:
            actions = await self._push_actions.page(
                tx, requester.user_id, before, limit, highlight_only=only == "highlight"
            )
            stored = {
                e.stream_ordering: e
                for e in await RoomRepos.of(tx).many_rooms.at_positions(
                    a.stream_ordering for a in actions
                )
            }
            cutoffs = await self._retention.cutoffs(tx, {e.pdu.room_id for e in stored.values()})
            present = [
                a
                for a in actions
                if a.stream_ordering in stored
                and _unexpired(
                    stored[a.stream_ordering], cutoffs[stored[a.stream_ordering].pdu.room_id]
                )
            ]
            events = await client_events(
                tx,
                requester,
                [stored[a.stream_ordering] for a in present],
                now_ms=self._clock.time_ms(),
                with_room_id=False,
            )
        body: JsonDict = {
            "notifications": [
                {
                    "actions": _HIGHLIGHT if action.highlight else ["notify"],
                    "event": event,
                    "read": False,
                    "room_id": action.room_id,
                    "ts": stored[action.stream_ordering].pdu.origin_server_ts,
                }
                for action, event in zip(present, events, strict=True)
            ]
        }
        if len(actions) == limit and actions:
            body["next_token"] = str(actions[-1].stream_ordering)
        return body


def _position(token: str | None) -> int | None:
    if token is None or token == "":
        return None
    if not (token.isascii() and token.isdigit()) or len(token) > 18:
        raise InvalidParam("'from' must be a next_token from an earlier page")
    return int(token)


def _unexpired(event: StoredEvent, cutoff: int | None) -> bool:
    """Not older than its room's retention (push actions of expired messages
    stay until the purge deletes them; the listing hides them at once)."""
    return cutoff is None or event.pdu.origin_server_ts >= cutoff
