"""The seam the directory sync builds on (``revier.services.org.Units``), called
in-process against a running server's database as the command line does:
units ensured by external ID (idempotent; renamed and moved to match), a
user's whole set of units replaced, and the rooms following."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import httpx
import pytest

from revier.app import start_services
from revier.config_file import load_settings
from revier.errors import InvalidParam, NotFound
from revier.services.container import Services
from revier.services.core import Actor
from tests.integration.admin_api import Admin
from tests.integration.harness import RevierProcess
from tests.integration.units import UnitsApi


@pytest.fixture
async def svc(org_server: RevierProcess) -> AsyncIterator[Services]:
    services = await start_services(load_settings(org_server.config))
    try:
        yield services
    finally:
        await services.unit_work.stop()
        await services.room_admin.stop()
        await services.notifier.close()
        await services.store.close()


async def test_ensure_unit_and_set_memberships(
    svc: Services, org_server: RevierProcess, password_hash: str, admin: Admin
) -> None:
    tenant = svc.tenants.get("localhost")
    assert tenant is not None
    tag = secrets.token_hex(4)
    anna, bert = org_server.import_users([f"seam-{tag}-a", f"seam-{tag}-b"], password_hash)
    dn = f"ou=nord-{tag},o=polizei"
    top = await svc.units.ensure_unit(
        tenant, external_id=dn, name="Nord", parent_external_id=None, actor="directory:ldap"
    )
    again = await svc.units.ensure_unit(
        tenant, external_id=dn, name="Nord", parent_external_id=None, actor="directory:ldap"
    )
    assert again == top
    sub = await svc.units.ensure_unit(
        tenant,
        external_id=f"ou=wache-{tag},{dn}",
        name="Wache 1",
        parent_external_id=dn,
        actor="directory:ldap",
    )
    assert sub.parent_id == top.unit_id
    other = await svc.units.ensure_unit(
        tenant,
        external_id=f"ou=sued-{tag}",
        name="Süd",
        parent_external_id=None,
        actor="directory:ldap",
    )
    moved = await svc.units.ensure_unit(
        tenant,
        external_id=f"ou=wache-{tag},{dn}",
        name="Wache 1a",
        parent_external_id=f"ou=sued-{tag}",
        actor="directory:ldap",
    )
    assert (moved.unit_id, moved.name, moved.parent_id) == (sub.unit_id, "Wache 1a", other.unit_id)
    assert await svc.units.get_by_external_id(tenant, dn) == top
    assert await svc.units.get_by_external_id(tenant, "ou=nobody") is None
    with pytest.raises(NotFound):
        await svc.units.ensure_unit(
            tenant, external_id="x", name="x", parent_external_id="ou=missing", actor="t"
        )
    with pytest.raises(InvalidParam):  # a cycle: Süd under its own sub-unit
        await svc.units.ensure_unit(
            tenant,
            external_id=f"ou=sued-{tag}",
            name="Süd",
            parent_external_id=f"ou=wache-{tag},{dn}",
            actor="directory:ldap",
        )
    ids = {u.unit_id for u in await svc.units.list_units(tenant)}
    assert {top.unit_id, sub.unit_id, other.unit_id} <= ids

    room = await svc.unit_rooms.attach(
        tenant,
        sub.unit_id,
        room_id=None,
        name="Wache Lage",
        rule="auto_join",
        actor=Actor("directory:ldap", None),
    )
    change = await svc.units.set_memberships(
        tenant,
        anna,
        {top.unit_id: "member", sub.unit_id: "lead"},
        actor="directory:ldap",
        reason="directory sync",
    )
    assert change.added == {top.unit_id: "member", sub.unit_id: "lead"} and change.changed
    assert await svc.units.memberships(tenant, anna) == {top.unit_id: "member", sub.unit_id: "lead"}
    same = await svc.units.set_memberships(
        tenant,
        anna,
        {top.unit_id: "member", sub.unit_id: "lead"},
        actor="directory:ldap",
        reason="directory sync",
    )
    assert not same.changed and same.job_ids == ()
    await svc.units.set_memberships(
        tenant, bert, {sub.unit_id: "member"}, actor="directory:ldap", reason=""
    )
    assert await svc.units.members(tenant, sub.unit_id) == sorted(
        [(anna, "lead"), (bert, "member")]
    )
    async with httpx.AsyncClient(base_url=org_server.url, timeout=60) as http:
        api = UnitsApi(http, admin)
        joined = (await api.ok("GET", f"/_revier/admin/v1/rooms/{room}"))["joined_member_ids"]
        assert {anna, bert} <= set(joined)
        # Moved by the directory: out of Wache 1a (and its room), role kept elsewhere.
        moved_out = await svc.units.set_memberships(
            tenant, anna, {top.unit_id: "lead"}, actor="directory:ldap", reason="moved"
        )
        assert moved_out.removed == (sub.unit_id,)
        assert moved_out.role_changed == {top.unit_id: "lead"}
        joined = (await api.ok("GET", f"/_revier/admin/v1/rooms/{room}"))["joined_member_ids"]
        assert anna not in joined and bert in joined

    with pytest.raises(NotFound):
        await svc.units.set_memberships(
            tenant, anna, {"no-such-unit": "member"}, actor="t", reason=""
        )
    with pytest.raises(NotFound):  # another tenant's account
        await svc.units.set_memberships(tenant, "@admin:other.test", {}, actor="t", reason="")

    await svc.units.delete_unit(tenant, sub.unit_id, actor="directory:ldap")
    assert await svc.units.memberships(tenant, bert) == {}
    assert await svc.units.get_by_external_id(tenant, f"ou=wache-{tag},{dn}") is None
