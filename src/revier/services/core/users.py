"""Accounts as every wing sees them: look-ups, the tenant check, and the account row.

The ``users`` table belongs to this module. Other wings ask it, in their own
transaction, whether an account exists in the requester's tenant
(``local_user``), for its profile, or to lock it against concurrent writers;
the accounts wing asks it to create and change accounts. Anything that is
not an active account of the tenant is "no such user", so nothing about
other tenants or closed accounts leaks.
"""

from __future__ import annotations

from collections.abc import Collection

from revier.errors import InvalidParam, InvalidUsername, NotFound
from revier.events.identifiers import is_valid_user_id
from revier.services.core.tenants import Tenant
from revier.storage import Tx
from revier.storage.core import CoreRepos
from revier.storage.core.users import User

_LOCALPART_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._=-/+")
MAX_DISPLAYNAME_LENGTH = 256


def validate_localpart(tenant: Tenant, localpart: str) -> None:
    """The spec's user ID grammar for new accounts (appendix "User Identifiers")."""
    if not localpart or not set(localpart) <= _LOCALPART_CHARS:
        raise InvalidUsername(
            "User names may only contain a-z, 0-9 and . _ = - / +",
        )
    if len(tenant.user_id(localpart).encode("utf-8")) > 255:
        raise InvalidUsername("The user ID would be longer than 255 bytes")


def validate_displayname(displayname: str | None) -> None:
    if displayname is None:
        return
    if len(displayname) > MAX_DISPLAYNAME_LENGTH:
        raise InvalidParam(f"A display name may be at most {MAX_DISPLAYNAME_LENGTH} characters")
    if "\x00" in displayname:  # PostgreSQL text can't hold it, and no name needs it
        raise InvalidParam("A display name must not contain NUL characters")


def require_well_formed(user_id: str) -> None:
    """Refuse a malformed ID before it reaches a query (PostgreSQL text can't even
    hold a NUL byte): it is no one's."""
    if not is_valid_user_id(user_id):
        raise _no_such_user(user_id)


def _no_such_user(user_id: str) -> NotFound:
    return NotFound(f"No user {user_id} in this organisation")


async def local_user(tx: Tx, tenant: Tenant, user_id: str, *, deactivated_ok: bool = False) -> User:
    """An account of this tenant (active unless ``deactivated_ok``); anything else is
    "no such user"."""
    require_well_formed(user_id)
    user = await CoreRepos.of(tx).users.get(user_id)
    if (
        user is None
        or user.tenant != tenant.server_name
        or (user.deactivated and not deactivated_ok)
    ):
        raise _no_such_user(user_id)
    return user


async def get(tx: Tx, user_id: str) -> User | None:
    """Any account by ID, whatever its tenant or state (for checks of one's own)."""
    return await CoreRepos.of(tx).users.get(user_id)


async def lock(tx: Tx, user_id: str) -> None:
    """Serialise this transaction with every other writer for the same user (a
    login adding a device, a deactivation, a new key backup version)."""
    await CoreRepos.of(tx).users.lock(user_id)


async def member_profile(tx: Tx, user_id: str) -> dict[str, str]:
    """The ``displayname`` and ``avatar_url`` a new member event carries."""
    return profile_of(await CoreRepos.of(tx).users.get(user_id))


def profile_of(user: User | None) -> dict[str, str]:
    """``member_profile`` from an account row read already."""
    out: dict[str, str] = {}
    if user is not None and user.displayname:
        out["displayname"] = user.displayname
    if user is not None and user.avatar_url:
        out["avatar_url"] = user.avatar_url
    return out


async def search_directory(
    tx: Tx, tenant: Tenant, term: str, *, limit: int, among: Collection[str] | None
) -> list[User]:
    """The user directory: active users of the tenant matching ``term``."""
    return await CoreRepos.of(tx).user_directory.search(
        tenant.server_name, term, limit=limit, among=among
    )


# --- writes (the accounts wing, and profiles) ----------------------------------


async def create(tx: Tx, user: User) -> None:
    """Insert an account; ``storage.Conflict`` when the ID is taken."""
    await CoreRepos.of(tx).users.create(user)


async def count(tx: Tx, tenant: Tenant) -> int:
    return await CoreRepos.of(tx).users.count(tenant.server_name)


async def search(
    tx: Tx,
    tenant: Tenant,
    *,
    search: str | None,
    deactivated: bool | None,
    limit: int,
    offset: int,
) -> list[User]:
    """The admin's list of accounts (by user ID or display name)."""
    return await CoreRepos.of(tx).users.search(
        tenant.server_name, search=search, deactivated=deactivated, limit=limit, offset=offset
    )


async def set_password_hash(tx: Tx, user_id: str, password_hash: str | None) -> None:
    await CoreRepos.of(tx).users.set_password_hash(user_id, password_hash)


async def set_deactivated(tx: Tx, user_id: str, deactivated: bool) -> None:
    await CoreRepos.of(tx).users.set_deactivated(user_id, deactivated)


async def set_admin(tx: Tx, user_id: str, is_admin: bool) -> None:
    await CoreRepos.of(tx).users.set_admin(user_id, is_admin)


async def set_moderation(
    tx: Tx, user_id: str, *, locked: bool | None = None, suspended: bool | None = None
) -> None:
    """Lock/unlock or suspend/unsuspend (None: leave as it is)."""
    await CoreRepos.of(tx).users.set_moderation(user_id, locked=locked, suspended=suspended)


async def set_max_devices(tx: Tx, user_id: str, max_devices: int | None) -> None:
    await CoreRepos.of(tx).users.set_max_devices(user_id, max_devices)


async def set_profile(
    tx: Tx, user_id: str, *, displayname: str | None, avatar_url: str | None
) -> None:
    await CoreRepos.of(tx).users.set_profile(
        user_id, displayname=displayname, avatar_url=avatar_url
    )


async def upgrade_guest(
    tx: Tx, user_id: str, *, password_hash: str, max_devices: int | None
) -> None:
    await CoreRepos.of(tx).users.upgrade_guest(
        user_id, password_hash=password_hash, max_devices=max_devices
    )
