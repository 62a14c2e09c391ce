"""The org wing: the organisation's structure — units and who belongs to them,
the rooms a unit owns (shown to clients as spaces), and the directory (LDAP,
SCIM) that keeps both in step.

It sits above the accounts and rooms wings (accounts are created and
deactivated, members joined and removed through them) and is reached from
outside only through this package.
"""

from revier.services.org.directory_apply import Outcome, PlanApplier
from revier.services.org.directory_ldap import DirectoryUnavailable
from revier.services.org.directory_passwords import DirectoryPasswords
from revier.services.org.directory_plan import Plan
from revier.services.org.directory_sync import DirectorySync, MassDeactivationRefused, SyncResult
from revier.services.org.directory_view import DirectoryPerson, DirectoryUnit, DirectoryView
from revier.services.org.scim_tokens import ScimTokens

__all__ = [
    "DirectoryPasswords",
    "DirectoryPerson",
    "DirectorySync",
    "DirectoryUnavailable",
    "DirectoryUnit",
    "DirectoryView",
    "MassDeactivationRefused",
    "Outcome",
    "Plan",
    "PlanApplier",
    "ScimTokens",
    "SyncResult",
]
