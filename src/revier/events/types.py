"""Type aliases shared by the event model.

Events are JSON at the edge; ``JsonDict`` is where ``Any`` is allowed, and the
``Pdu`` wrapper narrows it into typed properties at once.
"""

from __future__ import annotations

from typing import Any, TypeAlias, TypeVar, cast

JsonDict: TypeAlias = dict[str, Any]

# (event type, state_key): the key of one entry in a room's state map, as the
# state resolution and auth events selection sections of the spec use it.
StateKey: TypeAlias = tuple[str, str]


_T = TypeVar("_T")


def json_copy(value: _T) -> _T:
    """A deep copy of JSON-shaped data (dicts, lists, scalars).

    What ``copy.deepcopy`` gives for such data at a fraction of its cost,
    which matters because events are copied on every load and every send.
    Tuples are copied too (code may build content with them); any other
    object is immutable in JSON terms and shared.
    """
    if isinstance(value, dict):
        return cast(_T, {k: json_copy(v) for k, v in value.items()})
    if isinstance(value, list):
        return cast(_T, [json_copy(v) for v in value])
    if isinstance(value, tuple):
        return cast(_T, tuple(json_copy(v) for v in value))
    return value
