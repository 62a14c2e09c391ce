"""The core wing's storage: accounts and their devices, account data, the audit
log, user-interactive-auth sessions.

Only ``revier.services.core`` imports this package (an import contract checks it).
"""

from __future__ import annotations

from functools import cached_property

from revier.storage.core.account_data import AccountDataRepository, IgnoredUsersRepository
from revier.storage.core.audit import AuditRepository, TenantPolicyRepository
from revier.storage.core.devices import DeviceRepository
from revier.storage.core.uia import UiaSessionRepository
from revier.storage.core.user_directory import UserDirectoryRepository
from revier.storage.core.users import UserRepository
from revier.storage.store import Repositories


class CoreRepos(Repositories):
    @cached_property
    def users(self) -> UserRepository:
        return UserRepository(self.conn)

    @cached_property
    def devices(self) -> DeviceRepository:
        return DeviceRepository(self.conn)

    @cached_property
    def user_directory(self) -> UserDirectoryRepository:
        return UserDirectoryRepository(self.conn)

    @cached_property
    def account_data(self) -> AccountDataRepository:
        return AccountDataRepository(self.conn, self.changes)

    @cached_property
    def ignored_users(self) -> IgnoredUsersRepository:
        return IgnoredUsersRepository(self.conn)

    @cached_property
    def audit(self) -> AuditRepository:
        return AuditRepository(self.conn)

    @cached_property
    def tenant_policies(self) -> TenantPolicyRepository:
        return TenantPolicyRepository(self.conn)

    @cached_property
    def uia_sessions(self) -> UiaSessionRepository:
        return UiaSessionRepository(self.conn)
