"""rooms: rooms and everything in them.

Owns the events (the one write path, ``room_events.RoomEventWriter``), room
state, memberships, aliases and the public directory, profiles carried into
rooms, read receipts, typing, reading a room (/messages, /context, members,
visibility), server-side search, content reports for the admins, what a suspended
account may do in rooms, child events and threads (/relations, /threads, and the bundled
aggregations of served events), one room's part of a /sync (``room_sync``),
room upgrades, summaries, space hierarchies and lookups (mutual rooms, the event
nearest a moment), and the organisation's admin of rooms (listing, closing, purging).

Other wings ask it who is in which room through ``room_members``, and write
into rooms only through its services. They import from this package only,
never from its modules.
"""

from revier.services.rooms import room_members
from revier.services.rooms.directory import DirectoryService, PublicRoomsQuery
from revier.services.rooms.event_format import client_events
from revier.services.rooms.membership import MembershipService
from revier.services.rooms.notification_list import NotificationList
from revier.services.rooms.profiles import ProfileService
from revier.services.rooms.push_facts import RoomPushFacts
from revier.services.rooms.receipts import ReceiptService
from revier.services.rooms.relations import RelationsQuery, RelationsService
from revier.services.rooms.reports import ReportService
from revier.services.rooms.room_admin import (
    MAX_SEARCH_LENGTH,
    RoomAdminService,
    RoomsPage,
    closure_json,
    room_matches,
)
from revier.services.rooms.room_closing import RoomCloser
from revier.services.rooms.room_events import BUMP_EVENT_TYPES, RoomEventWriter, Written
from revier.services.rooms.room_list import ListedRoom
from revier.services.rooms.room_lookups import RoomLookups
from revier.services.rooms.room_members import IN_ROOM
from revier.services.rooms.room_reading import MessagesQuery, RoomReader, parse_room_event_filter
from revier.services.rooms.room_summary import RoomSummaries
from revier.services.rooms.room_sync import RoomSyncBuilder, Window
from revier.services.rooms.room_upgrade import RoomUpgrader
from revier.services.rooms.room_views import (
    RoomMeta,
    RoomViews,
    StateWanted,
    TimelineWanted,
)
from revier.services.rooms.rooms import RoomService
from revier.services.rooms.search import SearchService
from revier.services.rooms.search_query import SearchQuery, parse_search
from revier.services.rooms.space_hierarchy import HierarchyQuery, SpaceHierarchy
from revier.services.rooms.steward import RoomSteward, Standing
from revier.services.rooms.typing import TypingService
from revier.services.rooms.visibility import Visibility
from revier.storage.rooms.events import StoredEvent
from revier.storage.rooms.reports import ContentReport, ReportQuery
from revier.storage.rooms.room_closures import RoomClosure
from revier.storage.rooms.rooms import Membership, Room

__all__ = [
    "BUMP_EVENT_TYPES",
    "IN_ROOM",
    "MAX_SEARCH_LENGTH",
    "ContentReport",
    "DirectoryService",
    "HierarchyQuery",
    "ListedRoom",
    "Membership",
    "MembershipService",
    "MessagesQuery",
    "NotificationList",
    "ProfileService",
    "PublicRoomsQuery",
    "ReceiptService",
    "RelationsQuery",
    "RelationsService",
    "ReportQuery",
    "ReportService",
    "Room",
    "RoomAdminService",
    "RoomCloser",
    "RoomClosure",
    "RoomEventWriter",
    "RoomLookups",
    "RoomMeta",
    "RoomPushFacts",
    "RoomReader",
    "RoomService",
    "RoomSteward",
    "RoomSummaries",
    "RoomSyncBuilder",
    "RoomUpgrader",
    "RoomViews",
    "RoomsPage",
    "SearchQuery",
    "SearchService",
    "SpaceHierarchy",
    "Standing",
    "StateWanted",
    "StoredEvent",
    "TimelineWanted",
    "TypingService",
    "Visibility",
    "Window",
    "Written",
    "client_events",
    "closure_json",
    "parse_room_event_filter",
    "parse_search",
    "room_matches",
    "room_members",
]
