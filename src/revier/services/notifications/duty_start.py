"""The push at the start of duty, for users whose pushes were held back off duty.

When their duty begins, each of their pushers gets one push — the newest
unread notification (so Element X fetches and shows a real message; Android
ignores a push without an event ID) with the current unread count and high
priority — and then pushing goes on as usual. If everything was read
meanwhile, nothing is sent. A pusher records for which held period it had
its push (``duty_push_for``), so a restart sends it once; a pusher set up
during the rest period gets one too. A duty-start push that fails is retried
like any other, and left for the next duty start if duty ends first.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import partial

from revier.push.gateway import PushContent, PushedEvent, event_push
from revier.services.core import Clock
from revier.services.notifications.duty import DutyService
from revier.services.notifications.push_delivery import LivePusher, Push
from revier.services.notifications.push_plan import DETAIL, RoomFacts
from revier.storage import Store, Tx
from revier.storage.notifications import NotificationRepos

# Looked at again after this long if nothing else says when (no duty ahead in
# the schedule's horizon, or the pushers are still busy).
_LATER_MS = 3_600_000


class DutyStarts:
    def __init__(self, store: Store, clock: Clock, duty: DutyService, facts: RoomFacts) -> None:
        self._store = store
        self._clock = clock
        self._duty = duty
        self._facts = facts
        self._held: dict[str, int] = {}  # user -> since when their pushes are held back
        self._due: dict[str, int | None] = {}  # user -> when to look (None: at once)
        self._sent: list[tuple[LivePusher, int]] = []  # duty-start pushes out, to write
        self._done: dict[str, int] = {}  # users with nothing (more) to send: release

    async def load(self, tx: Tx) -> None:
        self._held = await NotificationRepos.of(tx).duty.all_held()
        self._due = dict.fromkeys(self._held)

    def hold(self, user_id: str, now_ms: int) -> None:
        if user_id not in self._held:
            self._held[user_id] = now_ms
            self._due[user_id] = None

    def reconsider(self, user_ids: Collection[str]) -> None:
        """Their pushers or duty hours may have changed: look again at once."""
        for user_id in user_ids:
            if user_id in self._held:
                self._due[user_id] = None

    def pusher_free(self, pusher: LivePusher) -> bool:
        """A pusher's delivery ended or its retry is due: True if it still owes a
        duty-start push (then it is looked at in the next round)."""
        since = self._held.get(pusher.user_id)
        if since is None or pusher.duty_push_for == since or pusher.gone:
            return False
        self._due[pusher.user_id] = None
        return True

    def next_due(self) -> int | None:
        """When (clock time) the next look is due; 0: at once."""
        if not self._due:
            return None
        return min(0 if due is None else due for due in self._due.values())

    async def plan(
        self,
        tx: Tx,
        pushers: dict[str, list[LivePusher]],
        now: int,
        content_of: Callable[[str], PushContent],
    ) -> list[tuple[LivePusher, list[Push]]]:
        """Duty-start pushes for the held users whose duty has begun."""
        due = [u for u, at in self._due.items() if at is None or at <= now]
        if not due:
            return []
        rules = await self._duty.rules(tx, due)
        starting = []
        for user_id in due:
            if user_id not in rules:  # not a user of any tenant here (any more)
                self._due[user_id] = now + _LATER_MS
            elif self._duty.on_duty(rules[user_id], now):
                starting.append(user_id)
            else:
                self._due[user_id] = self._duty.next_start(rules[user_id], now) or now + _LATER_MS
        if not starting:
            return []
        db = NotificationRepos.of(tx).push_actions
        newest = await db.newest(starting)
        badges = await db.badges(starting)
        detail = max((content_of(u) for u in starting), key=DETAIL.index)
        events = await self._facts.pushed_events(
            tx, {a.stream_ordering for a in newest.values()}, detail
        )
        out: list[tuple[LivePusher, list[Push]]] = []
        for user_id in starting:
            since = self._held[user_id]
            owed = [p for p in pushers.get(user_id, []) if not p.gone and p.duty_push_for != since]
            action = newest.get(user_id)
            event: PushedEvent | None = events.get(action.stream_ordering) if action else None
            if action is None or event is None or not owed:
                # Nothing waiting any more, or every pusher had its push: done.
                self._due[user_id] = now + _LATER_MS
                self._done[user_id] = since
                continue
            self._due[user_id] = now + _LATER_MS  # until a pusher frees up or is done
            for pusher in (p for p in owed if p.ready):
                body = event_push(
                    event,
                    pusher.device,
                    unread=badges.get(user_id, 0),
                    highlight=action.highlight,
                    content=content_of(user_id),
                    high=True,
                )
                done = partial(self._pushed, pusher, since)
                out.append((pusher, [Push(pusher.position, body, on_sent=done)]))
        return out

    def _pushed(self, pusher: LivePusher, since: int) -> None:
        pusher.duty_push_for = since
        self._sent.append((pusher, since))

    async def record(self, pushers: dict[str, list[LivePusher]]) -> None:
        """Write which pushers had their duty-start push; a user all of whose
        pushers had it, or with nothing left to send, is no longer held."""
        if not self._sent and not self._done:
            return
        sent, self._sent = self._sent, []
        done, self._done = self._done, {}
        async with self._store.transaction() as tx:
            db = NotificationRepos.of(tx)
            for pusher, since in sent:
                await db.pushers.set_duty_push_for(pusher.id, since)
                live = [p for p in pushers.get(pusher.user_id, []) if not p.gone]
                if all(p.duty_push_for == since for p in live):
                    done[pusher.user_id] = since
            for user_id, since in done.items():
                await db.duty.release(user_id, since)
        for user_id, since in done.items():
            if self._held.get(user_id) == since:
                del self._held[user_id]
                self._due.pop(user_id, None)
