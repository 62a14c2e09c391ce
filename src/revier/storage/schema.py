"""The whole schema: every wing's tables, registered in one ``MetaData``.

Each wing keeps its tables next to its repositories (``storage/<wing>/tables.py``);
this module only gathers them, for the migrations (Alembic compares against it)
and the tests that check a migrated database equals it. The migrations under
``migrations/versions`` are what create the tables. Columns holding Matrix
values use the spec's names. Timestamps are milliseconds since the epoch, like
the protocol's ``origin_server_ts``.
"""

from __future__ import annotations

from revier.storage import streams
from revier.storage.accounts import tables as accounts
from revier.storage.core import tables as core
from revier.storage.e2e import tables as e2e
from revier.storage.media import tables as media
from revier.storage.metadata import metadata
from revier.storage.notifications import tables as notifications
from revier.storage.org import tables as org
from revier.storage.rooms import tables as rooms
from revier.storage.sync import tables as sync

WINGS = (core, accounts, rooms, sync, e2e, media, notifications, org, streams)

__all__ = ["WINGS", "include_name", "metadata"]


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """For Alembic's comparisons: leave out what a migration makes but ``metadata``
    can't describe, the search index (its shape differs by engine,
    ``storage/rooms/search.py``) with FTS5's shadow tables."""
    search = name is not None and (name == "event_search" or name.startswith("event_search_"))
    return not (type_ == "table" and search)
