"""Read receipts and read markers (spec: "Receipts", "Fully read markers")."""

from __future__ import annotations

from revier.errors import BadJson, Forbidden, InvalidParam, NotFound
from revier.events.relations import MAIN_THREAD
from revier.notify import Notifier
from revier.services.core import AccountDataService, Clock, Requester
from revier.services.notifications import PushActions
from revier.storage import Store, Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.receipts import Receipt

RECEIPT_TYPES = ("m.read", "m.read.private")
FULLY_READ = "m.fully_read"


class ReceiptService:
    def __init__(
        self,
        store: Store,
        notifier: Notifier,
        clock: Clock,
        account_data: AccountDataService,
        push_actions: PushActions,
    ) -> None:
        self._store = store
        self._notifier = notifier
        self._clock = clock
        self._account_data = account_data
        self._push_actions = push_actions

    async def post_receipt(
        self,
        requester: Requester,
        room_id: str,
        receipt_type: str,
        event_id: str,
        thread_id: str | None,
    ) -> None:
        """POST /rooms/{roomId}/receipt/{receiptType}/{eventId}

        ``thread_id``: a threaded receipt, for the main timeline (``main``) or the
        thread of that root; it clears the notifications of that thread alone.
        """
        if thread_id is not None and (receipt_type == FULLY_READ or not thread_id):
            raise InvalidParam("'thread_id' must be a thread root's event ID or 'main'")
        if receipt_type == FULLY_READ:
            await self.set_read_markers(requester, room_id, fully_read=event_id)
            return
        if receipt_type not in RECEIPT_TYPES:
            raise BadJson(f"Unknown receipt type {receipt_type!r}")
        async with self._store.transaction() as tx:
            await self._write(tx, requester, room_id, receipt_type, event_id, thread_id or "")
        self._notifier.notify(rooms=[room_id], users=[requester.user_id])

    async def set_read_markers(
        self,
        requester: Requester,
        room_id: str,
        *,
        fully_read: str | None = None,
        read: str | None = None,
        read_private: str | None = None,
    ) -> None:
        """POST /rooms/{roomId}/read_markers"""
        async with self._store.transaction() as tx:
            if fully_read is not None:
                await self._event_position(tx, requester, room_id, fully_read)
            for receipt_type, event_id in (("m.read", read), ("m.read.private", read_private)):
                if event_id is not None:
                    await self._write(tx, requester, room_id, receipt_type, event_id, "")
        if fully_read is not None:
            await self._account_data.put_internal(
                requester.user_id, room_id, FULLY_READ, {"event_id": fully_read}
            )
        self._notifier.notify(rooms=[room_id], users=[requester.user_id])

    async def _write(
        self,
        tx: Tx,
        requester: Requester,
        room_id: str,
        receipt_type: str,
        event_id: str,
        thread_id: str,
    ) -> None:
        event_position = await self._event_position(tx, requester, room_id, event_id)
        if thread_id:
            await _check_in_thread(tx, event_id, thread_id)
        position = await tx.streams.next_position()
        stored = await RoomRepos.of(tx).receipts.put(
            Receipt(
                room_id,
                receipt_type,
                requester.user_id,
                thread_id,
                event_id,
                event_position,
                self._clock.time_ms(),
                position,
            )
        )
        if stored:
            await self._push_actions.mark_read(
                tx, requester.user_id, room_id, event_position, thread_id or None
            )

    async def _event_position(
        self, tx: Tx, requester: Requester, room_id: str, event_id: str
    ) -> int:
        db = RoomRepos.of(tx)
        membership = await db.memberships.get(room_id, requester.user_id)
        if membership is None or membership.membership != "join":
            raise Forbidden("You are not in this room")
        event = await db.events.get(event_id)
        if event is None or event.pdu.room_id != room_id:
            raise NotFound("No such event in this room")
        return event.stream_ordering


async def _check_in_thread(tx: Tx, event_id: str, thread_id: str) -> None:
    """A threaded receipt must name an event of that thread (or its root); else
    400 M_INVALID_PARAM ("The event_id is not related to the thread_id")."""
    if event_id == thread_id:
        return
    in_thread = (await RoomRepos.of(tx).relations.thread_ids([event_id])).get(event_id)
    if in_thread != (None if thread_id == MAIN_THREAD else thread_id):
        raise InvalidParam("The event is not in that thread")
