"""The units part of a directory sync: which of the directory's units must be
created, renamed or moved (parents before their children), and the set of
units each person should end up in."""

from __future__ import annotations

from collections.abc import Mapping

from revier.services.org.directory_view import DirectoryUnit

# A unit as revier has it: (name, the parent's external ID).
UnitShape = tuple[str, str | None]


def ordered_units(units: list[DirectoryUnit]) -> list[DirectoryUnit]:
    """The units parents first. A parent the directory doesn't list, and a
    parent that would close a cycle (groups nested in each other), is dropped:
    the unit becomes a root rather than the tree a loop."""
    by_id = {u.external_id: u for u in units}
    done: dict[str, DirectoryUnit] = {}
    for unit in sorted(units, key=lambda u: u.external_id):
        chain: list[DirectoryUnit] = []
        seen: set[str] = set()
        current: DirectoryUnit | None = unit
        while current is not None and current.external_id not in done:
            if current.external_id in seen:  # a loop: cut it here
                chain[-1] = DirectoryUnit(chain[-1].external_id, chain[-1].name, None)
                break
            seen.add(current.external_id)
            chain.append(current)
            parent = current.parent_external_id
            current = by_id.get(parent) if parent is not None else None
            if parent is not None and current is None:
                chain[-1] = DirectoryUnit(chain[-1].external_id, chain[-1].name, None)
        for u in reversed(chain):
            done[u.external_id] = u
    return list(done.values())


def unit_changes(
    units: list[DirectoryUnit], current: Mapping[str, UnitShape]
) -> list[DirectoryUnit]:
    """The directory's units revier lacks or has with another name or parent,
    parents first."""
    return [
        u
        for u in ordered_units(units)
        if current.get(u.external_id) != (u.name, u.parent_external_id)
    ]
