"""When, from where and with which app a device was last seen (the device list's
``last_seen_ts`` and ``last_seen_ip``, the admin API's client versions)."""

from __future__ import annotations

from revier.services.core import Clock, devices
from revier.storage import Store

# Writing last_seen on every request would turn each read into a write.
_EVERY_MS = 5 * 60 * 1000
_MAX_REMEMBERED = 200_000

Client = tuple[str, str]  # the app's name and version, from its User-Agent


class LastSeen:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        # (user, device) -> when this worker last wrote it, and the app it named
        self._written: dict[tuple[str, str], tuple[int, Client | None]] = {}

    async def note(self, user_id: str, device_id: str, address: str, client: Client | None) -> None:
        """Record a request of the device: at most every few minutes, but an app
        that changed (an update) at once."""
        now = self._clock.time_ms()
        key = (user_id, device_id)
        last, last_client = self._written.get(key, (0, None))
        if now - last < _EVERY_MS and client == last_client:
            return
        self._written[key] = (now, client)
        if len(self._written) > _MAX_REMEMBERED:
            self._written.clear()
        async with self._store.transaction() as tx:
            await devices.touch(tx, user_id, device_id, ts=now, ip=address, client=client)
