"""Which state a sliding-sync room config asks for (its ``required_state``)."""

from __future__ import annotations

from revier.events.types import StateKey
from revier.services.rooms import StateWanted
from revier.services.sync.sliding_request import LAZY, ME, WILDCARD, RoomConfig

MEMBER = "m.room.member"


def wanted_state(config: RoomConfig, user_id: str) -> StateWanted:
    """The state keys a config asks for, lazy members aside."""
    return asked_state(config, user_id)[1]


def asked_state(config: RoomConfig, user_id: str) -> tuple[bool, StateWanted]:
    """Whether members are lazy-loaded, and the other state keys the config asks for."""
    keys: set[StateKey] = set()
    types: set[str] = set()
    everything = False
    lazy = False
    for event_type, state_key in config.required_state:
        if event_type == WILDCARD:
            everything = True  # [*, x] asks for x of every type: all state covers it
        elif state_key == WILDCARD:
            types.add(event_type)
        elif event_type == MEMBER and state_key == LAZY:
            lazy = True
        else:
            keys.add((event_type, user_id if state_key == ME else state_key))
    return lazy, StateWanted(frozenset(keys), frozenset(types), everything)
