"""The signin wing: signing in through the browser — the OAuth 2.0 API of the
client-server spec, the sign-in and account pages' sessions, second factors
(TOTP, recovery codes, WebAuthn) and the lockout of repeated failures.

It sits above the accounts wing (which issues devices and tokens) and is
reached from outside only through this package.

Owns ``web_sessions`` (the browser sessions of the pages) and the OAuth 2.0
API's ``oauth_clients``, ``oauth_codes``, ``oauth_device_grants``, ``oauth_sessions``.
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
from revier.services.signin.own_account import OwnAccount
from revier.services.signin.web_sessions import SignedIn, WebSession, WebSessions

__all__ = [
    "DEVICE_CODE",
    "GRANT_TYPES",
    "AuthorizationRequest",
    "Client",
    "Consent",
    "DeviceAuthorization",
    "ErrorRedirect",
    "OAuth",
    "OwnAccount",
    "PendingDevice",
    "SignedIn",
    "UntrustedRedirect",
    "WebSession",
    "WebSessions",
]
