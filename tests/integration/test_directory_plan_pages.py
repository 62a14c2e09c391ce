"""The directory sync reads its plan's inputs (the source's accounts and their
units, which of the directory's user names are taken) a page at a time, so
that on SQLite no one statement over tens of thousands of accounts holds the
event loop. Pages of two rows must give exactly the plan one read gives, and
a sync applied with them leaves nothing for the next sync to do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from revier.config_file import load_settings
from revier.services.container import Services, build_services
from revier.services.core import Tenant
from revier.services.org.directory_sync import DirectorySync
from revier.services.org.directory_view import DirectoryPerson, DirectoryUnit, DirectoryView
from revier.storage import Store
from revier.storage.engine import create_engines, migrate
from tests.integration.conftest import server_config

UNITS = [
    DirectoryUnit("g:police", "Police"),
    DirectoryUnit("g:north", "North", "g:police"),
    DirectoryUnit("g:south", "South", "g:police"),
]


def person(n: int, *units: str, name: str | None = None, active: bool = True) -> DirectoryPerson:
    return DirectoryPerson(
        f"uuid-{n}", f"p{n}", name or f"Person {n}", active=active, units=frozenset(units)
    )


FIRST = [person(n, "g:north" if n % 2 else "g:south") for n in range(9)]
# Then: p0 renamed, p1 moved, p2 in both stations, p3 gone, p4 disabled, p9 and
# p10 new, and a hand-made account's name claimed by a new entry.
SECOND = [
    person(0, "g:south", name="Person Zero"),
    person(1, "g:south"),
    person(2, "g:north", "g:south"),
    person(4, "g:south", active=False),
    *FIRST[5:],
    person(9, "g:north"),
    person(10),
    DirectoryPerson("uuid-hand", "handmade", "Hand Made"),
]


def view(people: list[DirectoryPerson]) -> DirectoryView:
    return DirectoryView("ldap", people, UNITS, has_units=True)


@pytest.fixture
async def services(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path
) -> AsyncIterator[Services]:
    config = server_config(engine, request, tmp_root, "plan-pages")
    settings = load_settings(config, environ={})
    engines = create_engines(settings.database_url)
    await migrate(engines)
    svc = build_services(settings, Store(engines))
    try:
        yield svc
    finally:
        await svc.unit_work.stop()
        await svc.store.close()


def paged(sync: DirectorySync, size: int) -> None:
    sync.batches = replace(sync.batches, plan_page=size)


async def test_a_plan_read_in_small_pages_is_the_plan_read_at_once(services: Services) -> None:
    tenant = services.tenants.get("localhost")
    assert isinstance(tenant, Tenant)
    await services.accounts.create_user(tenant, "handmade", "a long enough password 1")
    sync = services.org_directory.sync
    paged(sync, 2)
    first = await sync.sync(tenant, view(FIRST))
    assert first.outcome is not None
    assert len(first.outcome.created) == 9
    assert not first.outcome.failed

    paged(sync, 2)
    small = (await sync.plan(tenant, view(SECOND))).describe()
    paged(sync, 10_000)
    whole = (await sync.plan(tenant, view(SECOND))).describe()
    assert small == whole
    assert small["counts"] == {
        "create": 2,
        "units": 0,
        "update": 1,
        "move": 2,
        "deactivate": 2,
        "refused": 1,
    }

    paged(sync, 2)
    second = await sync.sync(tenant, view(SECOND), allow_mass_deactivation=True)
    assert second.outcome is not None
    assert sorted(second.outcome.deactivated) == ["@p3:localhost", "@p4:localhost"]
    assert (await sync.plan(tenant, view(SECOND))).empty
