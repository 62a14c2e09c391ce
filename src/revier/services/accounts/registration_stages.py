"""The user-interactive-auth stages of POST /register, and the registration token's
use: reserved when the account is about to be made, spent or released after.

Sessions are core's (``core.uia``); this module knows which stages registration
offers and what the token stage accepts.
"""

from __future__ import annotations

from typing import Any

from revier.errors import Forbidden, MatrixError, MissingParam, UserInteractiveAuthRequired
from revier.services.accounts.registration_tokens import RegistrationTokens
from revier.services.core import Clock, Tenant, uia
from revier.storage import Store
from revier.storage.accounts import AccountRepos
from revier.storage.accounts.registration_tokens import RegistrationToken

TOKEN = "m.login.registration_token"
DUMMY = "m.login.dummy"


class RegistrationStages:
    def __init__(self, store: Store, clock: Clock, tokens: RegistrationTokens) -> None:
        self._store = store
        self._clock = clock
        self._tokens = tokens

    async def authenticate(
        self, tenant: Tenant, flows: list[list[str]], auth: Any, operation: str
    ) -> tuple[str, str | None]:
        """Run one UIA step; return (session, token_id) once a flow is complete."""
        session = await uia.session_for(self._store, self._clock, None, auth, operation)
        async with self._store.read() as tx:
            current = await uia.session(tx, session)
            token_id = await uia.registration_token(tx, session)
        completed = list(current.completed) if current else []
        stage = auth.get("type") if isinstance(auth, dict) else None
        if stage is not None:
            allowed = {s for flow in flows for s in flow}
            try:
                if stage not in allowed:
                    raise Forbidden(f"{stage!r} is not a registration stage here")
                if stage == TOKEN:
                    token_id = await self._token_stage(tenant, auth)
                if stage not in completed:
                    completed.append(stage)
            except MatrixError as e:
                raise UserInteractiveAuthRequired(
                    {
                        **flows_body(flows, session, completed),
                        "errcode": e.errcode,
                        "error": e.error,
                    }
                ) from None
            async with self._store.transaction() as tx:
                await uia.set_completed(tx, session, completed)
                await uia.set_registration_token(tx, session, token_id)
        if not any(set(flow) <= set(completed) for flow in flows):
            raise UserInteractiveAuthRequired(flows_body(flows, session, completed))
        return session, token_id

    async def _token_stage(self, tenant: Tenant, auth: dict[str, Any]) -> str:
        token = auth.get("token")
        if not isinstance(token, str):
            raise MissingParam("The registration token is missing")
        found = await self._tokens.lookup(tenant, token)
        if found is None:
            raise Forbidden("The registration token is unknown, expired or used up")
        return found.token_id

    async def reserve(
        self, tenant: Tenant, flows: list[list[str]], token_id: str, session: str
    ) -> RegistrationToken:
        now = self._clock.time_ms()
        completed: list[str] = []
        async with self._store.transaction() as tx:
            db = AccountRepos.of(tx)
            reserved = await db.registration_tokens.reserve(token_id, tenant.server_name, now)
            info = await db.registration_tokens.get(token_id)
            if not reserved:
                # The token ran out (or expired) since its stage: do that stage again.
                current = await uia.session(tx, session)
                completed = [s for s in (current.completed if current else []) if s != TOKEN]
                await uia.set_completed(tx, session, completed)
                await uia.set_registration_token(tx, session, None)
        if not reserved or info is None:
            raise UserInteractiveAuthRequired(
                {
                    **flows_body(flows, session, completed),
                    "errcode": Forbidden.errcode,
                    "error": "The registration token is expired or used up",
                }
            )
        return info

    async def release(self, token_id: str | None) -> None:
        if token_id is None:
            return
        async with self._store.transaction() as tx:
            await AccountRepos.of(tx).registration_tokens.release(token_id)


def flows_body(flows: list[list[str]], session: str, completed: list[str]) -> dict[str, Any]:
    return {
        "flows": [{"stages": flow} for flow in flows],
        "params": {},
        "session": session,
        "completed": completed,
    }
