"""Simplified sliding sync (MSC4186): what Element X syncs with.

A request names lists (the user's rooms, filtered and ordered, seen through
windows), room subscriptions and extensions; the response holds each list's
count and whatever is new, for this connection, in the rooms inside the
windows. Like /sync it is one consistent read, and when nothing is new it
waits on the notifier — on every room the user is in and on the user — and
reads again; a wake-up that brings nothing for this connection doesn't end
the wait. A request without ``pos`` (a fresh start) and one with
``timeout=0`` answer at once.

What the connection has been sent is kept per room (sliding_connections.py):
a room with no news since the client's ``pos`` is left out; one that was out
of the windows while it changed is sent from where the client lost it; one
whose config grew (a longer timeline, more state) is sent at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from revier.errors import UnknownToken
from revier.events.types import JsonDict
from revier.notify import ClientGone, Hangup, Notifier
from revier.notify.changes import WindowChanges
from revier.notify.snapshot_cache import SnapshotCache
from revier.services.core import AccountDataService, Clock, Requester
from revier.services.rooms import RoomViews, StateWanted, room_members
from revier.services.sync.sliding_connections import (
    ConnectionState,
    ConnectionStore,
    Opened,
    RoomStatus,
    SlidingPos,
    stateless_snapshot,
)
from revier.services.sync.sliding_extensions import Sent, SlidingExtensions
from revier.services.sync.sliding_lists import ListBuilder, Selection
from revier.services.sync.sliding_request import RoomConfig, SlidingSyncRequest
from revier.services.sync.sliding_rooms import RoomResults, RoomWindow
from revier.services.sync.sliding_state import wanted_state
from revier.storage import Store, Tx, streams

MAX_TIMEOUT_MS = 5 * 60 * 1000

SessionCheck = Callable[[Requester], Awaitable[bool]]


@dataclass(slots=True)
class _Built:
    body: JsonDict
    news: bool
    state: ConnectionState
    upto: int
    typing: int
    joined: list[str] = field(default_factory=list)


class SlidingSyncService:
    def __init__(
        self,
        store: Store,
        notifier: Notifier,
        clock: Clock,
        connections: ConnectionStore,
        views: RoomViews,
        lists: ListBuilder,
        rooms: RoomResults,
        extensions: SlidingExtensions,
        account_data: AccountDataService,
        *,
        session_alive: SessionCheck,
    ) -> None:
        self._store = store
        self._notifier = notifier
        self._clock = clock
        self._connections = connections
        self._views = views
        self._lists = lists
        self._rooms = rooms
        self._extensions = extensions
        self._account_data = account_data
        self._session_alive = session_alive
        self._ignored: SnapshotCache[frozenset[str]] = SnapshotCache(
            notifier.changes, streams.ACCOUNT_DATA
        )

    async def sync(
        self,
        requester: Requester,
        request: SlidingSyncRequest,
        pos: str | None,
        timeout_ms: int,
        hangup: Hangup | None = None,
    ) -> JsonDict:
        """POST /_matrix/client/unstable/org.matrix.simplified_msc3575/sync

        A client that hangs up during the wait (``ClientGone`` from the notifier)
        gets no snapshot stored: its next request, with the same ``pos``, is
        answered from the same state, the news of the abandoned wait included."""
        opened = await self._connections.open(requester, request.conn_id, pos)
        await self._extensions.acknowledge(requester, request.extensions)
        deadline = self._clock.monotonic() + min(max(timeout_ms, 0), MAX_TIMEOUT_MS) / 1000
        while True:
            serial = self._notifier.serial
            # After taking the serial, as in /sync: a wipe during the wait wakes it.
            if not await self._session_alive(requester):
                raise UnknownToken(
                    "This device has been signed out; log in again", soft_logout=False
                )
            async with self._store.read() as tx:
                built = await self._build(tx, requester, request, opened)
            # The finished read is not kept alive through the wait below: its
            # connection wrappers would cost each parked request ~0.7 KiB.
            del tx
            remaining = deadline - self._clock.monotonic()
            if opened.since is None or built.news or remaining <= 0:
                break
            woke = await self._notifier.wait(
                since_serial=serial,
                rooms=built.joined,
                users=[requester.user_id],
                timeout_s=remaining,
                hangup=hangup,
            )
            if not woke:
                break
        if hangup is not None and hangup.gone:
            # Gone while the last read ran: no snapshot for a response never delivered.
            raise ClientGone
        snapshot = opened.snapshot
        if not (request.lists or request.subscriptions):
            snapshot = stateless_snapshot(requester, request.conn_id)
        elif not opened.stored or built.state != opened.state:
            snapshot = await self._connections.save(requester, request.conn_id, built.state)
        body = built.body
        body["pos"] = SlidingPos(snapshot, built.upto, built.typing).encode()
        if request.txn_id is not None:
            body["txn_id"] = request.txn_id
        return body

    async def _build(
        self, tx: Tx, requester: Requester, request: SlidingSyncRequest, opened: Opened
    ) -> _Built:
        upto = await tx.streams.current()
        typing = self._views.typing_serial
        after = opened.since.position if opened.since else None
        # What changed since the connection's position, if the change log can
        # tell (as in /sync): the queries for the unchanged are skipped.
        log = self._notifier.changes
        log.observed(upto)
        known = None if after is None else log.window(after, upto)
        listed = await self._views.listed_rooms(tx, requester.user_id, after, upto)
        # Read once per request, as in /sync; invites from ignored users never show.
        ignored = self._ignored.get(requester.user_id, upto)
        if ignored is None:
            ignored = await self._account_data.ignored_users(tx, requester.user_id)
            self._ignored.put(requester.user_id, upto, ignored)
        hidden = await room_members.invites_from(tx, (r.membership for r in listed), ignored)
        listed = [r for r in listed if r.room_id not in hidden]
        selection = await self._lists.select(tx, requester, request, listed, hidden)
        state = ConnectionState(
            {r: s for r, s in opened.state.rooms.items() if r in selection.rooms}
        )
        rooms, sent = await self._room_parts(
            tx, requester, selection, opened, state, upto, ignored, known
        )
        if after is not None:
            await self._mark_missed(tx, selection, opened.state, state, after, upto, known)
        extensions, news = await self._extensions.build(
            tx, requester, request.extensions, opened.since, upto, selection, sent, known
        )
        body: JsonDict = {
            "lists": {name: {"count": count} for name, count in selection.counts.items()},
            "rooms": rooms,
            "extensions": extensions,
        }
        joined = [r.room_id for r in listed if r.membership.membership == "join"]
        return _Built(body, news or bool(rooms), state, upto, typing, joined)

    async def _room_parts(
        self,
        tx: Tx,
        requester: Requester,
        selection: Selection,
        opened: Opened,
        state: ConnectionState,
        upto: int,
        ignored: frozenset[str],
        known: WindowChanges | None,
    ) -> tuple[dict[str, JsonDict], Sent]:
        """The rooms to send, each with what is new for the connection; ``state``
        learns what was sent. ``known``: what changed since, if the change log knew."""
        after = opened.since.position if opened.since else None
        previous = opened.state.rooms
        live = [r for r in selection.configs if r in previous and previous[r].since is None]
        changed: set[str] = set()
        read: set[str] = set()
        if after is not None and live:
            if known is not None:
                changed = known.keys(streams.EVENT).intersection(live)
            else:
                changed = await self._views.rooms_with_events(tx, live, after, upto)
            if known is None or known.touches(streams.RECEIPT, live):
                read = await self._views.read_in(tx, requester.user_id, live, after, upto)
        windows: list[RoomWindow] = []
        for room_id, config in selection.configs.items():
            status = previous.get(room_id)
            if (
                status is not None
                and after is not None
                and not (status.since is not None or room_id in changed or room_id in read)
            ):
                # Nothing happened in the room: only a grown config may need an answer.
                listed = selection.rooms[room_id].membership
                newly_joined = listed.membership == "join" and listed.stream_ordering > after
                if not newly_joined and status.config.covers(config):
                    continue
            window = _window(selection, room_id, config, status, after, upto)
            if room_id in read:
                window = replace(window, read=True)
            if status is not None and not window.initial:
                window = replace(window, known_members=status.members)
                stale = status.since is not None or room_id in changed or window.read
                if not (stale or window.expanded_timeline or window.new_state):
                    continue
            windows.append(window)
        parts = await self._rooms.build(tx, requester, windows, selection.dm_rooms, ignored)
        rooms: dict[str, JsonDict] = {}
        sent = Sent()
        for window in windows:
            room_id, config = window.listed.room_id, window.config
            status = previous.get(room_id)
            part = parts.get(room_id)
            stored = config if window.initial or status is None else status.config.combine(config)
            members = part.members if part else (status.members if status else frozenset())
            state.rooms[room_id] = RoomStatus(stored, None, members)
            if part is None:
                continue
            rooms[room_id] = part.body
            sent.timelines[room_id] = part.timeline_ids
            if window.initial:
                sent.initial.add(room_id)
        return rooms, sent

    async def _mark_missed(
        self,
        tx: Tx,
        selection: Selection,
        previous: ConnectionState,
        state: ConnectionState,
        after: int,
        upto: int,
        known: WindowChanges | None,
    ) -> None:
        """Rooms the client had live but that changed outside its windows: from now on
        it has them only up to ``after``, and gets the rest when they come back."""
        outside = [
            r
            for r in selection.in_lists
            if r not in selection.configs
            and r in previous.rooms
            and previous.rooms[r].since is None
        ]
        if known is not None:
            changed = known.keys(streams.EVENT).intersection(outside)
        else:
            changed = await self._views.rooms_with_events(tx, outside, after, upto)
        for room_id in changed:
            state.rooms[room_id] = RoomStatus(previous.rooms[room_id].config, after)


def _window(
    selection: Selection,
    room_id: str,
    config: RoomConfig,
    status: RoomStatus | None,
    after: int | None,
    upto: int,
) -> RoomWindow:
    listed = selection.rooms[room_id]
    m = listed.membership
    newly_joined = after is not None and m.membership == "join" and m.stream_ordering > after
    if after is None or status is None or newly_joined:
        return RoomWindow(listed, config, True, None, after, upto)
    grown = config.required_state - status.config.required_state
    new_state = StateWanted()
    if grown:
        new_state = wanted_state(RoomConfig(0, frozenset(grown)), m.user_id)
    return RoomWindow(
        listed,
        config,
        False,
        status.since if status.since is not None else after,
        after,
        upto,
        expanded_timeline=config.timeline_limit > status.config.timeline_limit,
        new_state=new_state,
    )
