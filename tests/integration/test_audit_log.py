"""The audit log's storage on both engines, in-process on an injected clock:
pseudonymising old source addresses, and the database refusing to edit or
delete entries (migration 0006's triggers), whoever asks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from revier.config_file import load_settings
from revier.services.container import Services, build_services
from revier.storage import Store
from revier.storage.core.audit import AuditEntry, AuditQuery
from revier.storage.engine import Engines, create_engines, migrate
from tests.fake_clock import FakeClock
from tests.integration.conftest import server_config

DAY_MS = 86_400_000
START_MS = 1_800_000_000_000


@dataclass
class Installation:
    services: Services
    engines: Engines
    clock: FakeClock


@pytest.fixture
async def installation(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path
) -> AsyncIterator[Installation]:
    """Services on a fresh database: ``localhost`` pseudonymises after 7 days,
    ``other.test`` after the default 30."""
    config = server_config(
        engine,
        request,
        tmp_root,
        "audit",
        tenant_policy={"audit_pseudonymise_after_days": 7},
        extra_tenants=("other.test",),
    )
    settings = load_settings(config, environ={})
    engines = create_engines(settings.database_url)
    await migrate(engines)
    clock = FakeClock(START_MS)
    svc = build_services(settings, Store(engines), clock)
    try:
        yield Installation(svc, engines, clock)
    finally:
        await svc.store.close()


async def record(inst: Installation, tenant: str, action: str, source: str | None) -> None:
    await inst.services.audit.record_now(
        tenant,
        action,
        actor="@anna:" + tenant,
        target="@ben:" + tenant + "/PHONE",
        source=source,
        details={"count": 1},
    )


async def entries(inst: Installation, tenant: str) -> list[AuditEntry]:
    registry = inst.services.tenants.get(tenant)
    assert registry is not None
    return await inst.services.audit.page(registry, AuditQuery(action="test."), limit=100)


async def test_old_sources_become_stable_pseudonyms(installation: Installation) -> None:
    inst = installation
    await record(inst, "localhost", "test.first", "203.0.113.5")
    await record(inst, "localhost", "test.second", "203.0.113.5")
    await record(inst, "localhost", "test.third", "198.51.100.1")
    await record(inst, "localhost", "test.server", None)
    await record(inst, "other.test", "test.elsewhere", "203.0.113.5")
    before = await entries(inst, "localhost")

    inst.clock.now_ms += 8 * DAY_MS
    await record(inst, "localhost", "test.fresh", "203.0.113.5")
    assert await inst.services.audit.pseudonymise_due() == 4

    after = await entries(inst, "localhost")
    sources = [e.source for e in after]
    assert sources[0] is not None and sources[0].startswith("p:")
    assert sources[0] == sources[1] != sources[2]  # the same address links its entries
    assert sources[2] is not None and sources[2].startswith("p:")
    assert sources[3] is None
    assert sources[4] == "203.0.113.5"  # not old enough yet
    assert all("203.0.113.5" not in str(e.to_json()) for e in after[:4])
    for old, new in zip(before, after, strict=False):
        assert {**old.to_json(), "source": None} == {**new.to_json(), "source": None}

    # other.test keeps addresses for 30 days, and its own pseudonym at the end.
    assert [e.source for e in await entries(inst, "other.test")] == ["203.0.113.5"]
    inst.clock.now_ms += 30 * DAY_MS
    assert await inst.services.audit.pseudonymise_due() == 2
    [elsewhere] = await entries(inst, "other.test")
    assert elsewhere.source == sources[0]  # one key per installation: still linkable
    assert await inst.services.audit.pseudonymise_due() == 0


TAMPERING = [
    "DELETE FROM audit_log",
    "UPDATE audit_log SET actor = 'someone else'",
    "UPDATE audit_log SET action = 'test.harmless'",
    "UPDATE audit_log SET target = NULL",
    "UPDATE audit_log SET details = NULL",
    "UPDATE audit_log SET ts = ts + 1",
    "UPDATE audit_log SET tenant = 'other.test'",
]


async def test_the_database_refuses_to_rewrite_history(installation: Installation) -> None:
    inst = installation
    await record(inst, "localhost", "test.evidence", "203.0.113.5")
    before = await entries(inst, "localhost")
    for statement in TAMPERING:
        with pytest.raises(DBAPIError, match="append-only"):
            async with inst.engines.writer.begin() as conn:
                await conn.execute(text(statement))
    assert await entries(inst, "localhost") == before
    # Pseudonymising (the source column alone) is what the guard lets through.
    async with inst.engines.writer.begin() as conn:
        await conn.execute(text("UPDATE audit_log SET source = 'p:x', source_pseudonymised = true"))
    assert [e.source for e in await entries(inst, "localhost")] == ["p:x"]
