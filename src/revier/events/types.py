"""Type aliases shared by the event model.

Events are JSON at the edge; ``JsonDict`` is where ``Any`` is allowed, and the
``Pdu`` wrapper narrows it into typed properties at once.
"""

from __future__ import annotations

from typing import Any, TypeAlias

JsonDict: TypeAlias = dict[str, Any]

# (event type, state_key): the key of one entry in a room's state map, as the
# state resolution and auth events selection sections of the spec use it.
StateKey: TypeAlias = tuple[str, str]
