"""The accounts wing's storage: access, refresh, OpenID and login tokens,
registration tokens, and the
deactivations under way.

Only ``revier.services.accounts`` imports this package (an import contract checks it).
"""

from __future__ import annotations

from functools import cached_property

from revier.storage.accounts.access_tokens import AccessTokenRepository
from revier.storage.accounts.deactivations import DeactivationRepository
from revier.storage.accounts.refresh_tokens import RefreshTokenRepository
from revier.storage.accounts.registration_tokens import RegistrationTokenRepository
from revier.storage.accounts.short_tokens import ShortTokenRepository
from revier.storage.store import Repositories


class AccountRepos(Repositories):
    @cached_property
    def access_tokens(self) -> AccessTokenRepository:
        return AccessTokenRepository(self.conn)

    @cached_property
    def refresh_tokens(self) -> RefreshTokenRepository:
        return RefreshTokenRepository(self.conn)

    @cached_property
    def short_tokens(self) -> ShortTokenRepository:
        return ShortTokenRepository(self.conn)

    @cached_property
    def registration_tokens(self) -> RegistrationTokenRepository:
        return RegistrationTokenRepository(self.conn)

    @cached_property
    def user_deactivations(self) -> DeactivationRepository:
        return DeactivationRepository(self.conn)
