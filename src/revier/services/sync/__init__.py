"""sync: /sync and simplified sliding sync, and what only they need: filters,
presence, the state of sliding-sync connections.

Owns the filters clients upload, presence, and what each sliding-sync
connection has been sent. It reads everything else
through the other wings' services in one read snapshot: a room's timeline
and state from ``rooms``, unread counts and push rules from
``notifications``, to-device messages, device lists and key counts from
``e2e``, account data from ``core``.

Other wings import from this package only, never from its modules (and
none needs to: sync is the top of the graph).
"""

from revier.services.sync.filters import FilterService
from revier.services.sync.presence import PRESENCE_STATES, Presence, PresenceService
from revier.services.sync.sliding_connections import ConnectionStore
from revier.services.sync.sliding_extensions import SlidingExtensions
from revier.services.sync.sliding_lists import ListBuilder
from revier.services.sync.sliding_request import SlidingSyncRequest, parse_request
from revier.services.sync.sliding_rooms import RoomResults
from revier.services.sync.sliding_sync import SlidingSyncService
from revier.services.sync.sync import SyncRequest, SyncService

__all__ = [
    "PRESENCE_STATES",
    "ConnectionStore",
    "FilterService",
    "ListBuilder",
    "Presence",
    "PresenceService",
    "RoomResults",
    "SlidingExtensions",
    "SlidingSyncRequest",
    "SlidingSyncService",
    "SyncRequest",
    "SyncService",
    "parse_request",
]
