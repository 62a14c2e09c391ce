"""The transaction seam between services and repositories."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.accounts import UserRepository
from revier.storage.devices import AccessTokenRepository, DeviceRepository
from revier.storage.engine import Engines
from revier.storage.uia import UiaSessionRepository


class Conflict(Exception):
    """A uniqueness rule was broken (the row exists already); the service decides."""


class Tx:
    """Repositories bound to one connection (and so to one transaction)."""

    def __init__(self, conn: AsyncConnection, *, is_sqlite: bool) -> None:
        self.conn = conn
        self.is_sqlite = is_sqlite

    @cached_property
    def users(self) -> UserRepository:
        return UserRepository(self.conn)

    @cached_property
    def devices(self) -> DeviceRepository:
        return DeviceRepository(self.conn)

    @cached_property
    def access_tokens(self) -> AccessTokenRepository:
        return AccessTokenRepository(self.conn)

    @cached_property
    def uia_sessions(self) -> UiaSessionRepository:
        return UiaSessionRepository(self.conn)


class Store:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    @property
    def is_sqlite(self) -> bool:
        return self._engines.is_sqlite

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A write transaction: committed when the block ends, rolled back on error."""
        try:
            async with self._engines.writer.begin() as conn:
                yield Tx(conn, is_sqlite=self._engines.is_sqlite)
        except IntegrityError as e:
            raise Conflict(str(e.orig)) from e

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """A consistent read-only snapshot."""
        async with self._engines.reader.connect() as conn, conn.begin():
            yield Tx(conn, is_sqlite=self._engines.is_sqlite)

    async def close(self) -> None:
        await self._engines.dispose()
