"""The push sender: a background task that turns push actions into pushes.

Nothing on the way of a message waits for it. When an event is stored,
``PushActions.record`` tells it (before the commit) which users it notifies
and at which stream position; the commit's wake-up (``notify/``) then wakes
it. It reads what each of those users' pushers is owed — the user's push
actions after the pusher's position — in one snapshot, with the events, the
unread counts and the duty hours (``push_plan``), and hands each pusher its
pushes (``push_delivery``). A dead gateway delays only its own pushers.

The queue is durable without a row per push: a pusher's position is written
back after the gateway answered, so what is owed when the server stops is
found again at the start (``users_owed``) and sent once.

Off duty nothing is sent — except from the tenant's urgent rooms and
senders, audited — and the pusher's position moves past what was held back;
the user is noted in ``pushes_held``. When their duty begins, each pusher
gets one push: the newest unread notification, with the current count
(``duty_start``). Push actions are untouched either way, so /sync's counts
stay right and nothing is lost.

With several workers one of them sends (a PostgreSQL advisory lock); it
learns of the others' events from the room keys they publish.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from revier.config import PushSettings
from revier.notify import Notifier
from revier.services.core import AuditLog, Clock, TenantRegistry
from revier.services.notifications.duty import DutyService
from revier.services.notifications.duty_start import DutyStarts
from revier.services.notifications.gateway_client import GatewayClient
from revier.services.notifications.push_actions import PushActions
from revier.services.notifications.push_delivery import Deliveries, LivePusher
from revier.services.notifications.push_plan import Planner, RoomFacts
from revier.storage import Store, Tx
from revier.storage.notifications import NotificationRepos
from revier.storage.notifications.pushers import Pusher

log = structlog.get_logger("revier.push")

PUSH_SENDER_LOCK = 0x72657669_70757368  # "revipush": the one worker that sends
_LEADER_RETRY_S = 15.0
_RESCAN_S = 300.0


class PushSender:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        tenants: TenantRegistry,
        settings: PushSettings,
        push_actions: PushActions,
        duty: DutyService,
        audit: AuditLog,
        notifier: Notifier,
        facts: RoomFacts,
        *,
        other_workers: bool,
    ) -> None:
        self._store = store
        self._clock = clock
        self._tenants = tenants
        self._facts = facts
        self._planner = Planner(store, tenants, duty, audit, facts)
        self._other_workers = other_workers
        client = GatewayClient(
            timeout_s=settings.request_timeout_seconds,
            max_connections=settings.max_connections_per_gateway,
        )
        self.deliveries = Deliveries(store, clock, client, self._delivered, self._removed)
        self._starts = DutyStarts(store, clock, duty, facts)
        self._pushers: dict[str, list[LivePusher]] = {}
        self._dirty: dict[str, int] = {}  # user -> newest position noted for them
        self._reload: set[str] = set()
        self._rooms: set[str] = set()
        self._retrying: set[LivePusher] = set()
        self._wake = asyncio.Event()
        self._running = False
        self._loading = False
        self._rescan = False
        self._next_rescan = 0.0
        push_actions.on_notified(self._notified)
        notifier.add_listener(self._changed)

    def wake(self) -> None:
        self._wake.set()

    # --- cues: called synchronously, must stay cheap -------------------------

    def _notified(self, user_ids: list[str], position: int) -> None:
        if not self._running:
            return
        pushers, dirty = self._pushers, self._dirty
        # While pushers are being loaded (a reload pending, or a round under way)
        # a user's may not be known yet: every cue is kept then. The cue comes
        # before its event's commit; dropped, the round that loads a pusher set
        # just before would look what is owed in a snapshot without the event,
        # and nothing would cue the user again until the next rescan.
        everyone = self._loading or bool(self._reload)
        for user_id in user_ids:
            if (everyone or user_id in pushers) and dirty.get(user_id, -1) < position:
                dirty[user_id] = position

    def _changed(self, keys: frozenset[str] | None) -> None:
        if not self._running:
            return
        if keys is None:  # the wake-ups were lost (Redis reconnected): look at everything
            self._rescan = True
            self._wake.set()
            return
        for key in keys:
            if key.startswith("u:"):
                self._reload.add(key[2:])
            elif self._other_workers:
                self._rooms.add(key[2:])
        if self._dirty or self._reload or self._rooms:
            self._wake.set()

    def _delivered(self, pusher: LivePusher) -> None:
        if pusher.retry_at is not None:
            self._retrying.add(pusher)
        if pusher.missed:
            pusher.missed = False
            self._dirty.setdefault(pusher.user_id, 0)
        self._starts.pusher_free(pusher)
        self._wake.set()

    def _removed(self, pusher: LivePusher) -> None:
        self._reload.add(pusher.user_id)
        self._wake.set()

    # --- the task ------------------------------------------------------------

    async def run(self) -> None:
        """Background task of a serving process: send pushes until cancelled, if
        this is the installation's sending worker (else wait to become it). If the
        database is away at the start, try again a little later."""
        while True:
            try:
                async with self._store.exclusive(PUSH_SENDER_LOCK) as mine:
                    if mine:
                        await self._serve()
            except Exception:
                log.exception("the push sender stopped; it starts again shortly")
            await asyncio.sleep(_LEADER_RETRY_S)

    async def _serve(self) -> None:
        self._running = self._loading = True
        flusher = asyncio.create_task(self.deliveries.flush_forever())
        try:
            await self._load()
            while True:
                await self._wait()
                try:
                    await self._round()
                except Exception:  # the database is away, or a bug: log, look again
                    log.exception("push round failed")
                    self._rescan = True
                    await asyncio.sleep(1)
        finally:
            self._running = False
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
            await self.deliveries.stop()

    async def _load(self) -> None:
        async with self._store.read() as tx:
            await self._load_all(tx)
        self._loading = False
        self._wake.set()

    async def _load_all(self, tx: Tx) -> None:
        db = NotificationRepos.of(tx)
        rows = await db.pushers.all()
        # Swapped in without an await in between: the cue of an event meanwhile
        # must find its users' pushers.
        known = {p.id: p for live in self._pushers.values() for p in live}
        self._pushers = {}
        for row in rows:
            self._keep(row, known.pop(row.id, None))
        for gone in known.values():
            gone.gone = True
        for user_id in await db.pushers.users_owed():
            self._dirty.setdefault(user_id, 0)
        await self._starts.load(tx)

    async def _wait(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        timers = [p.retry_at - now for p in self._retrying if p.retry_at is not None]
        timers.append(self._next_rescan - now)
        due = self._starts.next_due()
        if due is not None:
            timers.append((due - self._clock.time_ms()) / 1000)
        timeout = max(0.0, min(timers))
        if timeout > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()

    async def _round(self) -> None:
        now_loop = asyncio.get_running_loop().time()
        for pusher in [p for p in self._retrying if (p.retry_at or 0) <= now_loop]:
            self._retrying.discard(pusher)
            pusher.retry_at = None
            if not pusher.gone:
                self._dirty.setdefault(pusher.user_id, 0)
                self._starts.pusher_free(pusher)
        if now_loop >= self._next_rescan:
            self._next_rescan = now_loop + _RESCAN_S
            self._rescan = True
        now = self._clock.time_ms()
        self._loading = True  # the snapshot may load pushers: see _notified
        try:
            async with self._store.read() as tx:
                current = await tx.streams.current()
                await self._refresh(tx, current)
                ready = [u for u, pos in self._dirty.items() if pos <= current]
                for user_id in ready:
                    del self._dirty[user_id]
                pushers = [p for u in ready for p in self._pushers.get(u, ())]
                plan = await self._planner.plan(tx, pushers, current, now)
                starts = await self._starts.plan(tx, self._pushers, now, self._planner.content)
        finally:
            self._loading = False
        if plan.held or plan.breakthroughs:
            await self._planner.record(plan, now)
            for user_id in plan.held:
                self._starts.hold(user_id, now)
        await self._starts.record(self._pushers)
        for pusher, pushes in [*plan.deliveries, *starts]:
            self.deliveries.start(pusher, pushes)

    async def _refresh(self, tx: Tx, current: int) -> None:
        """Take in what changed: all pushers after lost wake-ups, some users' pushers
        (``u:`` keys), and with other workers the users their events notified."""
        if self._rescan:
            self._rescan = False
            await self._load_all(tx)
        if self._reload:
            users, self._reload = self._reload, set()
            rows = await NotificationRepos.of(tx).pushers.for_users(sorted(users))
            kept = {p.id: p for u in users for p in self._pushers.pop(u, [])}
            for row in rows:
                self._keep(row, kept.pop(row.id, None))
            for gone in kept.values():
                gone.gone = True
            for user_id in users & self._pushers.keys():
                # A cue for an event that came before the reload found no pusher
                # of a user who had just set their first: look what is owed.
                self._dirty.setdefault(user_id, 0)
            self._starts.reconsider(users)
        if self._rooms:
            rooms, self._rooms = self._rooms, set()
            for members in (await self._facts.joined_members(tx, sorted(rooms))).values():
                for user_id in members & self._pushers.keys():
                    self._dirty[user_id] = max(self._dirty.get(user_id, 0), current)

    def _keep(self, row: Pusher, known: LivePusher | None) -> None:
        """Take a pusher's row into memory. A pusher known already stays the same
        object (a delivery may hold it), refreshed from the row."""
        try:
            fresh = LivePusher.of(row)
        except (KeyError, ValueError):  # no usable URL: it could never be sent to
            return
        tenant = self._tenants.owning(row.user_id)
        if tenant is None or fresh.url.origin_text not in tenant.policy.push_gateways:
            # Set while the tenant allowed that gateway; it no longer does (the
            # policy changed since): nothing goes there any more.
            if known is not None:
                known.gone = True
            return
        if known is not None and not known.gone:
            known.device, known.url = fresh.device, fresh.url
            # Set again (re-registered): it starts afresh at the row's position.
            known.position = max(known.position, fresh.position)
            if fresh.duty_push_for is not None:
                known.duty_push_for = max(fresh.duty_push_for, known.duty_push_for or 0)
            fresh = known
        self._pushers.setdefault(row.user_id, []).append(fresh)
