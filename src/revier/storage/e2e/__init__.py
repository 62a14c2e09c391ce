"""The e2e wing's storage. End-to-end encryption: device and one-time keys, cross-signing, the
device-list stream, to-device messages, key backups.

Only ``revier.services.e2e`` imports this package (an import contract checks it).
"""

from __future__ import annotations

from functools import cached_property

from revier.storage.e2e.cross_signing import CrossSigningRepository
from revier.storage.e2e.device_lists import DeviceListRepository
from revier.storage.e2e.e2e_keys import E2eKeyRepository
from revier.storage.e2e.key_backup import KeyBackupRepository
from revier.storage.e2e.to_device import ToDeviceRepository
from revier.storage.store import Repositories


class E2eRepos(Repositories):
    @cached_property
    def e2e_keys(self) -> E2eKeyRepository:
        return E2eKeyRepository(self.conn, is_sqlite=self.is_sqlite, changes=self.changes)

    @cached_property
    def cross_signing(self) -> CrossSigningRepository:
        return CrossSigningRepository(self.conn)

    @cached_property
    def device_lists(self) -> DeviceListRepository:
        return DeviceListRepository(self.conn, self.changes)

    @cached_property
    def to_device(self) -> ToDeviceRepository:
        return ToDeviceRepository(self.conn, self.changes)

    @cached_property
    def key_backup(self) -> KeyBackupRepository:
        return KeyBackupRepository(self.conn)
