"""The org wing's view types: a unit, a member's role, a room's rule, and what a
change of someone's units did."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast, get_args

from revier.errors import InvalidParam

Role = Literal["member", "lead"]
ROLES: frozenset[str] = frozenset(get_args(Role))

# How an attached room follows the unit: ``auto_join`` members are joined,
# ``invite`` members are invited, ``announce`` members are joined and only
# leads may post.
Rule = Literal["auto_join", "invite", "announce"]
RULES: frozenset[str] = frozenset(get_args(Rule))

MAX_NAME_LENGTH = 255
MAX_EXTERNAL_ID_LENGTH = 1024


@dataclass(frozen=True)
class Unit:
    unit_id: str  # revier's ID
    external_id: str | None  # the directory's ID, unique per tenant
    name: str
    parent_id: str | None
    space_room_id: str


@dataclass(frozen=True)
class MembershipChange:
    """What ``Units.set_memberships`` changed; the room work it queued is done in
    the background for big changes (``job_ids``, finished or under way)."""

    added: Mapping[str, Role] = field(default_factory=dict)
    removed: tuple[str, ...] = ()
    role_changed: Mapping[str, Role] = field(default_factory=dict)
    job_ids: tuple[int, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.role_changed)


@dataclass(frozen=True)
class BulkAdd:
    """What adding many users to one unit changed."""

    added: int
    role_changed: int
    job_ids: tuple[int, ...]


def check_role(role: object) -> Role:
    if role not in ROLES:
        raise InvalidParam("'role' must be 'member' or 'lead'")
    return cast(Role, role)


def check_rule(rule: object) -> Rule:
    if rule not in RULES:
        raise InvalidParam("'rule' must be 'auto_join', 'invite' or 'announce'")
    return cast(Rule, rule)


def check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidParam("'name' must be a non-empty string")
    if len(name) > MAX_NAME_LENGTH or "\x00" in name:
        raise InvalidParam(f"'name' must be at most {MAX_NAME_LENGTH} characters, without NUL")
    return name.strip()


def check_external_id(external_id: object) -> str:
    if not isinstance(external_id, str) or not external_id:
        raise InvalidParam("'external_id' must be a non-empty string")
    if len(external_id) > MAX_EXTERNAL_ID_LENGTH or "\x00" in external_id:
        raise InvalidParam(f"'external_id' must be at most {MAX_EXTERNAL_ID_LENGTH} characters")
    return external_id
