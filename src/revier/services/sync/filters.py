"""Filters: stored per user, or given inline to /sync.

Every /sync names its filter, by ID (Element) or inline, and a stored filter
never changes (the spec has no update, and revier no delete): so the parsed
filter is kept, by the user and ID, and by the definition's text, which most
devices share (the same app sends the same filter). A woken long-poll then
reads no filter row and parses nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache

import orjson

from revier.errors import Forbidden, NotFound, NotJson
from revier.events.filters import SyncFilter, parse_filter
from revier.events.types import JsonDict
from revier.services.core import Requester, require_self
from revier.storage import Store
from revier.storage.sync import SyncRepos

MAX_FILTER_BYTES = 64 * 1024
# No filter: one shared instance (immutable), not eight objects per /sync — a
# parked long-poll keeps its filter for the whole wait.
NO_FILTER = SyncFilter()
# Stored filters remembered, by user and ID: about one per active device.
KNOWN_FILTERS = 20_000


class FilterService:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._known: OrderedDict[tuple[str, str], SyncFilter] = OrderedDict()

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
            return NO_FILTER
        if param.lstrip().startswith("{"):
            return _parsed(param)
        key = (requester.user_id, param)
        found = self._known.get(key)
        if found is not None:
            self._known.move_to_end(key)
            return found
        found = _parsed(orjson.dumps(await self.get(requester, requester.user_id, param)).decode())
        self._known[key] = found
        if len(self._known) > KNOWN_FILTERS:
            self._known.popitem(last=False)
        return found


@lru_cache(maxsize=1024)
def _parsed(text: str) -> SyncFilter:
    """A filter definition's text, parsed (shared: ``SyncFilter`` is immutable)."""
    try:
        return parse_filter(orjson.loads(text))
    except orjson.JSONDecodeError:
        raise NotJson("The inline filter is not valid JSON") from None
