"""Account data: per-user JSON, global or per room, synced to every device."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from revier.errors import BadJson, NotFound
from revier.events.types import JsonDict
from revier.notify import Notifier
from revier.services.core.requester import Requester, require_self
from revier.storage import Store, Tx
from revier.storage.core import CoreRepos
from revier.storage.core.account_data import AccountData

# Managed by the server through its own endpoints, never set directly.
_SERVER_MANAGED = ("m.fully_read", "m.push_rules")
IGNORED_USER_LIST = "m.ignored_user_list"
# Named, besides the user, when an ignore list changes: every worker's cache of
# who ignores whom hears it through the notifier. Not a user ID (those start
# with "@"), so no waiting request listens to it.
IGNORE_LISTS_CHANGED = "!ignore-lists"
_IGNORERS_MAX = 50_000

# Checks a type's content before it is stored, in the writing transaction (and
# may raise, or return the content to store instead): for types the server
# acts on, which a wing above core owns (duty hours: notifications).
Guard = Callable[[Tx, Requester, str, JsonDict], Awaitable[JsonDict]]


class AccountDataService:
    def __init__(self, store: Store, notifier: Notifier) -> None:
        self._store = store
        self._notifier = notifier
        self._guards: dict[str, Guard] = {}
        # user_id -> who ignores them: asked for every message sent (push
        # actions), while ignore lists change rarely. Dropped whole on a change
        # anywhere; a look-up that overlapped a change is not kept.
        self._ignorers: dict[str, frozenset[str]] = {}
        self._ignore_lists_changes = 0

    def on_change(self, keys: frozenset[str] | None) -> None:
        """Notifier listener (this worker's changes and, through Redis, the others')."""
        if keys is None or f"u:{IGNORE_LISTS_CHANGED}" in keys:
            self._ignore_lists_changes += 1
            self._ignorers.clear()

    def guard(self, data_type: str, check: Guard) -> None:
        """Have ``check`` see (and may refuse) every client write of ``data_type``."""
        self._guards[data_type] = check

    async def put(
        self, requester: Requester, user_id: str, room_id: str, data_type: str, content: JsonDict
    ) -> None:
        """PUT /user/{userId}[/rooms/{roomId}]/account_data/{type}"""
        require_self(requester, user_id, "access your own account data")
        if data_type in _SERVER_MANAGED:
            raise BadJson(f"{data_type} is managed by the server; use its own endpoint")
        check = self._guards.get(data_type)
        async with self._store.transaction() as tx:
            if check is not None:
                content = await check(tx, requester, room_id, content)
            position = await tx.streams.next_position()
            repos = CoreRepos.of(tx)
            await repos.account_data.put(user_id, room_id, data_type, content, position)
            ignore_list = data_type == IGNORED_USER_LIST and not room_id
            if ignore_list:
                await repos.ignored_users.replace(user_id, ignored_in(content, user_id))
        self._notifier.notify(users=[user_id, IGNORE_LISTS_CHANGED] if ignore_list else [user_id])

    async def put_internal(
        self, user_id: str, room_id: str, data_type: str, content: JsonDict
    ) -> None:
        """For server-managed types (m.fully_read via read markers)."""
        async with self._store.transaction() as tx:
            position = await tx.streams.next_position()
            await CoreRepos.of(tx).account_data.put(user_id, room_id, data_type, content, position)
        self._notifier.notify(users=[user_id])

    async def carry_over(
        self, tx: Tx, user_id: str, from_room: str, to_room: str, data_type: str
    ) -> bool:
        """Copy one item of the user's room account data to another room, in the
        caller's transaction, unless the other room has it already (a room upgrade:
        the successor keeps the predecessor's tags). True if something was written."""
        repos = CoreRepos.of(tx)
        content = await repos.account_data.get(user_id, from_room, data_type)
        if content is None or await repos.account_data.get(user_id, to_room, data_type):
            return False
        position = await tx.streams.next_position()
        await repos.account_data.put(user_id, to_room, data_type, content, position)
        return True

    async def get(
        self, requester: Requester, user_id: str, room_id: str, data_type: str
    ) -> JsonDict:
        require_self(requester, user_id, "access your own account data")
        async with self._store.read() as tx:
            content = await CoreRepos.of(tx).account_data.get(user_id, room_id, data_type)
        if content is None:
            raise NotFound(f"No {data_type} account data")
        return content

    async def content(self, tx: Tx, user_id: str, room_id: str, data_type: str) -> JsonDict | None:
        """One item of the user's account data ("" for global), in the caller's read."""
        return await CoreRepos.of(tx).account_data.get(user_id, room_id, data_type)

    async def ignored_users(self, tx: Tx, user_id: str) -> frozenset[str]:
        """Whom the user ignores (spec module "Ignoring Users"): one read per request,
        which the hot paths hand on instead of asking per event."""
        content = await CoreRepos.of(tx).account_data.get(user_id, "", IGNORED_USER_LIST)
        return ignored_in(content, user_id)

    async def ignorers_of(self, tx: Tx, user_id: str) -> frozenset[str]:
        """Who ignores the user (for every new message: cached, see ``on_change``)."""
        cached = self._ignorers.get(user_id)
        if cached is not None:
            return cached
        started = self._ignore_lists_changes
        found = frozenset(await CoreRepos.of(tx).ignored_users.ignorers_of(user_id))
        if started == self._ignore_lists_changes:
            if len(self._ignorers) >= _IGNORERS_MAX:
                self._ignorers.clear()
            self._ignorers[user_id] = found
        return found

    async def of_type(self, tx: Tx, user_id: str, data_type: str) -> dict[str, JsonDict]:
        """room_id -> content of one type of room account data, for every room."""
        return await CoreRepos.of(tx).account_data.of_type(user_id, data_type)

    async def of_rooms(
        self, tx: Tx, user_id: str, room_ids: Sequence[str]
    ) -> dict[str, list[AccountData]]:
        return await CoreRepos.of(tx).account_data.of_rooms(user_id, room_ids)

    async def changed(
        self, tx: Tx, user_id: str, after: int | None, upto: int
    ) -> list[AccountData]:
        """The user's account data (global and per room) changed in (after, upto]."""
        return await CoreRepos.of(tx).account_data.changed(user_id, after, upto)

    async def of_users(
        self, tx: Tx, user_ids: Sequence[str], data_type: str
    ) -> dict[str, JsonDict]:
        """The global account data of type ``data_type`` of those users who have it."""
        return await CoreRepos.of(tx).account_data.of_users(user_ids, data_type)

    async def forget_room(self, tx: Tx, room_id: str) -> None:
        """A purged room's per-user data (tags, read markers, drafts) goes with it."""
        await CoreRepos.of(tx).account_data.forget_room(room_id)

    async def forget_user(self, tx: Tx, user_id: str) -> None:
        """An account closed with ``erase`` (POST /account/deactivate): its settings,
        tags, read markers and ignore list go; no one is told (no one else saw them)."""
        db = CoreRepos.of(tx)
        await db.account_data.forget_user(user_id)
        await db.ignored_users.replace(user_id, frozenset())


def ignored_in(content: JsonDict | None, user_id: str) -> frozenset[str]:
    """The user IDs an ``m.ignored_user_list`` names; a malformed one ignores nobody,
    and nobody can ignore themselves out of their own rooms."""
    users = content.get("ignored_users") if content else None
    if not isinstance(users, dict):
        return frozenset()
    return frozenset(u for u in users if isinstance(u, str) and u.startswith("@")) - {user_id}
