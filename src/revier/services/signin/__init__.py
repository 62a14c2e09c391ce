"""The signin wing: signing in through the browser — the OAuth 2.0 API of the
client-server spec, the sign-in and account pages' sessions, second factors
(TOTP, recovery codes, WebAuthn) and the lockout of repeated failures.

It sits above the accounts wing (which issues devices and tokens) and is
reached from outside only through this package.

Owns ``web_sessions`` (``web_sessions``: the browser sessions of the pages).
"""

from revier.services.signin.own_account import OwnAccount
from revier.services.signin.web_sessions import SignedIn, WebSession, WebSessions

__all__ = ["OwnAccount", "SignedIn", "WebSession", "WebSessions"]
