"""The org wing: the organisation's structure — units and who belongs to them,
the rooms a unit owns (shown to clients as spaces), and the directory (LDAP,
SCIM) that keeps both in step.

Owns ``units``, ``unit_members``, ``unit_rooms``, ``unit_service_users`` and the
queued room work of units (``unit_jobs``, ``unit_job_users``).

It sits above the accounts and rooms wings (accounts are created and
deactivated, members joined and removed through them) and is reached from
outside only through this package.
"""

from revier.services.org.attachments import UnitRooms
from revier.services.org.directory_apply import Outcome, PlanApplier
from revier.services.org.directory_ldap import DirectoryUnavailable
from revier.services.org.directory_memberships import DirectoryMemberships
from revier.services.org.directory_passwords import DirectoryPasswords
from revier.services.org.directory_plan import Plan
from revier.services.org.directory_sync import DirectorySync, MassDeactivationRefused, SyncResult
from revier.services.org.directory_view import DirectoryPerson, DirectoryUnit, DirectoryView
from revier.services.org.directory_wiring import OrgDirectory
from revier.services.org.model import (
    RULES,
    MembershipChange,
    Role,
    Rule,
    Unit,
)
from revier.services.org.scim_groups import ScimGroup, ScimGroups
from revier.services.org.scim_tokens import ScimTokens
from revier.services.org.scim_users import ScimAccount, ScimError, ScimUsers
from revier.services.org.units import Units
from revier.services.org.work import UnitWork

__all__ = [
    "RULES",
    "DirectoryMemberships",
    "DirectoryPasswords",
    "DirectoryPerson",
    "DirectorySync",
    "DirectoryUnavailable",
    "DirectoryUnit",
    "DirectoryView",
    "MassDeactivationRefused",
    "MembershipChange",
    "OrgDirectory",
    "Outcome",
    "Plan",
    "PlanApplier",
    "Role",
    "Rule",
    "ScimAccount",
    "ScimError",
    "ScimGroup",
    "ScimGroups",
    "ScimTokens",
    "ScimUsers",
    "SyncResult",
    "Unit",
    "UnitRooms",
    "UnitWork",
    "Units",
]
