"""The rooms wing's storage: events and their graph, relations and threads, state,
memberships, aliases, receipts, send transaction IDs, closures, the search index.

Only ``revier.services.rooms`` imports this package (an import contract checks it).
"""

from __future__ import annotations

from functools import cached_property

from revier.storage.rooms.event_appends import EventAppendRepository
from revier.storage.rooms.event_txns import EventTxnRepository
from revier.storage.rooms.events import EventRepository
from revier.storage.rooms.events_by_time import EventsByTimeRepository
from revier.storage.rooms.many_rooms import ManyRoomsRepository
from revier.storage.rooms.receipts import ReceiptRepository
from revier.storage.rooms.relations import RelationRepository
from revier.storage.rooms.reports import ContentReportRepository
from revier.storage.rooms.retention_purge import RetentionPurgeRepository
from revier.storage.rooms.room_closures import RoomClosureRepository
from revier.storage.rooms.room_overview import RoomOverviewRepository
from revier.storage.rooms.room_purge import RoomPurgeRepository
from revier.storage.rooms.rooms import (
    AliasRepository,
    MembershipRepository,
    RoomRepository,
)
from revier.storage.rooms.search import SearchRepository
from revier.storage.rooms.send_context import SendContextRepository
from revier.storage.store import Repositories


class RoomRepos(Repositories):
    @cached_property
    def events(self) -> EventRepository:
        return EventRepository(self.conn, self.room_versions)

    @cached_property
    def event_appends(self) -> EventAppendRepository:
        return EventAppendRepository(self.conn, is_sqlite=self.is_sqlite, changes=self.changes)

    @cached_property
    def send_context(self) -> SendContextRepository:
        return SendContextRepository(self.conn, self.events)

    @cached_property
    def events_by_time(self) -> EventsByTimeRepository:
        return EventsByTimeRepository(self.conn, self.events)

    @cached_property
    def many_rooms(self) -> ManyRoomsRepository:
        return ManyRoomsRepository(self.conn, self.events)

    @cached_property
    def rooms(self) -> RoomRepository:
        return RoomRepository(self.conn)

    @cached_property
    def memberships(self) -> MembershipRepository:
        return MembershipRepository(self.conn, self.changes)

    @cached_property
    def event_txns(self) -> EventTxnRepository:
        return EventTxnRepository(self.conn)

    @cached_property
    def aliases(self) -> AliasRepository:
        return AliasRepository(self.conn)

    @cached_property
    def receipts(self) -> ReceiptRepository:
        return ReceiptRepository(self.conn, self.changes)

    @cached_property
    def room_closures(self) -> RoomClosureRepository:
        return RoomClosureRepository(self.conn)

    @cached_property
    def room_overview(self) -> RoomOverviewRepository:
        return RoomOverviewRepository(self.conn)

    @cached_property
    def room_purge(self) -> RoomPurgeRepository:
        return RoomPurgeRepository(self.conn, self.search)

    @cached_property
    def retention_purge(self) -> RetentionPurgeRepository:
        return RetentionPurgeRepository(self.conn, self.search)

    @cached_property
    def search(self) -> SearchRepository:
        return SearchRepository(self.conn, self.events)

    @cached_property
    def relations(self) -> RelationRepository:
        return RelationRepository(self.conn)

    @cached_property
    def content_reports(self) -> ContentReportRepository:
        return ContentReportRepository(self.conn)
