"""User-interactive authentication (spec: "User-interactive authentication API").

Dangerous operations (deleting devices, changing the password, uploading
cross-signing keys) ask the user to prove again who they are. revier offers a
single flow, ``m.login.password``; sessions live in the database so that any
worker can continue one, and a session started for one operation can't
authorise another.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import orjson

from revier.errors import Forbidden, LimitExceeded, MatrixError, UserInteractiveAuthRequired
from revier.services.core.clock import Clock
from revier.services.core.passwords import ExternalPasswords, check_account_password
from revier.services.core.ratelimit import RateLimiter
from revier.services.core.requester import Requester
from revier.storage import Store, Tx
from revier.storage.core import CoreRepos
from revier.storage.core.uia import UiaSession

PASSWORD = "m.login.password"
OAUTH = "m.oauth"
SESSION_LIFETIME_MS = 15 * 60 * 1000


class UserInteractiveAuth:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        failed_logins: RateLimiter,
        external_passwords: ExternalPasswords | None = None,
    ) -> None:
        # A directory account proves itself with the directory's password here too.
        self._external = external_passwords
        self._store = store
        self._clock = clock
        self._failed = failed_logins

    async def require_password(
        self, requester: Requester, auth: Any, *, operation: str, params: object = None
    ) -> None:
        """Return once ``auth`` proves the requester's password; else raise the 401 flows.

        ``params``: what the request asks for (the devices to delete, …); the
        session is bound to the operation and to them, so a password given for
        one request can't be carried over to another (403 ``M_FORBIDDEN``).
        """
        operation = bound_operation(operation, params)
        if not isinstance(auth, dict) or "type" not in auth:
            session_id = await self._session_for(requester, auth, operation)
            raise UserInteractiveAuthRequired(self._flows(session_id))
        session_id = await self._session_for(requester, auth, operation)
        _require_self(requester, auth)
        try:
            await self._check_password_stage(requester, auth)
        except LimitExceeded:
            raise
        except MatrixError as e:
            raise UserInteractiveAuthRequired(
                {**self._flows(session_id), "errcode": e.errcode, "error": e.error}
            ) from None
        async with self._store.transaction() as tx:
            await CoreRepos.of(tx).uia_sessions.delete(session_id)

    async def require_password_or_oauth(
        self,
        requester: Requester,
        auth: Any,
        *,
        operation: str,
        params: object = None,
        oauth_url: str | None,
        password: bool = True,
    ) -> None:
        """``require_password``, with the spec's ``m.oauth`` stage offered too where
        ``oauth_url`` is given (a page where the signed-in person approves the
        session: ``{oauth_url}?session=<id>``), and the password stage only where
        ``password`` (a tenant whose users sign in only through OAuth, behind a
        second factor, offers no password stage to skip it)."""
        if oauth_url is None:
            await self.require_password(requester, auth, operation=operation, params=params)
            return
        bound = bound_operation(operation, params)
        session_id = await self._session_for(requester, auth, bound)
        stages = [[PASSWORD]] if password else []
        flows = {
            "flows": [{"stages": s} for s in [*stages, [OAUTH]]],
            "params": {OAUTH: {"url": f"{oauth_url}?session={session_id}"}},
            "session": session_id,
        }
        if password and isinstance(auth, dict) and auth.get("type") == PASSWORD:
            await self.require_password(requester, auth, operation=operation, params=params)
            return
        async with self._store.transaction() as tx:
            db = CoreRepos.of(tx).uia_sessions
            session = await db.get(session_id)
            if session is not None and OAUTH in session.completed:
                await db.delete(session_id)  # one approval, one request
                return
        raise UserInteractiveAuthRequired(flows)

    async def approve_oauth(self, user_id: str, session_id: str, *, operation: str) -> bool:
        """The ``m.oauth`` stage done: the signed-in owner approved the session on
        the page. False when it is not a live session of theirs for ``operation``."""
        now = self._clock.time_ms()
        async with self._store.transaction() as tx:
            db = CoreRepos.of(tx).uia_sessions
            session = await db.get(session_id)
            if (
                session is None
                or session.user_id != user_id
                or session.operation.split("#")[0] != operation
                or session.created_ts <= now - SESSION_LIFETIME_MS
            ):
                return False
            await db.set_completed(session_id, [*session.completed, OAUTH])
        return True

    async def _session_for(self, requester: Requester, auth: Any, operation: str) -> str:
        return await session_for(self._store, self._clock, requester.user_id, auth, operation)

    async def _check_password_stage(self, requester: Requester, auth: dict[str, Any]) -> None:
        if auth.get("type") != PASSWORD:
            raise Forbidden(f"Unsupported authentication type; use {PASSWORD}")
        password = auth.get("password")
        if not isinstance(password, str):
            raise Forbidden("The password is missing")
        self._failed.peek(requester.user_id)
        async with self._store.read() as tx:
            account = await CoreRepos.of(tx).users.get(requester.user_id)
        if not await check_account_password(self._external, requester.tenant, account, password):
            self._failed.check(requester.user_id)
            raise Forbidden("Invalid password")

    @staticmethod
    def _flows(session_id: str) -> dict[str, Any]:
        return {"flows": [{"stages": [PASSWORD]}], "params": {}, "session": session_id}


def _require_self(requester: Requester, auth: dict[str, Any]) -> None:
    """Authenticating as someone else is refused outright (403), not offered another
    try (401): whoever knows a colleague's password must not act as them here."""
    identifier = auth.get("identifier")
    user = identifier.get("user") if isinstance(identifier, dict) else auth.get("user")
    if user is not None and user not in (requester.user_id, requester.localpart):
        raise Forbidden("You can only authenticate as yourself")


def bound_operation(operation: str, params: object) -> str:
    """The operation a session is bound to: its name and a digest of its parameters."""
    if params is None:
        return operation
    digest = hashlib.sha256(orjson.dumps(params, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"{operation}#{digest[:32]}"


async def session_for(
    store: Store, clock: Clock, user_id: str | None, auth: Any, operation: str
) -> str:
    """The client's session if it is live, else a new one (an unknown or expired
    session ID: the client starts over). A live session opened by another user
    (None: a registration, which has none yet) or for another operation is
    refused with 403: UIA approves one request, not whatever comes next."""
    given = auth.get("session") if isinstance(auth, dict) else None
    now = clock.time_ms()
    if isinstance(given, str):
        async with store.read() as tx:
            session = await CoreRepos.of(tx).uia_sessions.get(given)
        if session is not None and session.created_ts > now - SESSION_LIFETIME_MS:
            if session.user_id != user_id or session.operation != operation:
                raise Forbidden("This authentication session was started for another request")
            return session.session_id
    session_id = secrets.token_urlsafe(24)
    async with store.transaction() as tx:
        db = CoreRepos.of(tx)
        await db.uia_sessions.delete_older_than(now - SESSION_LIFETIME_MS)
        await db.uia_sessions.create(UiaSession(session_id, user_id, operation, [], now))
    return session_id


# --- the registration flow's use of sessions (accounts wing) -------------------


async def session(tx: Tx, session_id: str) -> UiaSession | None:
    return await CoreRepos.of(tx).uia_sessions.get(session_id)


async def set_completed(tx: Tx, session_id: str, completed: list[str]) -> None:
    await CoreRepos.of(tx).uia_sessions.set_completed(session_id, completed)


async def registration_token(tx: Tx, session_id: str) -> str | None:
    """The registration token (its ID) the session's token stage accepted, if any."""
    return await CoreRepos.of(tx).uia_sessions.session_token(session_id)


async def set_registration_token(tx: Tx, session_id: str, token_id: str | None) -> None:
    await CoreRepos.of(tx).uia_sessions.set_session_token(session_id, token_id)


async def consume(tx: Tx, session_id: str, registered: str) -> bool:
    """Mark a registration session used up by the account ``registered``; False when
    another request used it first. It stays (until it expires) so that a client
    repeating the completed request gets the same account (``registered_by``)."""
    return await CoreRepos.of(tx).uia_sessions.consume_session(session_id, registered)


async def registered_by(
    store: Store, clock: Clock, auth: Any, operation: str
) -> tuple[str, str] | None:
    """(session, user ID) when ``auth`` names a live registration session of this
    operation that created an account already."""
    given = auth.get("session") if isinstance(auth, dict) else None
    if not isinstance(given, str):
        return None
    async with store.read() as tx:
        session = await CoreRepos.of(tx).uia_sessions.get(given)
    if (
        session is None
        or session.user_id is None
        or session.operation != operation
        or session.created_ts <= clock.time_ms() - SESSION_LIFETIME_MS
    ):
        return None
    return session.session_id, session.user_id
