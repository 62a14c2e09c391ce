"""The signin wing's storage: the pages' browser sessions, second factors,
recovery codes, WebAuthn challenges and failed sign-in attempts; the OAuth 2.0
API's clients, codes, device grants and sessions.

Only ``revier.services.signin`` imports this package (an import contract checks it).
"""

from __future__ import annotations

from functools import cached_property

from revier.storage.signin.attempts import AttemptRepository, Failures
from revier.storage.signin.factors import FactorRepository, FactorRow
from revier.storage.signin.oauth import OAuthRepository
from revier.storage.signin.web_sessions import WebSessionRepository, WebSessionRow
from revier.storage.store import Repositories

__all__ = [
    "AttemptRepository",
    "FactorRepository",
    "FactorRow",
    "Failures",
    "SigninRepos",
    "WebSessionRow",
]


class SigninRepos(Repositories):
    @cached_property
    def factors(self) -> FactorRepository:
        return FactorRepository(self.conn)

    @cached_property
    def attempts(self) -> AttemptRepository:
        return AttemptRepository(self.conn, is_sqlite=self.is_sqlite)

    @cached_property
    def web_sessions(self) -> WebSessionRepository:
        return WebSessionRepository(self.conn)

    @cached_property
    def oauth(self) -> OAuthRepository:
        return OAuthRepository(self.conn)
