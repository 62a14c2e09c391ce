"""The signin wing's storage: second factors, recovery codes, WebAuthn
challenges and failed sign-in attempts.

Only ``revier.services.signin`` imports this package (an import contract checks it).
"""

from __future__ import annotations

from functools import cached_property

from revier.storage.signin.attempts import AttemptRepository, Failures
from revier.storage.signin.factors import FactorRepository, FactorRow
from revier.storage.store import Repositories

__all__ = ["AttemptRepository", "FactorRepository", "FactorRow", "Failures", "SigninRepos"]


class SigninRepos(Repositories):
    @cached_property
    def factors(self) -> FactorRepository:
        return FactorRepository(self.conn)

    @cached_property
    def attempts(self) -> AttemptRepository:
        return AttemptRepository(self.conn, is_sqlite=self.tx.is_sqlite)
