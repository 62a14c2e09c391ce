"""What creating accounts takes and gives: the entries the help desk, an import
or the directory hand in, checked against the tenant's rules, and the reports
that come back (``AccountService`` does the creating)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from revier.errors import InvalidParam
from revier.policy.passwords import check_password
from revier.services.core import Device, Tenant, User, is_argon2_hash, users
from revier.storage import Tx


@dataclass(frozen=True, slots=True)
class NewAdmin:
    user_id: str
    password: str | None  # set when it was generated and must be shown once


@dataclass(frozen=True, slots=True)
class NewUser:
    """One account of a bulk import: a password, or an Argon2 hash from a former system;
    or neither for an account whose password lives elsewhere (``external``: the
    directory checks it at sign-in, revier never makes one up)."""

    localpart: str
    password: str | None = None
    password_hash: str | None = None
    displayname: str | None = None
    admin: bool = False
    external: bool = False


@dataclass(frozen=True, slots=True)
class UserDetails:
    """What an admin sees of one account: never content, never addresses."""

    user: User
    devices: list[Device]
    joined_rooms_count: int
    device_limit: int  # the effective one: the user's own, else the tenant's


# Called in the transaction that creates an account, so that what a caller keeps
# about it (the directory's marker) exists exactly when the account does.
OnCreated = Callable[[Tx, User], Awaitable[None]]


@dataclass(slots=True)
class ImportReport:
    """What a bulk import did so far: user IDs created, and (localpart, reason) refused."""

    created: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def checked_new_user(tenant: Tenant, new: NewUser) -> NewUser:
    """The entry with its localpart normalised, or a MatrixError saying why not."""
    localpart = new.localpart.lower()
    users.validate_localpart(tenant, localpart)
    users.validate_displayname(new.displayname)
    if new.external:
        if new.password is not None or new.password_hash is not None:
            raise InvalidParam("An account whose password lives elsewhere gets none here")
    elif (new.password is None) == (new.password_hash is None):
        raise InvalidParam("Give either a password or a password_hash")
    elif new.password is not None:
        check_password(tenant.policy, new.password, localpart=localpart)
    elif not is_argon2_hash(new.password_hash or ""):
        raise InvalidParam("password_hash must be an Argon2id PHC string")
    return NewUser(
        localpart, new.password, new.password_hash, new.displayname, new.admin, new.external
    )
