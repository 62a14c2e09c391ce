"""Which members an event notifies, decided once when the event is stored.

The answers feed ``unread_notifications`` in /sync, the pushes and
``/notifications``: one row per message for the members it notifies the common
way, a row per member it treats otherwise, each counted against the member's
read positions (``storage/notifications/owed.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

from revier.events.pdu import Pdu
from revier.events.power_levels import notification_power_level, user_power_level
from revier.push import (
    CompiledRuleset,
    EventMatcher,
    Personal,
    PushContext,
    Ruleset,
    compile_ruleset,
    default_ruleset,
    merge_rules,
    personal_tests,
)
from revier.services.core import AccountDataService
from revier.storage import Tx
from revier.storage.notifications import NotificationRepos
from revier.storage.notifications.push_actions import (
    PushAction,
    SharedNotification,
    UnreadCounts,
)

_CACHE_MAX = 50_000

# The server defaults compiled for a user ID no member has: what a member's
# unchanged defaults are compared with to find the tests naming them.
_TEMPLATE_USER = "@\x00:\x00"
_TEMPLATE = compile_ruleset(merge_rules(default_ruleset(_TEMPLATE_USER), [], {}))


class _Rules(NamedTuple):
    ruleset: Ruleset  # merged, as clients see it
    compiled: CompiledRuleset
    # The tests naming the user if their rules are the server defaults unchanged
    # (then most members share one evaluation per event), else None.
    personal: Personal | None


# Told, before the commit, who a new event notifies (user IDs, its stream
# position): the push sender's cue. It must not await or fail.
NotifiedListener = Callable[[list[str], int], None]


class PushActions:
    def __init__(self, account_data: AccountDataService) -> None:
        self._account_data = account_data
        # user_id -> merged ruleset (as clients see it) and its compiled form,
        # dropped when the user edits a rule — here, or in another worker: a rule
        # change notifies the user (``u:`` key), and ``on_change`` hears every
        # worker's changes through the notifier.
        self._rulesets: dict[str, _Rules] = {}
        # A ruleset read while a change to it lands must not be cached: count
        # the changes, and remember at which count each user's last one came.
        self._changes = 0
        self._floor = 0  # before this count, any user may have changed
        self._changed_at: dict[str, int] = {}
        self._listener: NotifiedListener | None = None

    def on_change(self, keys: frozenset[str] | None) -> None:
        """Notifier listener: forget the rulesets of every user a change names."""
        self._changes += 1
        if keys is None or len(self._changed_at) >= _CACHE_MAX:
            self._floor = self._changes
            self._changed_at.clear()
        if keys is None:
            self._rulesets.clear()
            return
        for key in keys:
            if key.startswith("u:"):
                self._changed_at[key[2:]] = self._changes
                self._rulesets.pop(key[2:], None)

    def on_notified(self, listener: NotifiedListener) -> None:
        self._listener = listener

    def forget(self, user_id: str) -> None:
        self._rulesets.pop(user_id, None)

    async def ruleset(self, tx: Tx, user_id: str) -> Ruleset:
        return (await self._cached(tx, user_id)).ruleset

    async def _cached(self, tx: Tx, user_id: str) -> _Rules:
        db = NotificationRepos.of(tx)
        cached = self._rulesets.get(user_id)
        if cached is None:
            started = self._changes
            user_rules = await db.push_rules.user_rules(user_id)
            overrides = await db.push_rules.overrides(user_id)
            ruleset = merge_rules(default_ruleset(user_id), user_rules, overrides)
            compiled = compile_ruleset(ruleset)
            defaults = not user_rules and not overrides
            cached = _Rules(
                ruleset, compiled, personal_tests(compiled, _TEMPLATE) if defaults else None
            )
            if self._floor <= started and self._changed_at.get(user_id, 0) <= started:
                if len(self._rulesets) >= _CACHE_MAX:
                    self._rulesets.clear()
                self._rulesets[user_id] = cached
        return cached

    async def record(
        self,
        tx: Tx,
        pdu: Pdu,
        stream_ordering: int,
        members: list[tuple[str, str | None]],
        *,
        create: Pdu,
        power_levels: Pdu | None,
        thread_id: str | None = None,
        everyone: bool = True,
    ) -> None:
        """Evaluate the rules of every other member (``members``: user ID and display
        name, as the room's wing knows them) for a new event; store who is notified.
        ``thread_id``: the thread the event is in (None: the main timeline);
        ``everyone``: ``members`` are all the room's joined members (an invite
        passes its invitee alone).

        When a member with the server-default rules whom the event doesn't name
        would be notified the common way (a notification, no highlight), that is
        one row for the event (``SharedNotification``), and only the members
        whose outcome differs get rows of their own: a room of a thousand
        writes one row per message, not a thousand."""
        levels = dict(power_levels.content) if power_levels else None
        sender_level = user_power_level(pdu.sender, levels, create, pdu.room_version)
        room = PushContext(
            user_id="",  # the recipient is given per member below
            user_display_name=None,
            room_member_count=len(members),
            # v12 creators have infinite power; any finite stand-in above every level works.
            sender_power_level=2**53 if math.isinf(sender_level) else int(sender_level),
            notification_power_levels={"room": notification_power_level("room", levels)},
        )
        matcher = EventMatcher(pdu.client_format(), room)
        common = matcher.first_match(_TEMPLATE, _TEMPLATE_USER, None)
        shared = (
            SharedNotification(pdu.room_id, stream_ordering, pdu.sender, thread_id)
            if everyone and common is not None and common.notify and not common.highlight
            else None
        )
        rows: list[PushAction] = []
        notified: list[str] = []
        # Nobody is notified of a message from someone they ignore (spec: "Ignoring
        # Users": it never reaches them). Only messages come here, never state.
        ignorers = await self._account_data.ignorers_of(tx, pdu.sender)
        for user_id, displayname in members:
            if user_id == pdu.sender:
                continue
            notify = highlight = False
            if user_id not in ignorers:
                # The cache read inline: a coroutine per member costs more than the rules.
                rules = self._rulesets.get(user_id) or await self._cached(tx, user_id)
                if rules.personal is None:
                    rule = matcher.first_match(rules.compiled, user_id, displayname)
                else:
                    rule = matcher.first_match_shared(
                        rules.compiled, rules.personal, user_id, displayname
                    )
                if rule is not None and rule.notify:
                    notify, highlight = True, rule.highlight
            if notify:
                notified.append(user_id)
            if shared is None:
                if notify:
                    rows.append(
                        PushAction(user_id, pdu.room_id, stream_ordering, highlight, thread_id)
                    )
            elif not notify or highlight:  # not the common way: a row of their own
                rows.append(
                    PushAction(user_id, pdu.room_id, stream_ordering, highlight, thread_id, notify)
                )
        await NotificationRepos.of(tx).push_actions.add(rows, shared)
        if notified and self._listener is not None:
            self._listener(notified, stream_ordering)

    async def unread_in_rooms(
        self, tx: Tx, user_id: str, room_ids: Sequence[str]
    ) -> dict[str, UnreadCounts]:
        """room_id -> the user's ``unread_notifications`` in each room: what is not
        read yet (a read receipt clears what it covers, see ``mark_read``); many
        rooms in a few statements."""
        return await NotificationRepos.of(tx).push_actions.unread_in_rooms(user_id, room_ids)

    async def unread_by_thread_in_rooms(
        self, tx: Tx, user_id: str, room_ids: Sequence[str]
    ) -> dict[str, tuple[UnreadCounts, dict[str, UnreadCounts]]]:
        """room_id -> the main timeline's unread counts and each thread's (by root
        event ID), for a client that asked for ``unread_thread_notifications``;
        many rooms in a few statements."""
        found = await NotificationRepos.of(tx).push_actions.unread_by_thread_in_rooms(
            user_id, room_ids
        )
        return {room_id: _split(counts) for room_id, counts in found.items()}

    async def mark_read(
        self, tx: Tx, user_id: str, room_id: str, upto: int, thread_id: str | None = None
    ) -> None:
        """A read receipt up to the event at ``upto``: nothing before it counts any
        more — anywhere, or (a threaded receipt) in ``thread_id`` alone (``main``:
        the main timeline)."""
        await NotificationRepos.of(tx).push_actions.clear_upto(user_id, room_id, upto, thread_id)

    async def page(
        self, tx: Tx, user_id: str, before: int | None, limit: int, *, highlight_only: bool
    ) -> list[PushAction]:
        """GET /notifications: the user's unread notifications before ``before``
        (a stream position), newest first."""
        return await NotificationRepos.of(tx).push_actions.page(
            user_id, before, limit, highlight_only=highlight_only
        )

    async def forget_events(self, tx: Tx, positions: Sequence[int]) -> None:
        """Purged events (a room's retention) notify nobody any more."""
        await NotificationRepos.of(tx).push_actions.forget_events(positions)

    async def forget_room(self, tx: Tx, room_id: str) -> None:
        """A purged room notifies nobody any more."""
        await NotificationRepos.of(tx).push_actions.forget_room(room_id)


def _split(
    counts: dict[str | None, UnreadCounts],
) -> tuple[UnreadCounts, dict[str, UnreadCounts]]:
    """The main timeline's counts (key None), and each thread's."""
    main = counts.get(None, UnreadCounts(0, 0))
    return main, {thread: c for thread, c in counts.items() if thread is not None}
