"""How a tenant's users sign in: password or the OAuth 2.0 API, second factors,
and the lockout of repeated failures. Part of a tenant's policy
(``revier.config.TenantPolicy`` inherits these keys); a module of its own only
to keep that one readable.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SignInPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Second factors at sign-in (TOTP, passkeys): "off", "optional" (users may
    # enrol), "required" (a user without one enrols at the next sign-in).
    second_factor: Literal["off", "optional", "required"] = "optional"
    # Lockout (docs/operations.md): failed passwords and codes of an account within
    # the window; after `before_delay` each further one waits twice as long as the
    # last (from `delay_ms`, at most `delay_max_ms`); at `before_lock` the account
    # is locked until the help desk unlocks it (0: never). An address (all accounts
    # tried from it) gets delays after its own number, never a lock.
    signin_failures_before_lock: int = Field(10, ge=0, le=1000)
    signin_failures_before_delay: int = Field(3, ge=0, le=1000)
    signin_address_failures_before_delay: int = Field(30, ge=0, le=100_000)
    signin_delay_ms: int = Field(1000, ge=1, le=3_600_000)
    signin_delay_max_ms: int = Field(300_000, ge=1, le=86_400_000)
    signin_failure_window_seconds: int = Field(86_400, ge=60, le=365 * 86_400)
    # How users sign in: "password" (m.login.password, as before), "oauth" (also
    # the spec's OAuth 2.0 API through revier's sign-in pages, where a second
    # factor can be asked for: Element X uses it when offered), "oauth_only"
    # (m.login.password is refused and not listed, so the second factor can't be
    # bypassed; bots use a token the help desk issues).
    login: Literal["password", "oauth", "oauth_only"] = "password"
    # Seconds an access token from the OAuth 2.0 API lives; the client refreshes
    # it with its rotating refresh token (the spec: "MUST be short-lived").
    oauth_access_token_lifetime: int = Field(300, ge=60, le=86400)

    @model_validator(mode="before")
    @classmethod
    def _no_password_behind_oauth_only(cls, data: object) -> object:
        """Under oauth_only a login token (POST /login/get_token, behind only the
        password) would sign in a new device past the second factor: off unless
        set, and refused if set."""
        if isinstance(data, dict) and data.get("login") == "oauth_only":
            if data.get("login_token", False) not in (False, "false", "False", 0):
                raise ValueError(
                    'login_token = true would bypass the second factor under login = "oauth_only"'
                )
            data = {**data, "login_token": False}
        return data
