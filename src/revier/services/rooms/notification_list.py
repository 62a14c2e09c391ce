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
from revier.storage import Store
from revier.storage.rooms import RoomRepos

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
_HIGHLIGHT: list[Any] = ["notify", {"set_tweak": "highlight", "value": True}]


class NotificationList:
    def __init__(self, store: Store, clock: Clock, push_actions: PushActions) -> None:
        self._store = store
        self._clock = clock
        self._push_actions = push_actions

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
            present = [a for a in actions if a.stream_ordering in stored]
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
