"""Each room's retention cutoff: the oldest message timestamp still served.

Every read path asks ``RoomRetention.cutoff`` once per room per request and
either puts it into its SQL (``/messages``, /sync timelines, search: the
``not_before_ts`` of ``EventQuery``) or drops what is older from the few
events it loaded (``Visibility.filter``). The cutoff moves with the clock, so
it is computed per call; what is cached is the room's lifetime (its
``m.room.retention`` state clamped into its tenant's bounds), which changes
only with that state event.

The cache is this process's: the event writer forgets a room's entry when it
stores an ``m.room.retention`` event, and the room is not cached again for a
few seconds (a read in a snapshot taken before that commit would otherwise
cache the old value). Another worker's change reaches this one when the
entry expires (``_TTL_S``); the clock still hides each message the moment its
lifetime under the cached policy ends.
"""

from __future__ import annotations

from collections.abc import Iterable

from revier.events.types import JsonDict
from revier.policy.retention import RETENTION, RetentionBounds, cutoff, effective_lifetime
from revier.services.core import Clock, Tenant, TenantRegistry
from revier.storage import Tx
from revier.storage.rooms import RoomRepos

_TTL_S = 30.0
_QUIET_S = 5.0
_MAX_ENTRIES = 50_000


class RoomRetention:
    def __init__(self, clock: Clock, tenants: TenantRegistry) -> None:
        self._clock = clock
        self._tenants = tenants
        # room_id -> (lifetime ms or None, monotonic time read)
        self._cache: dict[str, tuple[int | None, float]] = {}
        # room_id -> monotonic time until which the room isn't cached
        self._changed: dict[str, float] = {}

    def now_ms(self) -> int:
        return self._clock.time_ms()

    async def cutoff(self, tx: Tx, room_id: str) -> int | None:
        """The oldest ``origin_server_ts`` of the room's messages still served
        (None: all are); state events are always served."""
        return cutoff(await self.lifetime(tx, room_id), self._clock.time_ms())

    async def cutoffs(self, tx: Tx, room_ids: Iterable[str]) -> dict[str, int | None]:
        now = self._clock.time_ms()
        return {r: cutoff(await self.lifetime(tx, r), now) for r in room_ids}

    async def lifetime(self, tx: Tx, room_id: str) -> int | None:
        """How long the room's messages live (ms), None: for good."""
        now = self._clock.monotonic()
        known = self._cache.get(room_id)
        if known is not None and now - known[1] < _TTL_S:
            return known[0]
        value = await self._read(tx, room_id)
        if self._changed.get(room_id, 0.0) <= now:
            self._changed.pop(room_id, None)
            if len(self._cache) >= _MAX_ENTRIES:
                self._cache.clear()
            self._cache[room_id] = (value, now)
        return value

    async def _read(self, tx: Tx, room_id: str) -> int | None:
        db = RoomRepos.of(tx)
        tenant_name = await db.events.room_tenant(room_id)
        tenant = self._tenants.get(tenant_name) if tenant_name else None
        bounds = RetentionBounds.of(tenant.policy) if tenant else RetentionBounds()
        state = await db.events.current_state_events(room_id, [(RETENTION, "")])
        event = state.get((RETENTION, ""))
        return effective_lifetime(event.content if event is not None else None, bounds)

    def forget(self, room_id: str) -> None:
        """The room's ``m.room.retention`` changed (called in the writing transaction)."""
        self._cache.pop(room_id, None)
        self._changed[room_id] = self._clock.monotonic() + _QUIET_S

    @staticmethod
    def configuration(tenant: Tenant) -> JsonDict:
        """MSC1763's retention configuration as Synapse serves it: the default
        policy for every room (``"*"``) and the bounds of ``max_lifetime``, in ms."""
        bounds = RetentionBounds.of(tenant.policy)
        limits = {
            key: value
            for key, value in (("min", bounds.min_ms), ("max", bounds.max_ms))
            if value is not None
        }
        return {
            "policies": (
                {"*": {"max_lifetime": bounds.default_ms}} if bounds.default_ms is not None else {}
            ),
            "limits": {"max_lifetime": limits} if limits else {},
        }
