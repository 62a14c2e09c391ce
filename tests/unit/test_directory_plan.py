"""The directory sync's plan, without a database: what a directory view means
for the accounts the directory manages (and never for the others)."""

from __future__ import annotations

import pytest
from signedjson.key import generate_signing_key

from revier.config import TenantPolicy, TenantSettings
from revier.config_directory import LdapSettings
from revier.services.core import Tenant
from revier.services.org.directory_plan import Deactivate, compute_plan
from revier.services.org.directory_units import ordered_units, unit_changes
from revier.services.org.directory_view import DirectoryPerson, DirectoryUnit, DirectoryView
from revier.storage.org import ManagedAccount

TENANT = Tenant(
    "police.example",
    TenantPolicy(),
    TenantSettings(server_name="police.example"),
    generate_signing_key("a"),
)


def managed(
    localpart: str, external_id: str, *, name: str = "", off: bool = False
) -> ManagedAccount:
    return ManagedAccount(
        f"@{localpart}:police.example", "ldap", external_id, name or localpart, off
    )


def person(localpart: str, external_id: str, name: str = "", **kw: object) -> DirectoryPerson:
    return DirectoryPerson(external_id, localpart, name or localpart, **kw)  # type: ignore[arg-type]


def view(*people: DirectoryPerson, **kw: object) -> DirectoryView:
    return DirectoryView("ldap", list(people), **kw)  # type: ignore[arg-type]


def test_joiners_renames_leavers_and_the_disabled() -> None:
    plan = compute_plan(
        TENANT,
        view(
            person("anna", "1", "Anna B."),
            person("ben", "2"),
            person("carl", "3", active=False),
            person("dora", "5"),
        ),
        [
            managed("anna", "1", name="Anna A."),
            managed("ben", "2"),
            managed("carl", "3"),
            managed("emil", "4"),
        ],
        taken=set(),
        unit_memberships=None,
    )
    assert [c.user_id for c in plan.creates] == ["@dora:police.example"]
    assert [(r.user_id, r.displayname) for r in plan.renames] == [
        ("@anna:police.example", "Anna B.")
    ]
    assert plan.deactivations == [
        Deactivate("@carl:police.example", "disabled"),
        Deactivate("@emil:police.example", "gone"),
    ]
    assert plan.managed_active == 4 and plan.deactivation_share == 0.5


def test_running_the_plan_again_finds_nothing() -> None:
    people = [person("anna", "1"), person("ben", "2")]
    plan = compute_plan(
        TENANT, view(*people), [managed("anna", "1"), managed("ben", "2")], set(), None
    )
    assert plan.empty and plan.counts()["refused"] == 0


def test_names_taken_invalid_or_twice_are_refused_not_taken_over() -> None:
    plan = compute_plan(
        TENANT,
        view(person("admin", "1"), person("Has Space", "2"), person("x", "3"), person("X", "4")),
        [],
        taken={"@admin:police.example"},
        unit_memberships=None,
    )
    assert [c.user_id for c in plan.creates] == ["@x:police.example"]
    reasons = {r.external_id: r.reason for r in plan.refusals}
    assert "is not this entry's" in reasons["1"]
    assert set(reasons) == {"1", "2", "4"}


def test_a_sync_never_reactivates() -> None:
    plan = compute_plan(
        TENANT, view(person("anna", "1")), [managed("anna", "1", off=True)], set(), None
    )
    assert plan.empty
    assert "never reactivates" in plan.refusals[0].reason


def test_a_partial_view_deactivates_no_one_it_does_not_name() -> None:
    plan = compute_plan(
        TENANT,
        view(person("anna", "1"), complete=False),
        [managed("anna", "1"), managed("ben", "2")],
        set(),
        None,
    )
    assert plan.empty


def test_moves_only_between_the_directorys_units() -> None:
    units = [DirectoryUnit("n", "North"), DirectoryUnit("s", "South")]
    plan = compute_plan(
        TENANT,
        view(
            person("anna", "1", units=frozenset({"s", "unknown"})),
            person("ben", "2", units=frozenset({"n"})),
            units=units,
            has_units=True,
        ),
        [managed("anna", "1"), managed("ben", "2")],
        set(),
        {"@anna:police.example": frozenset({"n"}), "@ben:police.example": frozenset({"n"})},
        {"n": ("North", None), "s": ("South", None)},
    )
    assert len(plan.moves) == 1
    move = plan.moves[0]
    assert (move.user_id, move.joined, move.left) == (
        "@anna:police.example",
        frozenset({"s"}),
        frozenset({"n"}),
    )
    assert plan.units == []


def test_units_parents_first_and_loops_cut() -> None:
    units = [
        DirectoryUnit("c", "Team", "b"),
        DirectoryUnit("b", "Station", "a"),
        DirectoryUnit("a", "Directorate"),
        DirectoryUnit("x", "Loop X", "y"),
        DirectoryUnit("y", "Loop Y", "x"),
        DirectoryUnit("o", "Orphan", "missing"),
    ]
    ordered = ordered_units(units)
    position = {u.external_id: i for i, u in enumerate(ordered)}
    assert position["a"] < position["b"] < position["c"]
    parents = {u.external_id: u.parent_external_id for u in ordered}
    assert parents["o"] is None
    assert [parents["x"], parents["y"]].count(None) == 1  # the loop is cut once
    assert unit_changes(units, {"a": ("Directorate", None)})[0].external_id == "b"


def test_ldap_settings_keep_the_password_out_of_their_repr() -> None:
    ldap = LdapSettings(
        url="ldaps://ldap.example", bind_dn="cn=r", bind_password="s3cret", user_base_dn="ou=p"
    )
    assert "s3cret" not in repr(ldap) and ldap.password() == "s3cret"
    with pytest.raises(ValueError, match="exactly one"):
        LdapSettings(url="ldaps://ldap.example", bind_dn="cn=r", user_base_dn="ou=p")
    with pytest.raises(ValueError, match="start_tls"):
        LdapSettings(
            url="ldaps://l", bind_dn="cn=r", bind_password="s", user_base_dn="o", start_tls=True
        )
    with pytest.raises(ValueError, match="ldap"):
        LdapSettings(url="http://l", bind_dn="cn=r", bind_password="s", user_base_dn="o")
