"""What a client of the OAuth 2.0 API does, by raw HTTP: discover, register,
build the authorization URL with PKCE, sign in and consent as a browser would
(a cookie jar on revier's own pages), exchange the code, refresh, revoke."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.integration.conftest import Account

METADATA = "/_matrix/client/v1/auth_metadata"
REGISTER = "/_revier/oauth2/register"
AUTHORIZE = "/_revier/oauth2/authorize"
TOKEN = "/_revier/oauth2/token"
REVOKE = "/_revier/oauth2/revoke"
DEVICE = "/_revier/oauth2/device"
VERIFY = "/_revier/oauth2/device/verify"
RESET = "/_revier/oauth2/cross_signing_reset"
SIGNIN = "/_revier/signin"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
REDIRECT = "http://127.0.0.1/callback"  # a native app's loopback redirect


def client_metadata(**overrides: Any) -> dict[str, Any]:
    return {
        "client_name": "Streife App",
        "client_uri": "https://app.streife.test/",
        "application_type": "native",
        "redirect_uris": [REDIRECT, "test.streife.app:/callback"],
        "grant_types": ["authorization_code", "refresh_token", DEVICE_GRANT],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        **overrides,
    }


async def register(http: httpx.AsyncClient, **overrides: Any) -> str:
    r = await http.post(REGISTER, json=client_metadata(**overrides))
    assert r.status_code == 201, r.text
    return str(r.json()["client_id"])


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass
class Flow:
    """One authorization request, as the client built it."""

    client_id: str
    device_id: str = field(default_factory=lambda: secrets.token_urlsafe(8))
    redirect_uri: str = "http://127.0.0.1:41234/callback"
    state: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    verifier: str = ""
    challenge: str = ""
    response_mode: str = "query"

    def __post_init__(self) -> None:
        if not self.verifier:
            self.verifier, self.challenge = pkce()

    @property
    def scope(self) -> str:
        return f"urn:matrix:client:api:* urn:matrix:client:device:{self.device_id}"

    def params(self, **overrides: str | None) -> dict[str, str]:
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": self.state,
            "response_mode": self.response_mode,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
            **overrides,
        }
        return {k: v for k, v in params.items() if v is not None}

    def url(self, **overrides: str | None) -> str:
        return f"{AUTHORIZE}?{urlencode(self.params(**overrides))}"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def hidden_fields(html: str) -> dict[str, str]:
    return {
        m.group(1): unescape(m.group(2))
        for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    }


async def sign_in(browser: httpx.AsyncClient, user: Account) -> None:
    """The sign-in page, by its form (a session cookie in the jar afterwards)."""
    form = await browser.get(SIGNIN)
    r = await browser.post(
        SIGNIN,
        data={"user": user.localpart, "password": user.password, "csrf": csrf_of(form.text)},
    )
    assert r.status_code == 303, r.text


async def consent(browser: httpx.AsyncClient, url: str, decision: str = "allow") -> str:
    """Open the authorization URL signed in, answer the consent form; the Location
    the browser is sent to."""
    page = await browser.get(url)
    assert page.status_code == 200, page.text
    r = await browser.post(AUTHORIZE, data={**hidden_fields(page.text), "decision": decision})
    assert r.status_code == 303, r.text
    return r.headers["location"]


def callback_params(location: str, *, fragment: bool = False) -> dict[str, str]:
    parts = urlsplit(location)
    return {k: v[0] for k, v in parse_qs(parts.fragment if fragment else parts.query).items()}


async def code_for(browser: httpx.AsyncClient, flow: Flow) -> str:
    params = callback_params(await consent(browser, flow.url()))
    assert params["state"] == flow.state
    return params["code"]


async def exchange(
    http: httpx.AsyncClient, flow: Flow, code: str, **overrides: str | None
) -> httpx.Response:
    data: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": flow.redirect_uri,
        "client_id": flow.client_id,
        "code_verifier": flow.verifier,
        **overrides,
    }
    return await http.post(TOKEN, data={k: v for k, v in data.items() if v is not None})


async def refresh(http: httpx.AsyncClient, client_id: str, token: str) -> httpx.Response:
    return await http.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": token, "client_id": client_id}
    )


async def whoami(http: httpx.AsyncClient, access_token: str) -> httpx.Response:
    return await http.get(
        "/_matrix/client/v3/account/whoami", headers={"Authorization": f"Bearer {access_token}"}
    )
