"""The signin wing's storage: the browser sessions of the sign-in and account
pages.

Only ``revier.services.signin`` imports this package (an import contract checks it).
"""

from __future__ import annotations

from functools import cached_property

from revier.storage.signin.web_sessions import WebSessionRepository, WebSessionRow
from revier.storage.store import Repositories

__all__ = ["SigninRepos", "WebSessionRow"]


class SigninRepos(Repositories):
    @cached_property
    def web_sessions(self) -> WebSessionRepository:
        return WebSessionRepository(self.conn)
