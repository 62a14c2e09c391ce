"""Filters: stored per user, or given inline to /sync."""

from __future__ import annotations

import orjson

from revier.errors import Forbidden, NotFound
from revier.events.filters import SyncFilter, parse_filter
from revier.events.types import JsonDict
from revier.services.core import Requester, require_self
from revier.storage import Store
from revier.storage.sync import SyncRepos

MAX_FILTER_BYTES = 64 * 1024


class FilterService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def create(self, requester: Requester, user_id: str, definition: JsonDict) -> str:
        """POST /user/{userId}/filter"""
        require_self(requester, user_id, "use your own filters")
        parse_filter(definition)  # refuse what can't be applied later
        text = orjson.dumps(definition).decode()
        if len(text) > MAX_FILTER_BYTES:
            raise Forbidden("The filter is too large")
        async with self._store.transaction() as tx:
            return await SyncRepos.of(tx).filters.add(user_id, text)

    async def get(self, requester: Requester, user_id: str, filter_id: str) -> JsonDict:
        require_self(requester, user_id, "use your own filters")
        async with self._store.read() as tx:
            text = await SyncRepos.of(tx).filters.get(user_id, filter_id)
        if text is None:
            raise NotFound("No such filter")
        value: JsonDict = orjson.loads(text)
        return value

    async def for_sync(self, requester: Requester, param: str | None) -> SyncFilter:
        """The ``filter`` query parameter of /sync: a filter ID or inline JSON."""
        if param is None:
            return SyncFilter()
        if param.lstrip().startswith("{"):
            try:
                return parse_filter(orjson.loads(param))
            except orjson.JSONDecodeError:
                from revier.errors import NotJson

                raise NotJson("The inline filter is not valid JSON") from None
        return parse_filter(await self.get(requester, requester.user_id, param))
