"""/sync: everything a client must learn since its last token, or a long wait for it.

A response is built from one consistent read: the stream position is read
first, and everything up to it is included. When nothing is new the request
waits on the notifier (never a polling loop) for a change on one of the
user's rooms or on the user, then reads again.

A wait can outlive the access token it was started with: when a device is
wiped or logged out, its pending /sync wakes (the change names the user) and
is answered 401 ``M_UNKNOWN_TOKEN`` with ``soft_logout: false`` at once, so the
client erases its local data now rather than after the long-poll timeout.

An incremental sync first asks the notifier's change log what changed in its
window (revier.notify.changes): a message wakes every member of a room, and
for each of them only the timeline and the unread count depend on it — the
receipts, account data, presence, to-device and device-list queries, the
user's memberships and ignore list are skipped when the log knows nothing of
theirs changed. When the log can't tell (a restart, a gap, a long window),
everything is read from the database as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from revier.errors import UnknownToken
from revier.events.filters import SyncFilter
from revier.events.types import JsonDict
from revier.notify import Hangup, Notifier
from revier.notify.changes import WindowChanges
from revier.notify.snapshot_cache import SnapshotCache
from revier.services.core import AccountDataService, Clock, Requester, SyncToken
from revier.services.e2e import E2eSync
from revier.services.notifications import PUSH_RULES, PushActions, PushRuleService
from revier.services.rooms import Membership, RoomSyncBuilder, TypingService, Window, room_members
from revier.services.sync.joined_rooms import JoinedRooms, RoomChanges
from revier.services.sync.presence import PresenceService
from revier.storage import Store, Tx, streams

MAX_TIMEOUT_MS = 5 * 60 * 1000

# Whether the requester's access token still works (AuthService.session_alive).
SessionCheck = Callable[[Requester], Awaitable[bool]]


@dataclass(frozen=True)
class SyncRequest:
    since: SyncToken | None
    timeout_ms: int
    filter: SyncFilter
    full_state: bool
    # The client's connection: hanging up ends the wait, with nothing more read.
    hangup: Hangup | None = None


@dataclass
class _Built:
    body: JsonDict
    empty: bool
    joined: list[str]


class SyncService:
    def __init__(
        self,
        store: Store,
        notifier: Notifier,
        clock: Clock,
        typing: TypingService,
        rooms: RoomSyncBuilder,
        presence: PresenceService,
        push_rules: PushRuleService,
        push_actions: PushActions,
        account_data: AccountDataService,
        e2e: E2eSync,
        *,
        session_alive: SessionCheck,
    ) -> None:
        self._store = store
        self._notifier = notifier
        self._clock = clock
        self._typing = typing
        self._rooms = rooms
        self._presence = presence
        self._push_rules = push_rules
        self._joined = JoinedRooms(rooms, typing, push_actions)
        self._account_data = account_data
        self._e2e = e2e
        self._session_alive = session_alive
        log = notifier.changes
        self._memberships: SnapshotCache[list[Membership]] = SnapshotCache(log, streams.MEMBERSHIP)
        self._ignored: SnapshotCache[frozenset[str]] = SnapshotCache(log, streams.ACCOUNT_DATA)

    async def sync(self, requester: Requester, request: SyncRequest) -> JsonDict:
        timeout_s = min(max(request.timeout_ms, 0), MAX_TIMEOUT_MS) / 1000
        deadline = self._clock.monotonic() + timeout_s
        await self._e2e.acknowledge(requester, request.since)
        quiet = self._quiet_wait(requester, request)
        if quiet is not None:
            # Wait before reading at all; any change since the token wakes it at once.
            rooms, since_serial = quiet
            await self._notifier.wait(
                since_serial=since_serial,
                rooms=rooms,
                users=[requester.user_id],
                timeout_s=timeout_s,
                hangup=request.hangup,
            )
        while True:
            serial = self._notifier.serial
            # After taking the serial: a wipe after this check wakes the wait
            # below, and one since the request was authenticated (or during the
            # last wait) is caught here. Answered from the token cache unless
            # the user changed.
            if not await self._session_alive(requester):
                raise UnknownToken(
                    "This device has been signed out; log in again", soft_logout=False
                )
            async with self._store.read() as tx:
                built = await self._build(tx, requester, request)
            # The finished read is not kept alive through the wait below: its
            # connection wrappers would cost each parked request ~0.7 KiB.
            del tx
            remaining = deadline - self._clock.monotonic()
            if request.since is None or not built.empty or remaining <= 0:
                break
            woke = await self._notifier.wait(
                since_serial=serial,
                rooms=built.joined,
                users=[requester.user_id],
                timeout_s=remaining,
                hangup=request.hangup,
            )
            if not woke:
                break
        if built.empty and request.since is not None:
            # Nothing new: the client keeps its token.
            built.body["next_batch"] = request.since.encode()
        return built.body

    def _quiet_wait(
        self, requester: Requester, request: SyncRequest
    ) -> tuple[list[str], int] | None:
        """For the long-poll that follows every answer: the rooms to wait on and the
        notifier serial to wait from, so that it waits before reading anything;
        None: read first.

        The change log gives the serial (``ChangeLog.wait_from``): every change
        after the token wakes a wait from there, one made before the wait
        began included. The token must carry no to-device backlog, no typing
        may have changed in the user's rooms since it, and the user's rooms
        must be known as of it. A position the log never hears of (the admin
        command line without Redis) is read at the end of the wait, as a
        change made during any wait is.
        """
        since = request.since
        if since is None or request.full_state or since.to_device is not None:
            return None
        since_serial = self._notifier.changes.wait_from(since.position, self._notifier.serial)
        if since_serial is None:
            return None
        memberships = self._memberships.get(requester.user_id, since.position)
        if memberships is None:
            return None
        rooms = [m.room_id for m in memberships if m.membership == "join"]
        if any(self._typing.changed_since(room, since.typing) for room in rooms):
            return None
        return rooms, since_serial

    async def _build(self, tx: Tx, requester: Requester, request: SyncRequest) -> _Built:
        upto = await tx.streams.current()
        window = Window(request.since, upto, self._clock.time_ms(), request.full_state)
        flt = request.filter
        log = self._notifier.changes
        log.observed(upto)
        known = None if window.after is None else log.window(window.after, upto)
        user_id = requester.user_id
        everywhere = self._memberships.get(user_id, upto)
        if everywhere is None:
            everywhere = await room_members.rooms_of(tx, user_id)
            self._memberships.put(user_id, upto, everywhere)
        memberships = [
            m for m in everywhere if m.stream_ordering <= upto and flt.rooms.allows_room(m.room_id)
        ]
        # Read once per request: nothing on the way asks per event (a hot path).
        ignored = self._ignored.get(user_id, upto)
        if ignored is None:
            ignored = await self._account_data.ignored_users(tx, user_id)
            self._ignored.put(user_id, upto, ignored)
        if ignored:  # spec: invites from ignored users are never sent to the client
            hidden = await room_members.invites_from(tx, memberships, ignored)
            memberships = [m for m in memberships if m.room_id not in hidden]
        joined = [m for m in memberships if m.membership == "join"]
        changes = await self._changes(tx, requester, window, [m.room_id for m in joined], known)
        changes.ignored = ignored
        rooms: dict[str, dict[str, Any]] = {"join": {}, "invite": {}, "leave": {}, "knock": {}}
        rooms["join"] = await self._joined.entries(tx, requester, joined, window, flt, changes)
        for m in memberships:
            if window.after is not None and m.stream_ordering <= window.after:
                continue
            if m.membership == "invite":
                rooms["invite"][m.room_id] = {"invite_state": await self._rooms.invite_state(tx, m)}
            elif m.membership == "knock":
                rooms["knock"][m.room_id] = {"knock_state": await self._rooms.invite_state(tx, m)}
            elif m.membership in ("leave", "ban") and (window.since or flt.include_leave):
                entry = await self._left_room(tx, requester, m, window, flt, ignored)
                if entry is not None:
                    rooms["leave"][m.room_id] = entry
        account_data = [
            {"type": t, "content": c}
            for t, c in changes.global_account_data
            if flt.account_data.allows_type(t)
        ]
        if (
            window.since is None
            and flt.account_data.allows_type(PUSH_RULES)
            and all(e["type"] != PUSH_RULES for e in account_data)
        ):
            # Clients (Element) read push rules only from here; a user who never
            # changed one has no stored copy, so the defaults are sent instead.
            account_data.append(
                {
                    "type": PUSH_RULES,
                    "content": await self._push_rules.account_data_content(tx, requester.user_id),
                }
            )
        presence: list[JsonDict] = []
        if known is None or known.any(streams.PRESENCE):
            presence = await self._presence.events(tx, requester, window.after, upto, flt.presence)
        # Device lists follow every room the user is in, whatever the filter says.
        in_rooms = [m.room_id for m in everywhere if m.membership == "join"]
        e2e = await self._e2e.sync_fields(tx, requester, request.since, upto, in_rooms, known)
        body: JsonDict = {
            "next_batch": SyncToken(upto, self._typing.serial, e2e.to_device_position).encode(),
            "rooms": {k: v for k, v in rooms.items() if v},
            "account_data": {"events": account_data},
            "presence": {"events": presence},
        }
        body.update(e2e.body)
        empty = not any(rooms.values()) and not account_data and not presence and not e2e.has_news
        return _Built(body, empty, [m.room_id for m in joined])

    async def _left_room(
        self,
        tx: Tx,
        requester: Requester,
        m: Membership,
        window: Window,
        flt: SyncFilter,
        ignored: frozenset[str],
    ) -> JsonDict | None:
        fresh = await self._rooms.is_fresh(tx, m, window)
        parts = await self._rooms.timeline_and_state(
            tx, requester, m, window, flt, upto=m.stream_ordering, fresh=fresh, ignored=ignored
        )
        if parts is None:
            return None
        return {"timeline": parts[0], "state": parts[1], "account_data": {"events": []}}

    async def _changes(
        self,
        tx: Tx,
        requester: Requester,
        window: Window,
        joined: list[str],
        known: WindowChanges | None,
    ) -> RoomChanges:
        """What changed across all rooms, in a handful of queries instead of one per
        room — none at all for what the change log ``known`` says is unchanged."""
        changes = RoomChanges()
        if known is not None:
            changes.rooms_with_events = known.keys(streams.EVENT).intersection(joined)
        elif window.after is not None:
            changes.rooms_with_events = await self._rooms.rooms_with_events(
                tx, joined, window.after, window.upto
            )
        if known is None or known.touches(streams.RECEIPT, joined):
            changes.receipts = await self._rooms.receipts(
                tx, joined, window.after, window.upto, requester.user_id
            )
        if known is not None and not known.has(streams.ACCOUNT_DATA, requester.user_id):
            return changes
        changed = await self._account_data.changed(tx, requester.user_id, window.after, window.upto)
        for data in changed:
            if data.room_id:
                changes.room_account_data[data.room_id].append((data.type, data.content))
            else:
                changes.global_account_data.append((data.type, data.content))
        return changes
