"""Which members an event notifies, decided once when the event is stored.

The answers feed ``unread_notifications`` in /sync (and push later): one row
per notified member, counted against that member's read receipt.
"""

from __future__ import annotations

import math

from revier.events.pdu import Pdu
from revier.events.power_levels import notification_power_level, user_power_level
from revier.push import (
    PushContext,
    Ruleset,
    default_ruleset,
    evaluate,
    is_highlight,
    is_notify,
    merge_rules,
)
from revier.storage import Tx
from revier.storage.notifications import PushAction

_CACHE_MAX = 50_000


class PushActions:
    def __init__(self) -> None:
        # user_id -> merged ruleset, dropped when the user edits a rule.
        self._rulesets: dict[str, Ruleset] = {}

    def forget(self, user_id: str) -> None:
        self._rulesets.pop(user_id, None)

    async def ruleset(self, tx: Tx, user_id: str) -> Ruleset:
        cached = self._rulesets.get(user_id)
        if cached is None:
            cached = merge_rules(
                default_ruleset(user_id),
                await tx.push_rules.user_rules(user_id),
                await tx.push_rules.overrides(user_id),
            )
            if len(self._rulesets) >= _CACHE_MAX:
                self._rulesets.clear()
            self._rulesets[user_id] = cached
        return cached

    async def record(
        self, tx: Tx, pdu: Pdu, stream_ordering: int, *, create: Pdu, power_levels: Pdu | None
    ) -> None:
        """Evaluate every other joined member's rules for a new event; store who is notified."""
        members = await tx.memberships.joined_with_names(pdu.room_id)
        levels = dict(power_levels.content) if power_levels else None
        sender_level = user_power_level(pdu.sender, levels, create, pdu.room_version)
        event = pdu.client_format()
        notified = []
        for user_id, displayname in members:
            if user_id == pdu.sender:
                continue
            ctx = PushContext(
                user_id=user_id,
                user_display_name=displayname,
                room_member_count=len(members),
                # v12 creators have infinite power; any finite stand-in above every level works.
                sender_power_level=2**53 if math.isinf(sender_level) else int(sender_level),
                notification_power_levels={"room": notification_power_level("room", levels)},
            )
            actions = evaluate(await self.ruleset(tx, user_id), event, ctx)
            if is_notify(actions):
                notified.append(
                    PushAction(user_id, pdu.room_id, stream_ordering, is_highlight(actions))
                )
        await tx.push_actions.add(notified)
