"""The transaction seam between services and repositories."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import cached_property

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.account_data import AccountDataRepository, ReceiptRepository
from revier.storage.accounts import UserRepository
from revier.storage.audit import AuditRepository, TenantPolicyRepository
from revier.storage.checkpoint import Checkpointer
from revier.storage.cross_signing import CrossSigningRepository, DeviceListRepository
from revier.storage.deactivations import DeactivationRepository
from revier.storage.devices import AccessTokenRepository, DeviceRepository
from revier.storage.e2e_keys import E2eKeyRepository
from revier.storage.engine import Engines
from revier.storage.events import EventRepository
from revier.storage.filters import FilterRepository
from revier.storage.group_commit import GroupCommit
from revier.storage.key_backup import KeyBackupRepository
from revier.storage.media import MediaRepository
from revier.storage.notifications import PushActionRepository
from revier.storage.presence import PresenceRepository
from revier.storage.push_rules import PushRuleRepository
from revier.storage.registration_tokens import RegistrationTokenRepository
from revier.storage.room_closures import RoomClosureRepository
from revier.storage.room_overview import RoomOverviewRepository
from revier.storage.room_purge import RoomPurgeRepository
from revier.storage.rooms import (
    AliasRepository,
    EventTxnRepository,
    MembershipRepository,
    RoomRepository,
)
from revier.storage.streams import StreamRepository
from revier.storage.to_device import ToDeviceRepository
from revier.storage.uia import UiaSessionRepository
from revier.storage.user_directory import UserDirectoryRepository


class Conflict(Exception):
    """A uniqueness rule was broken (the row exists already); the service decides."""


class Tx:
    """Repositories bound to one connection (and so to one transaction)."""

    def __init__(
        self,
        conn: AsyncConnection,
        *,
        is_sqlite: bool,
        room_versions: dict[str, tuple[str, str]],
    ) -> None:
        self.conn = conn
        self.is_sqlite = is_sqlite
        self._room_versions = room_versions

    @cached_property
    def users(self) -> UserRepository:
        return UserRepository(self.conn)

    @cached_property
    def audit(self) -> AuditRepository:
        return AuditRepository(self.conn)

    @cached_property
    def tenant_policies(self) -> TenantPolicyRepository:
        return TenantPolicyRepository(self.conn)

    @cached_property
    def devices(self) -> DeviceRepository:
        return DeviceRepository(self.conn)

    @cached_property
    def access_tokens(self) -> AccessTokenRepository:
        return AccessTokenRepository(self.conn)

    @cached_property
    def uia_sessions(self) -> UiaSessionRepository:
        return UiaSessionRepository(self.conn)

    @cached_property
    def registration_tokens(self) -> RegistrationTokenRepository:
        return RegistrationTokenRepository(self.conn)

    @cached_property
    def streams(self) -> StreamRepository:
        return StreamRepository(self.conn)

    @cached_property
    def events(self) -> EventRepository:
        return EventRepository(self.conn, self._room_versions)

    @cached_property
    def rooms(self) -> RoomRepository:
        return RoomRepository(self.conn)

    @cached_property
    def memberships(self) -> MembershipRepository:
        return MembershipRepository(self.conn)

    @cached_property
    def event_txns(self) -> EventTxnRepository:
        return EventTxnRepository(self.conn)

    @cached_property
    def account_data(self) -> AccountDataRepository:
        return AccountDataRepository(self.conn)

    @cached_property
    def receipts(self) -> ReceiptRepository:
        return ReceiptRepository(self.conn)

    @cached_property
    def filters(self) -> FilterRepository:
        return FilterRepository(self.conn)

    @cached_property
    def aliases(self) -> AliasRepository:
        return AliasRepository(self.conn)

    @cached_property
    def push_rules(self) -> PushRuleRepository:
        return PushRuleRepository(self.conn)

    @cached_property
    def push_actions(self) -> PushActionRepository:
        return PushActionRepository(self.conn)

    @cached_property
    def presence(self) -> PresenceRepository:
        return PresenceRepository(self.conn)

    @cached_property
    def user_directory(self) -> UserDirectoryRepository:
        return UserDirectoryRepository(self.conn)

    @cached_property
    def e2e_keys(self) -> E2eKeyRepository:
        return E2eKeyRepository(self.conn, is_sqlite=self.is_sqlite)

    @cached_property
    def cross_signing(self) -> CrossSigningRepository:
        return CrossSigningRepository(self.conn)

    @cached_property
    def device_lists(self) -> DeviceListRepository:
        return DeviceListRepository(self.conn)

    @cached_property
    def to_device(self) -> ToDeviceRepository:
        return ToDeviceRepository(self.conn)

    @cached_property
    def key_backup(self) -> KeyBackupRepository:
        return KeyBackupRepository(self.conn)

    @cached_property
    def media(self) -> MediaRepository:
        return MediaRepository(self.conn)

    @cached_property
    def room_closures(self) -> RoomClosureRepository:
        return RoomClosureRepository(self.conn)

    @cached_property
    def room_overview(self) -> RoomOverviewRepository:
        return RoomOverviewRepository(self.conn)

    @cached_property
    def room_purge(self) -> RoomPurgeRepository:
        return RoomPurgeRepository(self.conn)

    @cached_property
    def user_deactivations(self) -> DeactivationRepository:
        return DeactivationRepository(self.conn)


class Store:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines
        # A room's version never changes: remembered for the life of the process.
        self._room_versions: dict[str, tuple[str, str]] = {}
        self._checkpoints: asyncio.Task[None] | None = None
        # SQLite has one writer: concurrent transactions share its commits.
        self._group = GroupCommit(engines.writer) if engines.is_sqlite else None

    def start_checkpoints(self) -> None:
        """SQLite: copy the write-ahead log into the database file in the background."""
        if self._engines.sqlite_file is not None and self._checkpoints is None:
            checkpointer = Checkpointer(self._engines.sqlite_file)
            self._checkpoints = asyncio.create_task(checkpointer.run(), name="wal checkpoints")

    @property
    def is_sqlite(self) -> bool:
        return self._engines.is_sqlite

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A write transaction: committed when the block ends, rolled back on error."""
        try:
            async with self._writer_transaction() as conn:
                yield Tx(conn, is_sqlite=self._engines.is_sqlite, room_versions=self._room_versions)
        except IntegrityError as e:
            raise Conflict(str(e.orig)) from e

    def _writer_transaction(self) -> AbstractAsyncContextManager[AsyncConnection]:
        if self._group is not None:
            return self._group.transaction()
        return self._engines.writer.begin()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """A consistent read-only snapshot: every query sees the same committed state."""
        async with self._engines.reader.connect() as conn:
            if not self._engines.is_sqlite:
                # PostgreSQL's default READ COMMITTED would let each query see
                # newer commits; /sync must read one moment. (SQLite in WAL
                # mode gives a snapshot per read transaction already.)
                await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                yield Tx(conn, is_sqlite=self._engines.is_sqlite, room_versions=self._room_versions)

    async def close(self) -> None:
        if self._group is not None:
            await self._group.drain()
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            await asyncio.gather(self._checkpoints, return_exceptions=True)
        await self._engines.dispose()
