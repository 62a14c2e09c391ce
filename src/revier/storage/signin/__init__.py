"""The signin wing's storage: the browser sessions of the sign-in and account
pages, and the OAuth 2.0 API's clients, codes, device grants and sessions.

Only ``revier.services.signin`` imports this package (an import contract checks it).
"""

from __future__ import annotations

from functools import cached_property

from revier.storage.signin.oauth import OAuthRepository
from revier.storage.signin.web_sessions import WebSessionRepository, WebSessionRow
from revier.storage.store import Repositories

__all__ = ["SigninRepos", "WebSessionRow"]


class SigninRepos(Repositories):
    @cached_property
    def web_sessions(self) -> WebSessionRepository:
        return WebSessionRepository(self.conn)

    @cached_property
    def oauth(self) -> OAuthRepository:
        return OAuthRepository(self.conn)
