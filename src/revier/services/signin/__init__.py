"""The signin wing: signing in through the browser — the OAuth 2.0 API of the
client-server spec, the sign-in and account pages' sessions, second factors
(TOTP, recovery codes, WebAuthn) and the lockout of repeated failures.

It sits above the accounts wing (which issues devices and tokens) and is
reached from outside only through this package.
"""

from revier.services.signin.oauth import OAuth
from revier.services.signin.oauth_authorize import (
    AuthorizationRequest,
    Consent,
    ErrorRedirect,
    UntrustedRedirect,
)
from revier.services.signin.oauth_clients import DEVICE_CODE, GRANT_TYPES, Client
from revier.services.signin.oauth_device import DeviceAuthorization, PendingDevice

__all__ = [
    "DEVICE_CODE",
    "GRANT_TYPES",
    "AuthorizationRequest",
    "Client",
    "Consent",
    "DeviceAuthorization",
    "ErrorRedirect",
    "OAuth",
    "PendingDevice",
    "UntrustedRedirect",
]
