"""The account a tenant's units act as: it creates and keeps the units' spaces,
invites and removes members, and sets power levels in attached rooms.

``@_units:<tenant>`` with no password (nobody signs in as it), recorded in
``unit_service_users`` when it is made. Made at start-up for every tenant, so
the name is taken before anyone could register it; an account of that name
that the org wing didn't make is never used as the service account.
"""

from __future__ import annotations

from revier.errors import Forbidden
from revier.services.core import Tenant, User, users
from revier.storage import Tx
from revier.storage.org import OrgRepos

SERVICE_LOCALPART = "_units"
SERVICE_DISPLAYNAME = "Organisation"


async def service_user(tx: Tx, tenant: Tenant, now: int) -> str:
    """The tenant's service account, made on first use."""
    db = OrgRepos.of(tx)
    known = await db.units.service_user(tenant.server_name)
    if known is not None:
        return known
    user_id = tenant.user_id(SERVICE_LOCALPART)
    if await users.get(tx, user_id) is not None:
        raise Forbidden(
            f"The account {user_id} exists but was not made for the organisation's units; "
            "rename or remove it before using units"
        )
    await users.create(
        tx,
        User(
            user_id=user_id,
            tenant=tenant.server_name,
            localpart=SERVICE_LOCALPART,
            password_hash=None,
            is_admin=False,
            deactivated=False,
            created_ts=now,
            displayname=SERVICE_DISPLAYNAME,
            avatar_url=None,
            max_devices=None,
        ),
    )
    await db.units.set_service_user(tenant.server_name, user_id)
    return user_id
