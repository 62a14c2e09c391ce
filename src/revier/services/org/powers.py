"""Who may post in an ``announce`` room: the leads of the units giving it.

The room's ``events_default`` is raised to ``LEAD_LEVEL`` when it is attached;
a lead gets ``LEAD_LEVEL`` in ``users``, and loses it (only that level, one
the org wing gave) when no unit makes them a lead there any more.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from revier.errors import MatrixError
from revier.services.core import Tenant
from revier.services.rooms import RoomSteward, Written
from revier.storage import Tx

log = structlog.get_logger(__name__)

LEAD_LEVEL = 50


def announce_levels(content: dict[str, Any]) -> dict[str, Any]:
    """Members read, leads (and moderators) post."""
    events_default = content.get("events_default", 0)
    if not isinstance(events_default, int) or events_default < LEAD_LEVEL:
        content["events_default"] = LEAD_LEVEL
    return content


def with_leads(content: dict[str, Any], leads: Mapping[str, bool]) -> dict[str, Any]:
    users = dict(content.get("users") or {})
    for user_id, lead in leads.items():
        level = users.get(user_id)
        if lead and (not isinstance(level, int) or level < LEAD_LEVEL):
            users[user_id] = LEAD_LEVEL
        elif not lead and level == LEAD_LEVEL:
            del users[user_id]
    content["users"] = users
    return content


async def apply_leads(
    tx: Tx,
    steward: RoomSteward,
    tenant: Tenant,
    service: str,
    room_id: str,
    leads: Mapping[str, bool],
    written: Written,
) -> None:
    """One power-levels event for a batch of users."""
    try:
        await steward.change_power_levels(
            tx, tenant, room_id, service, lambda c: with_leads(c, leads), written
        )
    except MatrixError as e:  # the room took the service account's power away
        log.warning("a unit could not set who may post", room_id=room_id, error=e.errcode)
