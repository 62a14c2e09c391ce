"""accounts: signing in and an account's life.

Owns access tokens (``auth``: login, logout, turning a token into a
``Requester``), refresh tokens (``refresh``), OpenID and login tokens
(``short_tokens``), registration and registration tokens, the account admin's
operations (create, import, reset passwords, grant admin, lock and suspend), the user's and the
admin's view of devices (list, rename, remove, wipe, device limits) and
deactivation. Removing a device or closing an account reaches into the other
wings through their services (keys through ``e2e.cleanup``, rooms through
``rooms.MembershipService``), in the same transaction.

Other wings import from this package only, never from its modules.
"""

from revier.services.accounts.accounts import AccountService
from revier.services.accounts.auth import AuthService
from revier.services.accounts.client_versions import ClientCount, ClientVersions
from revier.services.accounts.deactivation import DeactivationService
from revier.services.accounts.device_admin import (
    DeviceAdminService,
    DeviceLimit,
    OwnerCheck,
    OwnerProof,
    OwnWipe,
)
from revier.services.accounts.device_sessions import LoginResult
from revier.services.accounts.moderation import ModerationService, ModerationState
from revier.services.accounts.new_accounts import (
    ImportReport,
    NewUser,
    OnCreated,
    UserDetails,
)
from revier.services.accounts.refresh import IssuedTokens, RefreshService, TokenFamily
from revier.services.accounts.registration import RegisterRequest, RegistrationService
from revier.services.accounts.registration_tokens import NewToken, RegistrationTokens
from revier.services.accounts.sessions import DeviceService
from revier.services.accounts.short_tokens import ShortLivedToken, ShortTokenService
from revier.storage.accounts.registration_tokens import RegistrationToken

__all__ = [
    "AccountService",
    "AuthService",
    "ClientCount",
    "ClientVersions",
    "DeactivationService",
    "DeviceAdminService",
    "DeviceLimit",
    "DeviceService",
    "ImportReport",
    "IssuedTokens",
    "LoginResult",
    "ModerationService",
    "ModerationState",
    "NewToken",
    "NewUser",
    "OnCreated",
    "OwnWipe",
    "OwnerCheck",
    "OwnerProof",
    "RefreshService",
    "RegisterRequest",
    "RegistrationService",
    "RegistrationToken",
    "RegistrationTokens",
    "ShortLivedToken",
    "ShortTokenService",
    "TokenFamily",
    "UserDetails",
]
