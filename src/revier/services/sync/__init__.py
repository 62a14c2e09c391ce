"""sync: /sync, and what only it needs: filters and presence.

Owns the filters clients upload and presence. It reads everything else
through the other wings' services in one read snapshot: a room's timeline
and state from ``rooms``, unread counts and push rules from
``notifications``, to-device messages, device lists and key counts from
``e2e``, account data from ``core``.

Other wings import from this package only, never from its modules (and
none needs to: sync is the top of the graph).
"""

from revier.services.sync.filters import FilterService
from revier.services.sync.presence import PRESENCE_STATES, Presence, PresenceService
from revier.services.sync.sync import SyncRequest, SyncService

__all__ = [
    "PRESENCE_STATES",
    "FilterService",
    "Presence",
    "PresenceService",
    "SyncRequest",
    "SyncService",
]
