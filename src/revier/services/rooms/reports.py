"""Content reports (spec module "Reporting content"): a user reports an event, a
room or a user to the organisation's admins, who list and resolve them.

A report names what was reported and who reported it, never the content: an
event report keeps the event ID, its room and its sender, not the event (its
content may be end-to-end encrypted anyway, and the admins need not read it to
act). The audit log records each report and each resolution the same way,
without the reason (free text, which may quote the content).

An unknown or invisible target is 404 ``M_NOT_FOUND``, as the spec describes,
not the 200 it allows to hide existence: everyone here is a colleague of the
same organisation (a report of an event needs a room the reporter is joined
to, so the event is no secret to them; members of the organisation are listed
in its user directory), and a report that silently went nowhere is worse than
an error the reporter can see. Another tenant's rooms and users are as unknown
as made-up ones. Reports are rate-limited per user before anything is looked
up, so they can neither flood the table nor probe for IDs quickly.
"""

from __future__ import annotations

from revier.errors import NotFound
from revier.events.identifiers import is_valid_event_id, is_valid_room_id
from revier.services.core import Actor, AuditLog, Clock, RateLimiter, Requester, Tenant, users
from revier.services.rooms.visibility import Visibility
from revier.storage import Store, Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.reports import ContentReport, ReportQuery

# Longer reasons are cut here: the reporter's words are kept, a flood of text is not.
MAX_REASON_LENGTH = 1000
_NO_EVENT = "The event was not found or you are not joined to the room"


def capped_reason(reason: str | None) -> str:
    """The reason as stored: at most ``MAX_REASON_LENGTH`` characters, no NUL
    (PostgreSQL text can't hold one)."""
    text = (reason or "").replace("\x00", "")
    if len(text) > MAX_REASON_LENGTH:
        text = text[: MAX_REASON_LENGTH - 1] + "…"
    return text


class ReportService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        visibility: Visibility,
        audit: AuditLog,
        per_user: RateLimiter,
    ) -> None:
        self._store = store
        self._clock = clock
        self._visibility = visibility
        self._audit = audit
        self._per_user = per_user

    async def report_event(
        self, requester: Requester, room_id: str, event_id: str, reason: str | None
    ) -> None:
        """POST /rooms/{roomId}/report/{eventId}: only by a member who can see it."""
        self._per_user.check(requester.user_id)
        if not (is_valid_room_id(room_id) and is_valid_event_id(event_id)):
            raise NotFound(_NO_EVENT)
        async with self._store.transaction() as tx:
            db = RoomRepos.of(tx)
            if await db.events.room_tenant(room_id) != requester.tenant.server_name:
                raise NotFound(_NO_EVENT)
            membership = await db.memberships.get(room_id, requester.user_id)
            if membership is None or membership.membership != "join":
                raise NotFound(_NO_EVENT)  # spec: the reporter must be joined
            event = await db.events.get(event_id)
            if event is None or event.pdu.room_id != room_id:
                raise NotFound(_NO_EVENT)
            if not await self._visibility.filter(tx, requester.user_id, room_id, [event]):
                raise NotFound(_NO_EVENT)  # from before they could see the room
            await self._add(
                tx,
                requester,
                "event",
                room_id,
                event_id,
                event.pdu.sender,
                reason,
                event.pdu.sender,
            )

    async def report_room(self, requester: Requester, room_id: str, reason: str) -> None:
        """POST /rooms/{roomId}/report: membership isn't required (spec)."""
        self._per_user.check(requester.user_id)
        if not is_valid_room_id(room_id):
            raise NotFound("The room was not found")
        async with self._store.transaction() as tx:
            if await RoomRepos.of(tx).events.room_tenant(room_id) != requester.tenant.server_name:
                raise NotFound("The room was not found")
            await self._add(tx, requester, "room", room_id, None, None, reason, room_id)

    async def report_user(self, requester: Requester, user_id: str, reason: str) -> None:
        """POST /users/{userId}/report: no shared room required (spec)."""
        self._per_user.check(requester.user_id)
        async with self._store.transaction() as tx:
            await users.local_user(tx, requester.tenant, user_id, deactivated_ok=True)
            await self._add(tx, requester, "user", None, None, user_id, reason, user_id)

    async def _add(
        self,
        tx: Tx,
        requester: Requester,
        kind: str,
        room_id: str | None,
        event_id: str | None,
        target_user_id: str | None,
        reason: str | None,
        audit_target: str,
    ) -> None:
        report_id = await RoomRepos.of(tx).content_reports.add(
            tenant=requester.tenant.server_name,
            kind=kind,
            reporter=requester.user_id,
            room_id=room_id,
            event_id=event_id,
            target_user_id=target_user_id,
            reason=capped_reason(reason),
            received_ts=self._clock.time_ms(),
        )
        details: dict[str, object] = {"report_id": str(report_id), "kind": kind}
        if room_id is not None:
            details["room_id"] = room_id
        if event_id is not None:
            details["event_id"] = event_id
        await self._audit.record_as(
            tx,
            requester.tenant,
            Actor.of(requester),
            "report.received",
            target=audit_target,
            details=details,
        )

    # The admins' side.

    async def page(
        self, tenant: Tenant, query: ReportQuery, *, after_id: int, limit: int
    ) -> list[ContentReport]:
        async with self._store.read() as tx:
            return await RoomRepos.of(tx).content_reports.page(
                tenant.server_name, query, after_id=after_id, limit=limit
            )

    async def get(self, tenant: Tenant, report_id: int) -> ContentReport:
        async with self._store.read() as tx:
            report = await RoomRepos.of(tx).content_reports.get(tenant.server_name, report_id)
        if report is None:
            raise NotFound(f"No report {report_id}")
        return report

    async def resolve(self, tenant: Tenant, report_id: int, actor: Actor) -> ContentReport:
        """Mark a report dealt with (it stays, for the record); resolving it again
        changes nothing and is not audited again."""
        async with self._store.transaction() as tx:
            db = RoomRepos.of(tx).content_reports
            if await db.get(tenant.server_name, report_id) is None:
                raise NotFound(f"No report {report_id}")
            if await db.resolve(
                tenant.server_name, report_id, by=actor.name, ts=self._clock.time_ms()
            ):
                await self._audit.record_as(
                    tx,
                    tenant,
                    actor,
                    "report.resolved",
                    target=str(report_id),
                    details={"report_id": str(report_id)},
                )
            report = await db.get(tenant.server_name, report_id)
        assert report is not None
        return report
