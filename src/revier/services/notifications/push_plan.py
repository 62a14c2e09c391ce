"""What each pusher is owed, as pushes: the planning half of the push sender.

In one snapshot: the push actions after each ready pusher's position, the
events they name (through the rooms wing's ``RoomFacts``), the users' unread
counts and duty hours. Off duty an action becomes a step that sends nothing
(the pusher moves past it, the user is noted as held) unless the tenant marks
its room or sender urgent; such a breakthrough is audited.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Protocol

from revier.push.gateway import PushContent, PushedEvent, event_push
from revier.services.core import AuditLog, TenantRegistry
from revier.services.notifications.duty import DutyService
from revier.services.notifications.push_delivery import LivePusher, Push
from revier.storage import Store, Tx
from revier.storage.notifications import NotificationRepos
from revier.storage.notifications.push_actions import PushAction

DETAIL: tuple[PushContent, ...] = ("none", "metadata", "full")


class RoomFacts(Protocol):
    """What the sender needs of the rooms wing (above this one; the container gives it)."""

    async def pushed_events(
        self, tx: Tx, positions: Collection[int], content: PushContent
    ) -> dict[int, PushedEvent]: ...

    async def room_ids(self, tx: Tx, rooms: Collection[str]) -> set[str]: ...

    async def joined_members(self, tx: Tx, room_ids: Collection[str]) -> dict[str, set[str]]: ...


@dataclass
class Plan:
    deliveries: list[tuple[LivePusher, list[Push]]] = field(default_factory=list)
    held: set[str] = field(default_factory=set)
    breakthroughs: list[tuple[str, PushedEvent, str]] = field(default_factory=list)


class Planner:
    def __init__(
        self,
        store: Store,
        tenants: TenantRegistry,
        duty: DutyService,
        audit: AuditLog,
        facts: RoomFacts,
    ) -> None:
        self._store = store
        self._tenants = tenants
        self._duty = duty
        self._audit = audit
        self._facts = facts

    def content(self, user_id: str) -> PushContent:
        tenant = self._tenants.owning(user_id)
        return tenant.policy.push_content if tenant else "none"

    async def plan(self, tx: Tx, pushers: list[LivePusher], current: int, now: int) -> Plan:
        """What each ready pusher of these is owed, as pushes."""
        plan = Plan()
        for busy in (p for p in pushers if p.busy):
            busy.missed = True
        pushers = [p for p in pushers if p.ready]
        if not pushers:
            return plan
        db = NotificationRepos.of(tx).push_actions
        after = min(p.position for p in pushers)
        actions = await db.pending(sorted({p.user_id for p in pushers}), after, current)
        if not actions:
            return plan
        owed = sorted({a.user_id for a in actions})
        detail = max((self.content(u) for u in owed), key=DETAIL.index)
        events = await self._facts.pushed_events(tx, {a.stream_ordering for a in actions}, detail)
        badges = await db.badges(owed)
        rules = await self._duty.rules(tx, owed)
        by_user: dict[str, list[PushAction]] = {}
        for action in actions:
            by_user.setdefault(action.user_id, []).append(action)
        urgent_rooms: dict[str, set[str]] = {}  # tenant -> room IDs, read when needed
        for pusher in pushers:
            mine = by_user.get(pusher.user_id, [])
            tenant = self._tenants.owning(pusher.user_id)
            if not mine or tenant is None:
                continue
            policy = tenant.policy
            on_duty = self._duty.on_duty(rules[pusher.user_id], now)
            pushes: list[Push] = []
            for action in mine:
                if action.stream_ordering <= pusher.position:
                    continue
                event = events.get(action.stream_ordering)
                if event is None:  # purged or redacted away meanwhile
                    pushes.append(Push(action.stream_ordering, None))
                    continue
                if not on_duty:
                    if tenant.server_name not in urgent_rooms:
                        urgent_rooms[tenant.server_name] = await self._facts.room_ids(
                            tx, policy.duty_urgent_rooms
                        )
                    rooms = urgent_rooms[tenant.server_name]
                    urgent = _urgency(event, rooms, policy.duty_urgent_senders)
                    if urgent is None:
                        plan.held.add(pusher.user_id)
                        pushes.append(Push(action.stream_ordering, None))
                        continue
                    breakthrough = (pusher.user_id, event, urgent)
                    if breakthrough not in plan.breakthroughs:
                        plan.breakthroughs.append(breakthrough)
                body = event_push(
                    event,
                    pusher.device,
                    unread=badges.get(pusher.user_id, 0),
                    highlight=action.highlight,
                    content=policy.push_content,
                )
                pushes.append(Push(action.stream_ordering, body))
            if pushes:
                plan.deliveries.append((pusher, pushes))
        return plan

    async def record(self, plan: Plan, now: int) -> None:
        """Note whose pushes are held back, and audit each push that broke through."""
        async with self._store.transaction() as tx:
            await NotificationRepos.of(tx).duty.hold(sorted(plan.held), now)
            for user_id, event, because in plan.breakthroughs:
                await self._audit.record(
                    tx,
                    user_id.partition(":")[2],
                    "push.breakthrough",
                    actor=None,
                    target=user_id,
                    details={
                        "room_id": event.room_id,
                        "event_id": event.event_id,
                        "urgent": because,
                    },
                )


def _urgency(event: PushedEvent, rooms: set[str], senders: list[str]) -> str | None:
    """Why an event reaches a user off duty ("room", "sender"), or None."""
    if event.room_id in rooms:
        return "room"
    if event.sender in senders:
        return "sender"
    return None
