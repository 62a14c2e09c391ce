"""Browser sessions of the sign-in and account pages.

A session is a random cookie value, shown to the browser once and stored only
as its keyed hash. It starts when the password is right: ``complete`` at once
when no second factor is due, else pending until the factor step (or the
forced enrolment) completes it. Every step up gets a fresh cookie value
(``advance``), so a value planted in a browser before sign-in (session
fixation) or seen at the password step signs no one in.

Expiry: a pending session lives ``PENDING_MS``; a complete one ends after
``IDLE_MS`` without use or ``ABSOLUTE_MS`` after its sign-in, whichever comes
first. A user who is gone, locked or deactivated has no session, and a
change of the password (the owner's, or the help desk's reset after a
compromise) ends every session begun with the old one.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from revier.services.core import Clock, Tenant, TokenHasher, users
from revier.storage import Store
from revier.storage.signin import SigninRepos, WebSessionRow

PENDING_MS = 10 * 60 * 1000
IDLE_MS = 60 * 60 * 1000
ABSOLUTE_MS = 12 * 60 * 60 * 1000
# Writing last_seen on every page view would turn each read into a write.
_TOUCH_EVERY_MS = 60 * 1000


@dataclass(frozen=True)
class SignedIn:
    """A fully signed-in web session: the password, and the second factor where
    one is enrolled or required."""

    user_id: str
    session_id: str  # the web session's id (not its cookie value)
    authenticated_at_ms: int
    factors: tuple[str, ...]  # e.g. ("password", "totp")


@dataclass(frozen=True)
class WebSession:
    """A session in any state; ``complete`` False: between password and factor."""

    user_id: str
    session_id: str
    authenticated_at_ms: int
    factors: tuple[str, ...]
    complete: bool

    def signed_in(self) -> SignedIn | None:
        if not self.complete:
            return None
        return SignedIn(self.user_id, self.session_id, self.authenticated_at_ms, self.factors)


class WebSessions:
    def __init__(self, store: Store, clock: Clock, hasher: TokenHasher) -> None:
        self._store = store
        self._clock = clock
        self._hasher = hasher

    def keyed(self, value: str) -> bytes:
        """A keyed hash of ``value`` under the installation's secret (cookies,
        CSRF tokens): unforgeable without the key, useless if the table leaks."""
        return self._hasher.hash(f"revier-web\x00{value}")

    async def start(
        self, tenant: Tenant, user_id: str, *, factors: tuple[str, ...], complete: bool
    ) -> str:
        """A new session for a user whose password was right; its cookie value."""
        now = self._clock.time_ms()
        cookie = secrets.token_urlsafe(32)
        async with self._store.read() as tx:
            account = await users.get(tx, user_id)
        row = WebSessionRow(
            session_id=secrets.token_urlsafe(12),
            tenant=tenant.server_name,
            user_id=user_id,
            factors=factors,
            complete=complete,
            password_tag=self._tag(account.password_hash if account else None),
            authenticated_ts=now,
            last_seen_ts=now,
            expires_ts=now + (IDLE_MS if complete else PENDING_MS),
        )
        async with self._store.transaction() as tx:
            await SigninRepos.of(tx).web_sessions.create(self.keyed(cookie), row, now)
        return cookie

    async def current(self, tenant: Tenant, cookie: str | None) -> WebSession | None:
        """The session the cookie names, if alive, of this tenant, and of a user
        who may still sign in; its idle expiry moves on."""
        if not cookie or len(cookie) > 128:
            return None
        now = self._clock.time_ms()
        key = self.keyed(cookie)
        async with self._store.read() as tx:
            row = await SigninRepos.of(tx).web_sessions.get(key, now)
            account = await users.get(tx, row.user_id) if row else None
        if row is None or row.tenant != tenant.server_name:
            return None
        if account is None or account.deactivated or account.locked:
            return None
        if not hmac.compare_digest(row.password_tag, self._tag(account.password_hash)):
            await self.end(cookie)  # the password changed since
            return None
        if row.complete and now - row.last_seen_ts >= _TOUCH_EVERY_MS:
            expires = min(now + IDLE_MS, row.authenticated_ts + ABSOLUTE_MS)
            async with self._store.transaction() as tx:
                await SigninRepos.of(tx).web_sessions.touch(
                    key, last_seen_ts=now, expires_ts=expires
                )
        return WebSession(
            row.user_id, row.session_id, row.authenticated_ts, row.factors, row.complete
        )

    async def advance(
        self, tenant: Tenant, cookie: str, *, factor: str | None, complete: bool
    ) -> str | None:
        """The session one step on (a factor added, or completed) under a new
        cookie value; the old value is dead. None if the session is gone (or
        another request advanced it first)."""
        now = self._clock.time_ms()
        new_cookie = secrets.token_urlsafe(32)
        async with self._store.transaction() as tx:
            repo = SigninRepos.of(tx).web_sessions
            old = await repo.delete(self.keyed(cookie))
            if old is None or old.expires_ts <= now or old.tenant != tenant.server_name:
                return None
            factors = old.factors
            if factor is not None and factor not in factors:
                factors = (*factors, factor)
            expires = (
                min(now + IDLE_MS, old.authenticated_ts + ABSOLUTE_MS)
                if complete
                else min(now + PENDING_MS, old.expires_ts)
            )
            row = WebSessionRow(
                session_id=old.session_id,
                tenant=old.tenant,
                user_id=old.user_id,
                factors=factors,
                complete=complete,
                password_tag=old.password_tag,
                authenticated_ts=old.authenticated_ts,
                last_seen_ts=now,
                expires_ts=expires,
            )
            await repo.create(self.keyed(new_cookie), row, now)
        return new_cookie

    def _tag(self, password_hash: str | None) -> bytes:
        return self.keyed(f"password\x00{password_hash or ''}")[:16]

    async def password_changed(self, user_id: str, *, keep: str | None) -> None:
        """After the owner changed their password in session ``keep``: that
        session goes on (under the new password), every other one ends."""
        async with self._store.transaction() as tx:
            account = await users.get(tx, user_id)
            repo = SigninRepos.of(tx).web_sessions
            if keep is not None and account is not None:
                await repo.retag(keep, self._tag(account.password_hash))
            await repo.delete_of_user(user_id, keep=keep)

    async def end(self, cookie: str | None) -> None:
        """Signs this browser out (nothing if it wasn't signed in)."""
        if not cookie or len(cookie) > 128:
            return
        async with self._store.transaction() as tx:
            await SigninRepos.of(tx).web_sessions.delete(self.keyed(cookie))
