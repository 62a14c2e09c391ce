"""The org wing: the organisation's structure — units and who belongs to them,
the rooms a unit owns (shown to clients as spaces), and the directory (LDAP,
SCIM) that keeps both in step.

It sits above the accounts and rooms wings (accounts are created and
deactivated, members joined and removed through them) and is reached from
outside only through this package.
"""
