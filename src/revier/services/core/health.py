"""Whether this server can serve: what the load balancer's health check asks."""

from __future__ import annotations

from revier.storage import Store


class HealthCheck:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def problem(self) -> str | None:
        """None when the database answers; else what went wrong (the exception's
        name only: a health check is unauthenticated)."""
        try:
            await self._store.ping()
        except Exception as exc:  # any database failure means "not healthy"
            return type(exc).__name__
        return None
