"""The sync wing's storage. What /sync keeps of its own: filters, presence, and the
state of sliding-sync connections.

Only ``revier.services.sync`` imports this package (an import contract checks it).
"""

from __future__ import annotations

from functools import cached_property

from revier.storage.store import Repositories
from revier.storage.sync.filters import FilterRepository
from revier.storage.sync.presence import PresenceRepository
from revier.storage.sync.sliding_connections import SlidingConnectionRepository


class SyncRepos(Repositories):
    @cached_property
    def filters(self) -> FilterRepository:
        return FilterRepository(self.conn)

    @cached_property
    def presence(self) -> PresenceRepository:
        return PresenceRepository(self.conn, self.changes)

    @cached_property
    def sliding_connections(self) -> SlidingConnectionRepository:
        return SlidingConnectionRepository(self.conn)
