"""A user's push rules (spec: Push Notifications, "Push Rules: API").

The rules are stored as the user's own rules plus overrides of server-default
rules; the merged ruleset is what clients see, both here and as the
``m.push_rules`` account data that Element and others read from /sync. After
every change the merged ruleset is written there and the evaluation cache in
``PushActions`` is dropped, so unread counts follow the new rules at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from revier.errors import Forbidden, NotFound
from revier.events.types import JsonDict
from revier.push import (
    RuleKind,
    Ruleset,
    UserRule,
    default_ruleset,
    find_rule,
    insert_rule,
    is_server_default,
    merge_rules,
    validate_actions,
    validate_kind,
    validate_new_rule,
)
from revier.services.core import AccountDataService, Requester
from revier.services.notifications.push_actions import PushActions
from revier.storage import Store, Tx
from revier.storage.notifications import NotificationRepos

PUSH_RULES = "m.push_rules"


class PushRuleService:
    def __init__(
        self, store: Store, push_actions: PushActions, account_data: AccountDataService
    ) -> None:
        self._store = store
        self._push_actions = push_actions
        self._account_data = account_data
        # One lock per user with changes in flight: the account data copy is
        # written after the rule transaction commits, and two overlapping
        # changes must not leave the older ruleset there last.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def ruleset(self, requester: Requester) -> Ruleset:
        """GET /pushrules/global/ (and under "global" for GET /pushrules/)"""
        async with self._store.read() as tx:
            return await self._push_actions.ruleset(tx, requester.user_id)

    async def account_data_content(self, tx: Tx, user_id: str) -> JsonDict:
        """``m.push_rules`` for an initial /sync of a user who never changed a rule."""
        return {"global": await self._push_actions.ruleset(tx, user_id)}

    async def get_rule(self, requester: Requester, kind: str, rule_id: str) -> JsonDict:
        """GET /pushrules/global/{kind}/{ruleId}"""
        return find_rule(await self.ruleset(requester), kind, rule_id)

    async def set_rule(
        self,
        requester: Requester,
        kind: str,
        rule_id: str,
        body: JsonDict,
        *,
        before: str | None,
        after: str | None,
    ) -> None:
        """PUT /pushrules/global/{kind}/{ruleId}"""
        rule = validate_new_rule(kind, rule_id, body)

        async def change(tx: Tx) -> None:
            db = NotificationRepos.of(tx)
            existing = await db.push_rules.user_rules(requester.user_id)
            placed = insert_rule(existing, rule, before=before, after=after)
            await db.push_rules.replace_kind(requester.user_id, rule.kind, placed)

        await self._change(requester.user_id, change)

    async def delete_rule(self, requester: Requester, kind: str, rule_id: str) -> None:
        """DELETE /pushrules/global/{kind}/{ruleId}"""
        valid_kind = validate_kind(kind)
        if is_server_default(rule_id):
            find_rule(default_ruleset(requester.user_id), valid_kind, rule_id)
            raise Forbidden("Server-default push rules cannot be deleted, only disabled")

        async def change(tx: Tx) -> None:
            if not await NotificationRepos.of(tx).push_rules.delete_rule(
                requester.user_id, valid_kind, rule_id
            ):
                raise NotFound("The push rule was not found.")

        await self._change(requester.user_id, change)

    async def set_enabled(
        self, requester: Requester, kind: str, rule_id: str, enabled: bool
    ) -> None:
        """PUT /pushrules/global/{kind}/{ruleId}/enabled"""
        await self._update(requester, kind, rule_id, enabled=enabled)

    async def set_actions(
        self, requester: Requester, kind: str, rule_id: str, actions: object
    ) -> None:
        """PUT /pushrules/global/{kind}/{ruleId}/actions"""
        valid_kind = validate_kind(kind)
        await self._update(requester, valid_kind, rule_id, actions=validate_actions(actions))

    async def _update(self, requester: Requester, kind: str, rule_id: str, **fields: Any) -> None:
        """Change ``enabled`` or ``actions`` of a user rule, or override a server-default one."""
        valid_kind = validate_kind(kind)
        user_id = requester.user_id
        if is_server_default(rule_id):
            # Server-default rules are not stored; a change is kept as an override.
            find_rule(default_ruleset(user_id), valid_kind, rule_id)

            async def change(tx: Tx) -> None:
                await NotificationRepos.of(tx).push_rules.set_override(user_id, rule_id, **fields)

        else:

            async def change(tx: Tx) -> None:
                db = NotificationRepos.of(tx)
                rules = _of_kind(await db.push_rules.user_rules(user_id), valid_kind)
                if not any(r.rule_id == rule_id for r in rules):
                    raise NotFound("The push rule was not found.")
                updated = [
                    dataclasses.replace(r, **fields) if r.rule_id == rule_id else r for r in rules
                ]
                await db.push_rules.replace_kind(user_id, valid_kind, updated)

        await self._change(user_id, change)

    async def copy_room_rules(
        self, tx: Tx, user_ids: list[str], old_room_id: str, new_room_id: str
    ) -> list[str]:
        """A room upgrade: each user's room rule for the old room (a muted room stays
        muted) also for its successor, in the caller's transaction. Returns the users
        whose rules changed; ``publish`` each once the transaction commits."""
        db = NotificationRepos.of(tx)
        changed = []
        for user_id in user_ids:
            rules = _of_kind(await db.push_rules.user_rules(user_id), "room")
            old = next((r for r in rules if r.rule_id == old_room_id), None)
            if old is None or any(r.rule_id == new_room_id for r in rules):
                continue
            copy = dataclasses.replace(old, rule_id=new_room_id)
            placed = insert_rule(rules, copy, before=old_room_id, after=None)
            await db.push_rules.replace_kind(user_id, "room", placed)
            changed.append(user_id)
        return changed

    async def publish(self, user_id: str) -> None:
        """After ``copy_room_rules`` committed: the user's clients see the new ruleset."""

        async def unchanged(tx: Tx) -> None:
            pass

        await self._change(user_id, unchanged)

    async def _change(self, user_id: str, change: Callable[[Tx], Awaitable[None]]) -> None:
        async with self._lock(user_id):
            async with self._store.transaction() as tx:
                db = NotificationRepos.of(tx)
                await change(tx)
                ruleset = merge_rules(
                    default_ruleset(user_id),
                    await db.push_rules.user_rules(user_id),
                    await db.push_rules.overrides(user_id),
                )
            self._push_actions.forget(user_id)
            await self._account_data.put_internal(user_id, "", PUSH_RULES, {"global": ruleset})

    def _lock(self, user_id: str) -> asyncio.Lock:
        lock = self._locks.get(user_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[user_id] = lock
        return lock


def _of_kind(rules: list[UserRule], kind: RuleKind) -> list[UserRule]:
    return sorted((r for r in rules if r.kind == kind), key=lambda r: r.order)
