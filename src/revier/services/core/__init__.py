"""core: what every wing builds on.

Owns the accounts and their devices (``users``, ``devices``: who exists), the
audit log, user-interactive-auth sessions and per-user account data; and the
stateless helpers every wing shares: the clock, tenants and requesters, rate
limits, background jobs, access-token hashing, passwords, sync tokens, TURN credentials.

Other wings import from this package only, never from its modules.
"""

from revier.services.core import devices, uia, users
from revier.services.core.account_data import AccountDataService
from revier.services.core.audit import Actor, AuditLog
from revier.services.core.clock import AdjustableClock, Clock, SystemClock
from revier.services.core.health import HealthCheck
from revier.services.core.jobs import KeyedJobs
from revier.services.core.passwords import (
    ExternalPasswords,
    check_account_password,
    generate_password,
    hash_password,
    is_argon2_hash,
    verify_password,
)
from revier.services.core.ratelimit import RateLimiter
from revier.services.core.requester import Requester, require_not_suspended, require_self
from revier.services.core.sync_token import SyncToken
from revier.services.core.tags import TagService
from revier.services.core.tenants import (
    Tenant,
    TenantRegistry,
    check_tenants_kept,
    load_tenants,
    read_or_create_secret,
)
from revier.services.core.tokens import TokenHasher, new_device_id
from revier.services.core.turn import TurnCredentials, TurnService
from revier.services.core.uia import UserInteractiveAuth
from revier.storage.core.audit import AuditEntry, AuditQuery
from revier.storage.core.devices import Device
from revier.storage.core.users import User

__all__ = [
    "AccountDataService",
    "Actor",
    "AdjustableClock",
    "AuditEntry",
    "AuditLog",
    "AuditQuery",
    "Clock",
    "Device",
    "ExternalPasswords",
    "HealthCheck",
    "KeyedJobs",
    "RateLimiter",
    "Requester",
    "SyncToken",
    "SystemClock",
    "TagService",
    "Tenant",
    "TenantRegistry",
    "TokenHasher",
    "TurnCredentials",
    "TurnService",
    "User",
    "UserInteractiveAuth",
    "check_account_password",
    "check_tenants_kept",
    "devices",
    "generate_password",
    "hash_password",
    "is_argon2_hash",
    "load_tenants",
    "new_device_id",
    "read_or_create_secret",
    "require_not_suspended",
    "require_self",
    "uia",
    "users",
    "verify_password",
]
