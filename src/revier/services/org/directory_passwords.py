"""Signing in with the directory password: for an account the LDAP directory
manages, the password is checked by binding to the directory as that person
(in a thread, within the configured timeout). revier keeps no password of
such an account, and never this one.

Handed to the accounts wing's ``AuthService`` as its ``ExternalPasswords`` by
the container: that wing sits below this one and can't import it.
"""

from __future__ import annotations

import asyncio

import structlog
from ldap3.core.exceptions import LDAPException

from revier.config_directory import LdapSettings
from revier.services.core import Tenant
from revier.services.org.directory_ldap import (
    BindRefused,
    DirectoryUnavailable,
    connect,
    find_user_dn,
)
from revier.storage import Store
from revier.storage.org import OrgRepos

log = structlog.get_logger(__name__)


class DirectoryPasswords:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def check(self, tenant: Tenant, user_id: str, password: str) -> bool | None:
        """True or False for an account of the tenant's directory, None for one of
        revier's own. An account SCIM manages has no password here at all: its
        people sign in through their identity provider."""
        async with self._store.read() as tx:
            managed = await OrgRepos.of(tx).directory_accounts.get(user_id)
        if managed is None:
            return None
        directory = tenant.settings.directory
        ldap = directory.ldap if directory else None
        if managed.source != "ldap" or ldap is None or not password:
            # An empty password would be an anonymous bind, which LDAP accepts.
            return False
        localpart = user_id[1:].partition(":")[0]
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(_bind_as, ldap, localpart, password),
                timeout=ldap.timeout_seconds * 3,  # search bind, lookup, user bind
            )
        except (DirectoryUnavailable, TimeoutError) as e:
            log.warning(
                "directory unreachable at sign-in",
                tenant=tenant.server_name,
                error=type(e).__name__,
            )
            return False


def _bind_as(settings: LdapSettings, localpart: str, password: str) -> bool:
    """Find the person's entry with the service account, then bind as it."""
    try:
        conn = connect(settings, settings.bind_dn, settings.password())
    except BindRefused:
        raise DirectoryUnavailable("the directory refused revier's own bind") from None
    try:
        dn = find_user_dn(conn, settings, localpart)
    except LDAPException as e:
        raise DirectoryUnavailable(type(e).__name__) from None
    finally:
        conn.unbind()
    if dn is None:
        return False
    try:
        connect(settings, dn, password).unbind()
    except BindRefused:
        return False
    return True
