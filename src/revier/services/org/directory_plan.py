"""The sync engine's first half: what a directory's view means for revier's
accounts — a plan of creations, renames, moves and deactivations — computed
without changing anything, so that a dry run shows exactly what a sync does.

Only accounts the directory manages (a ``directory_accounts`` row of the same
source) are ever updated, moved or deactivated; an account made by hand whose
user name the directory also uses is reported, never taken over.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from revier.errors import MatrixError
from revier.services.core import Tenant, users
from revier.services.org.directory_units import UnitShape, unit_changes
from revier.services.org.directory_view import DirectoryPerson, DirectoryUnit, DirectoryView
from revier.storage.org import ManagedAccount


@dataclass(frozen=True, slots=True)
class Create:
    user_id: str
    person: DirectoryPerson


@dataclass(frozen=True, slots=True)
class Rename:
    user_id: str
    displayname: str


@dataclass(frozen=True, slots=True)
class Move:
    user_id: str
    units: frozenset[str]  # the whole new set (external IDs)
    joined: frozenset[str]
    left: frozenset[str]


@dataclass(frozen=True, slots=True)
class Deactivate:
    user_id: str
    reason: Literal["gone", "disabled"]


@dataclass(frozen=True, slots=True)
class Refusal:
    """A directory entry the sync leaves alone, and why (for the operator)."""

    external_id: str
    user_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    source: str
    creates: list[Create] = field(default_factory=list)
    renames: list[Rename] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    deactivations: list[Deactivate] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    # Units to create, rename or move, parents first.
    units: list[DirectoryUnit] = field(default_factory=list)
    # The people seen (their accounts' last_seen is set) and the source's active
    # accounts before the sync (the guard's denominator).
    seen: list[str] = field(default_factory=list)
    managed_active: int = 0

    @property
    def deactivation_share(self) -> float:
        if not self.deactivations:
            return 0.0
        return len(self.deactivations) / max(self.managed_active, 1)

    @property
    def empty(self) -> bool:
        return not (self.creates or self.renames or self.moves or self.deactivations or self.units)

    def counts(self) -> dict[str, int]:
        return {
            "create": len(self.creates),
            "units": len(self.units),
            "update": len(self.renames),
            "move": len(self.moves),
            "deactivate": len(self.deactivations),
            "refused": len(self.refusals),
        }

    def describe(self) -> dict[str, Any]:
        """The plan as JSON: which accounts, never more of the people than their names."""
        return {
            "source": self.source,
            "counts": self.counts(),
            "units": [
                {"external_id": u.external_id, "name": u.name, "parent": u.parent_external_id}
                for u in self.units
            ],
            "create": [
                {"user_id": c.user_id, "units": sorted(c.person.units)} for c in self.creates
            ],
            "update": [{"user_id": r.user_id, "displayname": r.displayname} for r in self.renames],
            "move": [
                {"user_id": m.user_id, "join": sorted(m.joined), "leave": sorted(m.left)}
                for m in self.moves
            ],
            "deactivate": [{"user_id": d.user_id, "reason": d.reason} for d in self.deactivations],
            "refused": [
                {"external_id": r.external_id, "user_id": r.user_id, "reason": r.reason}
                for r in self.refusals
            ],
        }


def compute_plan(
    tenant: Tenant,
    view: DirectoryView,
    managed: Iterable[ManagedAccount],
    taken: set[str],
    unit_memberships: Mapping[str, frozenset[str]] | None,
    current_units: Mapping[str, UnitShape] | None = None,
) -> Plan:
    """The plan that brings the source's accounts in line with ``view``.

    ``taken``: user IDs of the view's people that exist but are not this
    source's. ``unit_memberships``: each managed account's directory units
    (external IDs) and ``current_units`` revier's directory units, when the
    view has units; else None.
    """
    by_external = {m.external_id: m for m in managed}
    managed_ids = {m.user_id for m in by_external.values()}
    plan = Plan(
        view.source,
        units=unit_changes(view.units, current_units or {}) if view.has_units else [],
        managed_active=sum(not m.deactivated for m in by_external.values()),
    )
    known_units = {u.external_id for u in view.units}
    listed: set[str] = set()
    localparts: set[str] = set()
    for person in view.people:
        listed.add(person.external_id)
        account = by_external.get(person.external_id)
        units = person.units & known_units
        if account is not None:
            plan.seen.append(account.user_id)
            _plan_existing(plan, tenant, person, account, units, unit_memberships)
            continue
        if not person.active:
            continue  # disabled before revier ever knew them: nothing to do
        reason = _refuse_new(tenant, person, taken | managed_ids, localparts)
        user_id = tenant.user_id(person.localpart.lower()) if reason is None else None
        if reason is not None or user_id is None:
            plan.refusals.append(Refusal(person.external_id, user_id, reason or ""))
            continue
        localparts.add(person.localpart.lower())
        plan.creates.append(Create(user_id, _with_units(person, units)))
    for external_id, account in by_external.items():
        if view.complete and external_id not in listed and not account.deactivated:
            plan.deactivations.append(Deactivate(account.user_id, "gone"))
    return plan


def _plan_existing(
    plan: Plan,
    tenant: Tenant,
    person: DirectoryPerson,
    account: ManagedAccount,
    units: frozenset[str],
    unit_memberships: Mapping[str, frozenset[str]] | None,
) -> None:
    if account.deactivated:
        if person.active:
            plan.refusals.append(
                Refusal(
                    person.external_id,
                    account.user_id,
                    "active in the directory but deactivated here: a sync never "
                    "reactivates an account; an admin can (revier admin users reactivate)",
                )
            )
        return
    if not person.active:
        plan.deactivations.append(Deactivate(account.user_id, "disabled"))
        return
    if tenant.user_id(person.localpart.lower()) != account.user_id:
        plan.refusals.append(
            Refusal(
                person.external_id,
                account.user_id,
                f"the user name changed to {person.localpart!r} in the directory; "
                "a Matrix user ID can't change",
            )
        )
    if person.displayname and person.displayname != account.displayname:
        plan.renames.append(Rename(account.user_id, person.displayname))
    if unit_memberships is not None:
        current = unit_memberships.get(account.user_id, frozenset())
        if current != units:
            plan.moves.append(Move(account.user_id, units, units - current, current - units))


def _refuse_new(
    tenant: Tenant, person: DirectoryPerson, taken: set[str], localparts: set[str]
) -> str | None:
    """Why no account can be made for ``person``, or None."""
    localpart = person.localpart.lower()
    try:
        users.validate_localpart(tenant, localpart)
        users.validate_displayname(person.displayname)
    except MatrixError as e:
        return e.error
    if localpart in localparts:
        return f"another directory entry has the user name {localpart!r} too"
    if tenant.user_id(localpart) in taken:
        return (
            f"{tenant.user_id(localpart)} exists and is not this entry's (made by hand, by "
            "another source, or by an earlier directory entry of the same name): left alone"
        )
    return None


def _with_units(person: DirectoryPerson, units: frozenset[str]) -> DirectoryPerson:
    if units == person.units:
        return person
    return DirectoryPerson(
        person.external_id,
        person.localpart,
        person.displayname,
        person.email,
        person.active,
        units,
    )
