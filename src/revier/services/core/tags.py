"""Room tags (spec module "Room Tagging"): favourites, low priority, the user's own.

A room's tags are the ``m.tag`` event of its room account data — the one place
clients read them from (``/sync``, sliding sync's account_data extension) and
sliding sync's ``tags``/``not_tags`` filters look. The tag endpoints only edit
that event, so there is no second copy to keep in step.
"""

from __future__ import annotations

from revier.errors import BadJson, InvalidParam
from revier.events.identifiers import is_valid_room_id
from revier.events.types import JsonDict
from revier.notify import Notifier
from revier.services.core.requester import Requester, require_self
from revier.storage import Store
from revier.storage.core import CoreRepos

TAG = "m.tag"
MAX_TAG_BYTES = 255  # spec: "The name of a tag MUST NOT exceed 255 bytes."


class TagService:
    def __init__(self, store: Store, notifier: Notifier) -> None:
        self._store = store
        self._notifier = notifier

    async def get(self, requester: Requester, user_id: str, room_id: str) -> JsonDict:
        """GET /user/{userId}/rooms/{roomId}/tags: tag name -> its object."""
        _check(requester, user_id, room_id)
        async with self._store.read() as tx:
            content = await CoreRepos.of(tx).account_data.get(user_id, room_id, TAG)
        return _tags_of(content)

    async def set(
        self, requester: Requester, user_id: str, room_id: str, tag: str, body: JsonDict
    ) -> None:
        """PUT /user/{userId}/rooms/{roomId}/tags/{tag}"""
        _check(requester, user_id, room_id)
        _check_tag(tag)
        order = body.get("order")
        if order is not None and (not isinstance(order, int | float) or isinstance(order, bool)):
            raise BadJson("'order' must be a number")
        await self._edit(user_id, room_id, tag, body)

    async def delete(self, requester: Requester, user_id: str, room_id: str, tag: str) -> None:
        """DELETE /user/{userId}/rooms/{roomId}/tags/{tag}; deleting a tag the room
        doesn't have is no error (clients clear both favourite and low priority)."""
        _check(requester, user_id, room_id)
        _check_tag(tag)
        await self._edit(user_id, room_id, tag, None)

    async def _edit(self, user_id: str, room_id: str, tag: str, value: JsonDict | None) -> None:
        async with self._store.transaction() as tx:
            repos = CoreRepos.of(tx)
            # Two devices tagging at once must not lose one tag: read-modify-write
            # under the user's row lock (PostgreSQL; SQLite has one writer).
            await repos.users.lock(user_id)
            tags = _tags_of(await repos.account_data.get(user_id, room_id, TAG))
            if value is None:
                if tag not in tags:
                    return  # nothing changes: no new position, nobody woken
                del tags[tag]
            else:
                tags[tag] = value
            position = await tx.streams.next_position()
            await repos.account_data.put(user_id, room_id, TAG, {"tags": tags}, position)
        self._notifier.notify(users=[user_id])


def _check(requester: Requester, user_id: str, room_id: str) -> None:
    require_self(requester, user_id, "tag rooms for yourself")
    if not is_valid_room_id(room_id):
        raise InvalidParam(f"{room_id!r} is not a room ID")


def _check_tag(tag: str) -> None:
    if not tag or len(tag.encode()) > MAX_TAG_BYTES:
        raise InvalidParam(f"A tag name must be 1 to {MAX_TAG_BYTES} bytes")


def _tags_of(content: JsonDict | None) -> JsonDict:
    """The ``tags`` object of an m.tag event, whatever a client stored there."""
    tags = content.get("tags") if content else None
    return {k: v for k, v in tags.items() if isinstance(v, dict)} if isinstance(tags, dict) else {}
