"""What a directory says about the organisation, whichever source it came from:
the input of the sync engine (``directory_plan``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Source = Literal["ldap", "scim"]


@dataclass(frozen=True, slots=True)
class DirectoryPerson:
    external_id: str  # the directory's lasting name (entryUUID, objectGUID, SCIM id)
    localpart: str  # the user name: the account's localpart
    displayname: str | None
    email: str | None = None
    active: bool = True  # False: disabled in the directory
    units: frozenset[str] = frozenset()  # the external IDs of the person's units


@dataclass(frozen=True, slots=True)
class DirectoryUnit:
    external_id: str  # a group's DN or SCIM id
    name: str
    parent_external_id: str | None = None


@dataclass(frozen=True, slots=True)
class DirectoryView:
    """What the source knows. A complete view lists everyone (LDAP): a person it
    no longer lists is gone and their account is deactivated. A partial one
    (a SCIM request) says something about the people it lists, nothing about
    anyone else."""

    source: Source
    people: list[DirectoryPerson]
    units: list[DirectoryUnit] = field(default_factory=list)
    # False: the source says nothing about units (leave memberships alone).
    has_units: bool = False
    complete: bool = True
