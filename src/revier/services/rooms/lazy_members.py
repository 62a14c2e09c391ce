"""Which member events a device's lazy-loading /sync was sent already.

With ``lazy_load_members`` a client gets the member event of whoever speaks in
its timeline, once (spec: "Lazy-loading room members"): an incremental sync
leaves out the member events the client has, unless the filter asks for
``include_redundant_members``. What a client has is remembered here per
device, room and member: the member event it was sent and the position of the
response that carried it. An entry counts only for a sync whose ``since`` is
at or after that position — a client that lost a response and syncs from an
older token never got it, and gets it again.

Kept in memory and bounded, like a cache: what is forgotten (a restart,
another worker, a device not seen for long) is sent again, which is redundant
but never wrong.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

MAX_DEVICES = 10_000
MAX_ROOMS_PER_DEVICE = 2_000

Device = tuple[str, str]  # (user_id, device_id)


class SentMembers:
    def __init__(
        self, max_devices: int = MAX_DEVICES, max_rooms: int = MAX_ROOMS_PER_DEVICE
    ) -> None:
        self._max_devices = max_devices
        self._max_rooms = max_rooms
        # device -> room_id -> member user_id -> (event_id, position it was sent at)
        self._sent: OrderedDict[Device, OrderedDict[str, dict[str, tuple[str, int]]]] = (
            OrderedDict()
        )

    def known(self, device: Device, room_id: str, since: int) -> set[str]:
        """The members whose current member event (as of ``since``) the device has."""
        rooms = self._sent.get(device)
        members = rooms.get(room_id) if rooms is not None else None
        if not members:
            return set()
        return {user for user, (_, position) in members.items() if position <= since}

    def record(
        self, device: Device, room_id: str, events: Iterable[tuple[str, str]], position: int
    ) -> None:
        """(member user_id, event_id) pairs sent in a response whose end is ``position``."""
        rooms = self._sent.get(device)
        if rooms is None:
            rooms = self._sent[device] = OrderedDict()
            if len(self._sent) > self._max_devices:
                self._sent.popitem(last=False)
        else:
            self._sent.move_to_end(device)
        members = rooms.setdefault(room_id, {})
        rooms.move_to_end(room_id)
        if len(rooms) > self._max_rooms:
            rooms.popitem(last=False)
        for user_id, event_id in events:
            members[user_id] = (event_id, position)
