"""A user's own push rules and their overrides of the server defaults."""

from __future__ import annotations

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.push import RuleOverride, UserRule
from revier.storage.notifications.tables import push_rule_overrides, push_rules


class PushRuleRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def user_rules(self, user_id: str) -> list[UserRule]:
        stmt = (
            select(
                push_rules.c.kind, push_rules.c.rule_id, push_rules.c.priority, push_rules.c.json
            )
            .where(push_rules.c.user_id == user_id)
            .order_by(push_rules.c.kind, push_rules.c.priority)
        )
        out = []
        for row in await self._conn.execute(stmt):
            data = orjson.loads(row.json)
            out.append(
                UserRule(
                    kind=row.kind,
                    rule_id=row.rule_id,
                    actions=data.get("actions", []),
                    order=row.priority,
                    enabled=data.get("enabled", True),
                    conditions=data.get("conditions", []),
                    pattern=data.get("pattern"),
                )
            )
        return out

    async def replace_kind(self, user_id: str, kind: str, rules: list[UserRule]) -> None:
        """Rewrite one kind's rules in their new order (what insert_rule returns)."""
        await self._conn.execute(
            delete(push_rules).where(push_rules.c.user_id == user_id, push_rules.c.kind == kind)
        )
        if rules:
            await self._conn.execute(
                insert(push_rules),
                [
                    {
                        "user_id": user_id,
                        "kind": kind,
                        "rule_id": r.rule_id,
                        "priority": r.order,
                        "json": orjson.dumps(
                            {
                                "actions": r.actions,
                                "enabled": r.enabled,
                                "conditions": r.conditions,
                                "pattern": r.pattern,
                            }
                        ).decode(),
                    }
                    for r in rules
                ],
            )

    async def overrides(self, user_id: str) -> dict[str, RuleOverride]:
        stmt = select(push_rule_overrides).where(push_rule_overrides.c.user_id == user_id)
        out: dict[str, RuleOverride] = {}
        for row in await self._conn.execute(stmt):
            override: RuleOverride = {}
            if row.enabled is not None:
                override["enabled"] = bool(row.enabled)
            if row.actions is not None:
                override["actions"] = orjson.loads(row.actions)
            out[row.rule_id] = override
        return out

    async def set_override(
        self,
        user_id: str,
        rule_id: str,
        *,
        enabled: bool | None = None,
        actions: list | None = None,  # type: ignore[type-arg]
    ) -> None:
        values: dict[str, object] = {}
        if enabled is not None:
            values["enabled"] = enabled
        if actions is not None:
            values["actions"] = orjson.dumps(actions).decode()
        where = (push_rule_overrides.c.user_id == user_id) & (
            push_rule_overrides.c.rule_id == rule_id
        )
        result = await self._conn.execute(update(push_rule_overrides).where(where).values(**values))
        if result.rowcount == 0:
            await self._conn.execute(
                insert(push_rule_overrides).values(user_id=user_id, rule_id=rule_id, **values)
            )

    async def delete_rule(self, user_id: str, kind: str, rule_id: str) -> bool:
        """Remove one of the user's own rules; False if there was none."""
        result = await self._conn.execute(
            delete(push_rules).where(
                push_rules.c.user_id == user_id,
                push_rules.c.kind == kind,
                push_rules.c.rule_id == rule_id,
            )
        )
        return bool(result.rowcount)
