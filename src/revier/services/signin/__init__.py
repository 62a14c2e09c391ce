"""The signin wing: signing in through the browser — the OAuth 2.0 API of the
client-server spec, the sign-in and account pages' sessions, second factors
(TOTP, recovery codes, WebAuthn) and the lockout of repeated failures.

It sits above the accounts wing (which issues devices and tokens) and is
reached from outside only through this package.

Owns ``web_sessions`` (the browser sessions of the pages), ``second_factors``,
``recovery_codes``, ``webauthn_challenges`` and ``signin_failures``; offers
``WebSessions`` and ``SignedIn`` (the pages' sessions), ``OwnAccount`` (what the
account page does), ``SecondFactors`` (enrol, check, remove, reset) and
``SignInAttempts`` (the lockout, also handed to the accounts wing for
``m.login.password``). The OAuth 2.0 API: ``oauth_clients``, ``oauth_codes``,
``oauth_device_grants``, ``oauth_sessions``; offers ``OAuth``.
"""

from revier.services.signin.factors import (
    EnrolledFactor,
    FactorKind,
    FactorStatus,
    SecondFactors,
    TotpEnrolment,
)
from revier.services.signin.keys import FactorKeys
from revier.services.signin.lockout import LockState, SignInAttempts
from revier.services.signin.oauth import OAuth
from revier.services.signin.oauth_authorize import (
    UNKNOWN_CLIENT,
    UNREGISTERED_REDIRECT,
    AuthorizationRequest,
    Consent,
    ErrorRedirect,
    UntrustedRedirect,
)
from revier.services.signin.oauth_clients import DEVICE_CODE, GRANT_TYPES, Client
from revier.services.signin.oauth_device import DeviceAuthorization, PendingDevice
from revier.services.signin.own_account import OwnAccount
from revier.services.signin.signin_flow import SignInFlow, SignInStep, Step
from revier.services.signin.web_sessions import SignedIn, WebSession, WebSessions

__all__ = [
    "DEVICE_CODE",
    "GRANT_TYPES",
    "UNKNOWN_CLIENT",
    "UNREGISTERED_REDIRECT",
    "AuthorizationRequest",
    "Client",
    "Consent",
    "DeviceAuthorization",
    "EnrolledFactor",
    "ErrorRedirect",
    "FactorKeys",
    "FactorKind",
    "FactorStatus",
    "LockState",
    "OAuth",
    "OwnAccount",
    "PendingDevice",
    "SecondFactors",
    "SignInAttempts",
    "SignInFlow",
    "SignInStep",
    "SignedIn",
    "Step",
    "TotpEnrolment",
    "UntrustedRedirect",
    "WebSession",
    "WebSessions",
]
