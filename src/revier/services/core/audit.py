"""The audit log: who did what to accounts, devices, rooms and policy, from where.

Never message content: entries name actors, targets (user, device, room IDs)
and counts. Actions are dotted names, one family per object:

- ``login.succeeded`` / ``login.failed``
- ``device.added`` (a login), ``device.removed`` (by its owner), ``device.wiped`` (remotely)
- ``password.changed`` (by its owner) / ``password.reset`` (by an admin)
- ``user.created``, ``user.deactivated``, ``user.deactivation_completed``,
  ``user.reactivated``, ``user.admin_granted``, ``user.admin_revoked``, ``user.device_limit_set``,
  ``user.locked`` / ``user.unlocked``, ``user.suspended`` / ``user.unsuspended``
- ``report.received`` (actor: the reporter; target: the reported user, the sender of
  the reported event, or the room; never the reason or content), ``report.resolved``
- ``room.closed``, ``room.close_completed``, ``room.purged``
- ``unit.created`` / ``.renamed`` / ``.moved`` / ``.deleted``, ``unit.room_attached`` /
  ``_detached`` (target: the unit; the room in details), ``unit.member_added`` /
  ``_removed`` / ``_role_changed`` (target: the user; the unit in details),
  ``unit.rooms_updated`` (a unit's room work done: how many users and rooms)
- ``policy.changed`` (the tenant's configured policy differs from the last start)
- ``registration_token.created`` / ``.updated`` / ``.deleted``,
  ``media.quarantined``, ``media.released`` (from quarantine), ``media.deleted``
- ``audit.exported`` (someone downloaded entries of this log)
- ``pusher.removed`` (by an admin), ``push.breakthrough`` (an urgent room or sender
  reached a user off duty: room and event ID, never content)
- ``duty.schedule_set`` / ``_cleared``, ``duty.switch_set`` / ``_cleared`` (by an
  admin, for a user or the tenant), ``duty.own_set`` (by the user, where allowed)

The source address is personal data: after the tenant's
``audit_pseudonymise_after_days`` it is replaced by a keyed pseudonym, so the
same address still links entries but can't be read back.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from revier.services.core.clock import Clock
from revier.services.core.requester import Requester
from revier.services.core.tenants import Tenant, TenantRegistry
from revier.storage import Store, Tx
from revier.storage.core import CoreRepos
from revier.storage.core.audit import AuditEntry, AuditQuery

log = structlog.get_logger(__name__)

_DAY_MS = 86_400_000
_PSEUDONYMISE_EVERY_S = 3600
_BATCH = 500


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does an audited action, for services an admin reaches both through the
    API and the command line."""

    name: str  # a user ID, or "cli:<os user>"
    source: str | None  # the client address, or "local"

    @classmethod
    def of(cls, requester: Requester) -> Actor:
        return cls(requester.user_id, requester.address or None)

    @classmethod
    def command_line(cls) -> Actor:
        return cls("cli:" + getpass.getuser(), "local")


class AuditLog:
    def __init__(
        self, store: Store, clock: Clock, tenants: TenantRegistry, pseudonym_key: bytes
    ) -> None:
        self._store = store
        self._clock = clock
        self._tenants = tenants
        self._key = pseudonym_key

    async def record(
        self,
        tx: Tx,
        tenant: Tenant | str,
        action: str,
        *,
        actor: str | None,
        target: str | None = None,
        source: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Append an entry inside the caller's transaction: it exists exactly when
        what it records happened."""
        await CoreRepos.of(tx).audit.append(
            ts=self._clock.time_ms(),
            tenant=tenant if isinstance(tenant, str) else tenant.server_name,
            actor=actor,
            action=action,
            target=target,
            source=source or None,
            details=details,
        )

    async def record_as(
        self,
        tx: Tx,
        tenant: Tenant | str,
        actor: Actor,
        action: str,
        *,
        target: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        await self.record(
            tx,
            tenant,
            action,
            actor=actor.name,
            target=target,
            source=actor.source,
            details=details,
        )

    async def record_now(
        self,
        tenant: Tenant | str,
        action: str,
        *,
        actor: str | None,
        target: str | None = None,
        source: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """An entry in a transaction of its own (for what changes nothing else,
        such as a failed login)."""
        async with self._store.transaction() as tx:
            await self.record(
                tx, tenant, action, actor=actor, target=target, source=source, details=details
            )

    async def page(
        self, tenant: Tenant, query: AuditQuery, *, after_id: int = 0, limit: int = 100
    ) -> list[AuditEntry]:
        async with self._store.read() as tx:
            return await CoreRepos.of(tx).audit.page(
                tenant.server_name, query, after_id=after_id, limit=limit
            )

    async def export(self, tenant: Tenant, query: AuditQuery, actor: Actor) -> AsyncIterator[bytes]:
        """Every matching entry as JSON lines, read in pages (memory stays flat).

        The export is recorded first, before anything is read: reading the log is
        itself worth knowing, even when the download breaks off."""
        await self.record_now(
            tenant,
            "audit.exported",
            actor=actor.name,
            source=actor.source,
            details={"filters": query.filters()},
        )
        return self._lines(tenant, query)

    async def _lines(self, tenant: Tenant, query: AuditQuery) -> AsyncIterator[bytes]:
        after = 0
        while entries := await self.page(tenant, query, after_id=after, limit=_BATCH):
            yield b"".join(orjson.dumps(e.to_json()) + b"\n" for e in entries)
            after = entries[-1].id

    def pseudonym(self, address: str) -> str:
        digest = hmac.new(self._key, address.encode(), hashlib.sha256).hexdigest()
        return "p:" + digest[:20]

    async def pseudonymise_due(self) -> int:
        """Pseudonymise the source of every entry older than its tenant's period."""
        now = self._clock.time_ms()
        done = 0
        for tenant in self._tenants:
            before = now - tenant.policy.audit_pseudonymise_after_days * _DAY_MS
            while True:
                async with self._store.transaction() as tx:
                    n = await CoreRepos.of(tx).audit.pseudonymise_before(
                        tenant.server_name, before, self.pseudonym, limit=_BATCH
                    )
                done += n
                if n < _BATCH:
                    break
        return done

    async def run_pseudonymiser(self) -> None:
        """Background task of a serving process: pseudonymise hourly."""
        while True:
            try:
                n = await self.pseudonymise_due()
                if n:
                    log.info("pseudonymised audit source addresses", entries=n)
            except Exception:  # the next round tries again; the server keeps serving
                log.exception("audit pseudonymisation failed")
            await asyncio.sleep(_PSEUDONYMISE_EVERY_S)

    async def note_policies(self) -> None:
        """At start-up: audit each tenant whose configured policy changed since the
        last start (the first start records the policy as it is)."""
        for tenant in self._tenants:
            policy = tenant.policy.model_dump(mode="json")
            async with self._store.transaction() as tx:
                db = CoreRepos.of(tx)
                previous = await db.tenant_policies.get(tenant.server_name)
                if previous == policy:
                    continue
                details: dict[str, Any]
                if previous is None:
                    details = {"first_start": True, "policy": policy}
                else:
                    details = {
                        "changed": {
                            key: {"from": previous.get(key), "to": value}
                            for key, value in policy.items()
                            if previous.get(key) != value
                        }
                    }
                await db.tenant_policies.put(tenant.server_name, policy, self._clock.time_ms())
                await self.record(tx, tenant, "policy.changed", actor=None, details=details)
