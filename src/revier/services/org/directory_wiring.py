"""The directory's services built once, for the container: the sync engine and
its two sources' entry points (the SCIM endpoints and tokens)."""

from __future__ import annotations

from dataclasses import dataclass

from revier.services.accounts import AccountService, DeactivationService
from revier.services.core import AuditLog, Clock, TenantRegistry, TokenHasher
from revier.services.org.directory_apply import PlanApplier
from revier.services.org.directory_memberships import DirectoryMemberships
from revier.services.org.directory_sync import DirectorySync
from revier.services.org.scim_groups import ScimGroups
from revier.services.org.scim_tokens import ScimTokens
from revier.services.org.scim_users import ScimUsers
from revier.services.org.units import Units
from revier.services.rooms import ProfileService
from revier.storage import Store


@dataclass(frozen=True)
class OrgDirectory:
    sync: DirectorySync
    scim_tokens: ScimTokens
    scim_users: ScimUsers
    scim_groups: ScimGroups

    @classmethod
    def build(
        cls,
        store: Store,
        clock: Clock,
        tenants: TenantRegistry,
        audit: AuditLog,
        hasher: TokenHasher,
        accounts: AccountService,
        deactivation: DeactivationService,
        profiles: ProfileService,
        units: Units,
    ) -> OrgDirectory:
        applier = PlanApplier(
            store, clock, accounts, deactivation, profiles, DirectoryMemberships(units)
        )
        sync = DirectorySync(store, tenants, audit, applier)
        return cls(
            sync,
            ScimTokens(store, clock, hasher, audit),
            ScimUsers(store, sync, units),
            ScimGroups(store, sync, units),
        )
