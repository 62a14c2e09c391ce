"""What a client may put into ``m.room.canonical_alias`` (spec: ``setRoomStateWithKey``).

The event advertises the room's addresses; one that leads to another room (or
nowhere) would send people who follow it into the wrong room. So every alias
it names must be well-formed (``M_INVALID_PARAM``) and point to this room in
the alias directory (``M_BAD_ALIAS``), both 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from revier.errors import BadAlias, BadJson, InvalidParam
from revier.events.identifiers import is_valid_room_alias
from revier.storage import Tx
from revier.storage.rooms import RoomRepos

CANONICAL_ALIAS = "m.room.canonical_alias"


async def check_canonical_alias(tx: Tx, room_id: str, content: Mapping[str, Any]) -> None:
    named: list[Any] = []
    if content.get("alias") is not None:
        named.append(content["alias"])
    alt = content.get("alt_aliases")
    if alt is not None:
        if not isinstance(alt, list):
            raise BadJson("'alt_aliases' must be a list of room aliases")
        named.extend(alt)
    for alias in named:
        if not isinstance(alias, str) or not is_valid_room_alias(alias):
            raise InvalidParam(f"{alias!r} is not a room alias")
    aliases = RoomRepos.of(tx).aliases
    for alias in dict.fromkeys(named):
        if await aliases.room_id_for(alias) != room_id:
            raise BadAlias(f"The alias {alias} does not point to this room")
