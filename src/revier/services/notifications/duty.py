"""Duty hours: who may be woken by a push now, as the organisation and the user set it.

The organisation sets weekly hours per user, or as the tenant's default, and
"off duty now" / "on duty now" switches (admin API and CLI). Where the
tenant's ``duty_user_adjust`` allows, users adjust their own in account data
``org.revier.duty_hours`` (``{"switch": {"state": "off"}}``, and with
"schedule" also ``{"weekly": {...}}``), checked and audited when they write it. Every change
is audited with the hours themselves — never anything about messages.

The push sender asks ``on_duty`` for a batch of users at once; rules that
many users share (the tenant default) are evaluated once and remembered until
they next change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from revier.errors import BadJson, Forbidden
from revier.events.types import JsonDict
from revier.notify import Notifier
from revier.policy.duty_hours import (
    DutyRules,
    Override,
    Schedule,
    next_change,
    next_duty_start,
    on_duty,
    override_json,
    parse_override,
    parse_schedule,
    time_zone,
)
from revier.services.core import (
    AccountDataService,
    Actor,
    AuditLog,
    Clock,
    Requester,
    Tenant,
    TenantRegistry,
    users,
)
from revier.storage import Store, Tx
from revier.storage.notifications import NotificationRepos
from revier.storage.notifications.duty import TENANT_DEFAULT, DutyRow

DUTY_ACCOUNT_DATA = "org.revier.duty_hours"
_STATE_CACHE_MAX = 10_000


@dataclass(frozen=True, slots=True)
class DutyView:
    """One user's duty hours as an admin sees them (or the tenant's default)."""

    schedule: Any | None  # the organisation's weekly hours for the user, as set
    switch: Any | None  # the organisation's "off/on duty now"
    default_schedule: Any | None  # the tenant's default
    own: JsonDict | None  # the user's own adjustments, where the policy allows them
    on_duty: bool
    next_change_ts: int | None


class DutyService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        tenants: TenantRegistry,
        audit: AuditLog,
        notifier: Notifier,
        account_data: AccountDataService,
    ) -> None:
        self._store = store
        self._clock = clock
        self._tenants = tenants
        self._audit = audit
        self._notifier = notifier
        self._account_data = account_data
        # rules -> (on duty?, from when to when that holds: a clock set back in
        # tests, or by an operator, must not find a stale answer); JSON -> schedule
        self._states: dict[DutyRules, tuple[bool, int, int | None]] = {}
        self._schedules: dict[bytes, Schedule] = {}

    # --- the organisation --------------------------------------------------

    async def view(self, tenant: Tenant, user_id: str | None) -> DutyView:
        """A user's duty hours, or (``user_id`` None) the tenant's default."""
        key = user_id or TENANT_DEFAULT
        async with self._store.read() as tx:
            if user_id is not None:
                await users.local_user(tx, tenant, user_id, deactivated_ok=True)
            rows = await NotificationRepos.of(tx).duty.rows(tenant.server_name, [key])
            own = None
            if user_id is not None and tenant.policy.duty_user_adjust != "none":
                found = await self._account_data.of_users(tx, [user_id], DUTY_ACCOUNT_DATA)
                own = found.get(user_id)
        row, default = rows.get(key) if user_id else None, rows.get(TENANT_DEFAULT)
        rules = self._rules_of(
            time_zone(tenant.policy.time_zone), tenant.policy.duty_user_adjust, row, default, own
        )
        now = self._clock.time_ms()
        return DutyView(
            row.schedule if row else None,
            row.override if row else None,
            default.schedule if default else None,
            own,
            on_duty(rules, now),
            next_change(rules, now),
        )

    async def set_schedule(
        self, tenant: Tenant, by: Actor, user_id: str | None, schedule: Any | None
    ) -> None:
        """Set (None: clear) a user's weekly hours, or the tenant's default."""
        if schedule is not None:
            parse_schedule(schedule)
        await self._change(tenant, by, user_id, "schedule", schedule, {"schedule": schedule})

    async def set_switch(self, tenant: Tenant, by: Actor, user_id: str, switch: Any | None) -> None:
        """ "Off duty now" / "on duty now" for a user (None: back to the schedule)."""
        value = None
        if switch is not None:
            value = override_json(parse_override(switch, self._clock.time_ms()))
        await self._change(tenant, by, user_id, "override", value, {"switch": value})

    async def _change(
        self,
        tenant: Tenant,
        by: Actor,
        user_id: str | None,
        column: str,
        value: Any,
        details: dict[str, Any],
    ) -> None:
        what = "switch" if column == "override" else column
        action = f"duty.{what}_{'set' if value is not None else 'cleared'}"
        async with self._store.transaction() as tx:
            if user_id is not None:
                await users.local_user(tx, tenant, user_id, deactivated_ok=True)
            await NotificationRepos.of(tx).duty.put(
                tenant.server_name,
                user_id or TENANT_DEFAULT,
                self._clock.time_ms(),
                **{column: value},
            )
            target = user_id or f"tenant:{tenant.server_name}"
            await self._audit.record_as(tx, tenant, by, action, target=target, details=details)
        # The push sender re-reads the user's duty hours (a default change reaches
        # it at its next periodic look).
        self._notifier.notify(users=[user_id] if user_id else [])

    # --- the user ----------------------------------------------------------

    async def check_own(
        self, tx: Tx, requester: Requester, room_id: str, content: JsonDict
    ) -> JsonDict:
        """Account data ``org.revier.duty_hours`` being written: allowed by the tenant's
        policy, well-formed, and audited in the same transaction. Returns what is
        stored: a switch gains the time it was set (``since``)."""
        allowed = requester.tenant.policy.duty_user_adjust
        if room_id:
            raise BadJson(f"{DUTY_ACCOUNT_DATA} is global account data, not a room's")
        if allowed == "none" and content:
            raise Forbidden("Duty hours are set by your organisation")
        unknown = set(content) - {"switch", "weekly"}
        if unknown:
            raise BadJson(f"unknown keys in {DUTY_ACCOUNT_DATA}: {', '.join(sorted(unknown))}")
        if "weekly" in content:
            if allowed != "schedule":
                raise Forbidden("Your organisation sets your weekly hours")
            parse_schedule(content["weekly"])
        stored = dict(content)
        if content.get("switch") is not None:
            switch = parse_override(content["switch"], self._clock.time_ms())
            stored["switch"] = override_json(switch)
        await self._audit.record_as(
            tx,
            requester.tenant,
            Actor.of(requester),
            "duty.own_set",
            target=requester.user_id,
            details={"duty_hours": stored},
        )
        return stored

    # --- the push sender ---------------------------------------------------

    async def rules(self, tx: Tx, user_ids: Sequence[str]) -> dict[str, DutyRules]:
        """What decides each user's duty, read in the caller's snapshot."""
        by_tenant: dict[str, list[str]] = {}
        for user_id in user_ids:
            tenant = self._tenants.owning(user_id)
            if tenant is not None:
                by_tenant.setdefault(tenant.server_name, []).append(user_id)
        out: dict[str, DutyRules] = {}
        db = NotificationRepos.of(tx).duty
        for name, members in by_tenant.items():
            tenant = self._tenants.get(name)
            assert tenant is not None
            policy = tenant.policy
            rows = await db.rows(name, members)
            own: dict[str, JsonDict] = {}
            if policy.duty_user_adjust != "none":
                own = await self._account_data.of_users(tx, members, DUTY_ACCOUNT_DATA)
            zone = time_zone(policy.time_zone)
            default = rows.get(TENANT_DEFAULT)
            for user_id in members:
                out[user_id] = self._rules_of(
                    zone, policy.duty_user_adjust, rows.get(user_id), default, own.get(user_id)
                )
        return out

    def _rules_of(
        self,
        zone: ZoneInfo,
        adjust: str,
        row: DutyRow | None,
        default: DutyRow | None,
        own: JsonDict | None,
    ) -> DutyRules:
        """The organisation's hours for the user, else the tenant's; the user's own
        hours if allowed; the organisation's switch before the user's."""
        schedule = row.schedule if row is not None else None
        if schedule is None and default is not None:
            schedule = default.schedule
        overrides: list[Override] = []
        if row is not None and row.override is not None:
            overrides.append(_override(row.override))
        if own and adjust != "none":
            if adjust == "schedule" and own.get("weekly") is not None:
                schedule = own["weekly"]
            if isinstance(own.get("switch"), dict):
                overrides.append(_override(own["switch"]))
        parsed = self._schedule(schedule) if schedule is not None else None
        return DutyRules(zone, parsed, tuple(overrides))

    def _schedule(self, value: Any) -> Schedule:
        """Parsed once per distinct schedule (many users share the tenant's default)."""
        key = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        found = self._schedules.get(key)
        if found is None:
            if len(self._schedules) >= _STATE_CACHE_MAX:
                self._schedules.clear()
            found = self._schedules[key] = parse_schedule(value)
        return found

    def on_duty(self, rules: DutyRules, now_ms: int) -> bool:
        """``policy.on_duty``, remembered per rules until they next change."""
        if rules.schedule is None and not rules.overrides:
            return True
        known = self._states.get(rules)
        if known is not None and known[1] <= now_ms and (known[2] is None or now_ms < known[2]):
            return known[0]
        state, until = on_duty(rules, now_ms), next_change(rules, now_ms)
        if len(self._states) >= _STATE_CACHE_MAX:
            self._states.clear()
        self._states[rules] = (state, now_ms, until)
        return state

    @staticmethod
    def next_start(rules: DutyRules, now_ms: int) -> int | None:
        return next_duty_start(rules, now_ms)


def _override(value: dict[str, Any]) -> Override:
    """A stored switch (``override_json``); since when it holds is part of it."""
    since = value.get("since")
    until = value.get("until")
    return Override(
        value.get("state") == "on",
        since if isinstance(since, int) else 0,
        until if isinstance(until, int) else None,
    )
