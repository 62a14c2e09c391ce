"""Pushers (spec: "Push notifications", GET /pushers, POST /pushers/set), and the
organisation's view of them.

A pusher is bound to the device whose session set it and goes with that
device (``forget_device_pushers``, called where devices are removed): a phone
that was logged out, deleted or wiped must not go on receiving event IDs and
counts. Every change wakes the user's key on the notifier, which is how the
push sender (on whichever worker runs it) re-reads that user's pushers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from revier.errors import NotFound
from revier.notify import Notifier
from revier.push.pushers import validate_pusher_request
from revier.services.core import Actor, AuditLog, Clock, Requester, Tenant, users
from revier.storage import Store, Tx
from revier.storage.notifications import NotificationRepos
from revier.storage.notifications.pushers import NewPusher, Pusher


@dataclass(frozen=True, slots=True)
class PusherSummary:
    """A pusher as the organisation's admins see it: never the whole pushkey (it
    lets anyone who has it send to that phone through the gateway)."""

    pusher_id: int
    device_id: str
    app_id: str
    app_display_name: str
    device_display_name: str
    gateway: str  # the gateway's host
    pushkey_end: str  # the last 4 characters
    pushkey_ts: int
    last_success_ts: int | None
    last_failure_ts: int | None
    failing_since: int | None

    @classmethod
    def of(cls, p: Pusher) -> PusherSummary:
        return cls(
            p.id,
            p.device_id,
            p.app_id,
            p.app_display_name,
            p.device_display_name,
            urlsplit(str(p.data.get("url", ""))).hostname or "",
            p.pushkey[-4:],
            p.pushkey_ts,
            p.last_success_ts,
            p.last_failure_ts,
            p.failing_since,
        )


async def forget_device_pushers(tx: Tx, user_id: str, device_ids: Sequence[str]) -> bool:
    """Delete the pushers of devices being removed, in the caller's transaction;
    True if there were any. The caller wakes the user after the commit."""
    if not device_ids:
        return False
    return await NotificationRepos.of(tx).pushers.delete_for_devices(user_id, device_ids)


class PusherService:
    def __init__(self, store: Store, clock: Clock, notifier: Notifier, audit: AuditLog) -> None:
        self._store = store
        self._clock = clock
        self._notifier = notifier
        self._audit = audit

    async def get_pushers(self, requester: Requester) -> list[Pusher]:
        """GET /pushers: all of the user's pushers, whichever device set them."""
        async with self._store.read() as tx:
            return await NotificationRepos.of(tx).pushers.for_users([requester.user_id])

    async def set_pusher(self, requester: Requester, body: dict[str, object]) -> None:
        """POST /pushers/set"""
        request = validate_pusher_request(body, requester.tenant.policy.push_gateways)
        woken = {requester.user_id}
        async with self._store.transaction() as tx:
            db = NotificationRepos.of(tx).pushers
            if request.kind is None:
                await db.delete(requester.user_id, request.app_id, request.pushkey)
            else:
                if not request.append:
                    # One phone, one account: the pair moves to this user.
                    woken.update(
                        await db.delete_others(requester.user_id, request.app_id, request.pushkey)
                    )
                assert request.data is not None
                new = NewPusher(
                    requester.user_id,
                    requester.device_id,
                    request.kind,
                    request.app_id,
                    request.pushkey,
                    request.app_display_name,
                    request.device_display_name,
                    request.profile_tag,
                    request.lang,
                    request.data,
                )
                # Pushing starts with the next notification, not with the backlog.
                position = await tx.streams.current()
                await db.upsert(new, now_ms=self._clock.time_ms(), position=position)
        self._notifier.notify(users=woken)

    async def of_user(self, tenant: Tenant, user_id: str) -> list[PusherSummary]:
        """A user's pushers, for the organisation's admins."""
        async with self._store.read() as tx:
            await users.local_user(tx, tenant, user_id, deactivated_ok=True)
            pushers = await NotificationRepos.of(tx).pushers.for_users([user_id])
        return [PusherSummary.of(p) for p in pushers]

    async def remove(self, tenant: Tenant, by: Actor, user_id: str, pusher_id: int) -> None:
        """An admin removes one of a user's pushers (audited); the phone gets no
        more pushes until its app sets the pusher again."""
        async with self._store.transaction() as tx:
            await users.local_user(tx, tenant, user_id, deactivated_ok=True)
            db = NotificationRepos.of(tx).pushers
            pusher = await db.get(pusher_id)
            if pusher is None or pusher.user_id != user_id:
                raise NotFound("No such pusher")
            await db.delete_by_id(pusher_id)
            await self._audit.record_as(
                tx,
                tenant,
                by,
                "pusher.removed",
                target=f"{user_id}/{pusher.device_id}",
                details={"pusher_id": pusher_id, "app_id": pusher.app_id},
            )
        self._notifier.notify(users=[user_id])
