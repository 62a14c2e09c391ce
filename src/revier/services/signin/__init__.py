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
``m.login.password``).
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
from revier.services.signin.own_account import OwnAccount
from revier.services.signin.signin_flow import SignInFlow, SignInStep, Step
from revier.services.signin.web_sessions import SignedIn, WebSession, WebSessions

__all__ = [
    "EnrolledFactor",
    "FactorKeys",
    "FactorKind",
    "FactorStatus",
    "LockState",
    "OwnAccount",
    "SecondFactors",
    "SignInAttempts",
    "SignInFlow",
    "SignInStep",
    "SignedIn",
    "Step",
    "TotpEnrolment",
    "WebSession",
    "WebSessions",
]
