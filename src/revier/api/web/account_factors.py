"""The second-factor part of the account page: enrolled factors, adding TOTP
and passkeys, new recovery codes."""

from __future__ import annotations

from starlette.requests import Request

from revier.services.signin import SignedIn


async def factors_section(request: Request, signed: SignedIn) -> str:
    return ""
