"""The signin wing's storage. Only ``revier.services.signin`` imports this
package (an import contract checks it)."""

from __future__ import annotations

from functools import cached_property

from revier.storage.signin.oauth import OAuthRepository
from revier.storage.store import Repositories


class SigninRepos(Repositories):
    @cached_property
    def oauth(self) -> OAuthRepository:
        return OAuthRepository(self.conn)
