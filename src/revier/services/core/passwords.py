"""Argon2id password hashes, computed off the event loop."""

from __future__ import annotations

import secrets
from typing import Protocol

import anyio.to_thread
from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from revier.config import TenantPolicy
from revier.errors import WeakPassword
from revier.policy.passwords import check_password
from revier.services.core.tenants import Tenant
from revier.storage.core.users import User

_hasher = PasswordHasher()  # argon2id with RFC 9106's low-memory profile
# Verified when the user does not exist, so "no such user" takes as long as
# "wrong password" and the two can't be told apart by timing.
_DUMMY_HASH = _hasher.hash("revier-timing-equaliser")


def generate_password(policy: TenantPolicy, localpart: str) -> str:
    """A random password the tenant's policy accepts, for an admin to hand over once.

    At least 24 characters of 6 random bits each; drawn again in the rare case
    that it happens to contain the user name (short localparts).
    """
    length = max(24, policy.password_min_length)
    while True:
        password = secrets.token_urlsafe(length)[:length]
        try:
            check_password(policy, password, localpart=localpart)
        except WeakPassword:
            continue
        return password


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


def is_argon2_hash(value: str) -> bool:
    """Whether ``value`` is an Argon2 PHC string that ``verify_password`` can check.

    Bulk imports may bring hashes from the system an organisation migrates from.
    """
    if not value.startswith(("$argon2id$", "$argon2i$")):
        return False
    try:
        extract_parameters(value)
    except InvalidHashError:
        return False
    return True


async def verify_password(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(verify)


class ExternalPasswords(Protocol):
    """Where the password of an account kept outside revier is checked: the org
    wing's directory (an LDAP bind as the person), handed in by the container —
    the wings below can't import it."""

    async def check(self, tenant: Tenant, user_id: str, password: str) -> bool | None:
        """Whether the password is right; None when the account's password is
        revier's own to check."""
        ...


async def check_account_password(
    external: ExternalPasswords | None, tenant: Tenant, account: User | None, password: str
) -> bool:
    """The directory's answer for an account it manages, else revier's hash (the
    same work for an unknown account). A closed account is never asked of the
    directory."""
    if account is not None and not account.deactivated and external is not None:
        answer = await external.check(tenant, account.user_id, password)
        if answer is not None:
            return answer
    return await verify_password(account.password_hash if account else None, password)
