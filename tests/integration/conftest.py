"""Fixtures: a real revier process per database engine, users, logged-in clients.

The server is started once per engine and shared by the tests of a session;
every test makes its own users (unique names), so tests don't see each
other's data.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from argon2 import PasswordHasher
from nio import AsyncClient, LoginResponse

from tests.integration.admin_api import Admin, new_admin
from tests.integration.harness import PASSWORD, RevierProcess, server_env, write_config
from tests.integration.postgres import create_database, postgres_cluster


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" in metafunc.fixturenames:
        choice = metafunc.config.getoption("--db")
        engines = ["sqlite", "postgresql"] if choice == "both" else [choice]
        if metafunc.definition.get_closest_marker("one_engine"):
            # What it tests doesn't depend on the database: once is enough.
            engines = engines[:1]
        metafunc.parametrize("engine", engines, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The S3 media backend is tested on SQLite only: where the bytes go doesn't
    depend on where the metadata is, and the file backend covers PostgreSQL.
    With ``--engine-tests-only``, tests that don't run on an engine are left out."""
    engine_tests_only = config.getoption("--engine-tests-only")
    keep, drop = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        p = params.params if params else {}
        s3_on_postgresql = p.get("engine") == "postgresql" and p.get("media_server") == "s3"
        engine_less = "engine" not in p
        (drop if s3_on_postgresql or (engine_tests_only and engine_less) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    given = os.environ.get("REVIER_TEST_POSTGRES_DSN")
    if given:
        yield given
        return
    with postgres_cluster() as dsn:
        yield dsn


@pytest.fixture(scope="session")
def tmp_root() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="revier-test-") as d:
        yield Path(d)


def database_url(engine: str, request: pytest.FixtureRequest, data_dir: Path) -> str:
    if engine == "postgresql":
        dsn: str = request.getfixturevalue("pg_dsn")
        return create_database(dsn, "revier_" + secrets.token_hex(6))
    return f"sqlite:///{data_dir / 'revier.db'}"


def server_config(
    engine: str,
    request: pytest.FixtureRequest,
    root: Path,
    name: str,
    *,
    tenant_policy: dict[str, object] | None = None,
    extra_tenants: tuple[str | tuple[str, dict[str, Any]], ...] = (),
    tenant_sections: dict[str, dict[str, Any]] | None = None,
    **sections: dict[str, object],
) -> Path:
    """The configuration file of a new installation on a fresh database, in a data
    directory of its own under ``root`` (see ``write_config`` for the options)."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"{name}-{engine}-", dir=root))
    config = data_dir / "revier.toml"
    write_config(
        config,
        data_dir=data_dir,
        database_url=database_url(engine, request, data_dir),
        tenant_policy=tenant_policy,
        extra_tenants=extra_tenants,
        tenant_sections=tenant_sections,
        **sections,
    )
    return config


def start_server(
    engine: str,
    request: pytest.FixtureRequest,
    root: Path,
    name: str,
    *args: str,
    **options: Any,
) -> RevierProcess:
    """A revier process (``serve`` with ``args``) on a new installation: ``server_config``."""
    config = server_config(engine, request, root, name, **options)
    server = RevierProcess(data_dir=config.parent, config=config, env=server_env())
    server.start(*args)
    return server


@contextmanager
def running_server(
    engine: str, request: pytest.FixtureRequest, root: Path, name: str, *args: str, **options: Any
) -> Iterator[RevierProcess]:
    """``start_server(engine, request, root, name, *args, **options)``, stopped when the
    block ends."""
    server = start_server(engine, request, root, name, *args, **options)
    try:
        yield server
    finally:
        server.stop()


def server_fixture(
    name: str,
    *args: str,
    scope: Literal["session", "package", "module", "class", "function"] = "module",
    **options: Any,
) -> Any:
    """A fixture: a server of its own (``start_server(…, name, *args, **options)``) for
    the tests of ``scope``, stopped after them. Assign it to the fixture's name."""

    @pytest.fixture(scope=scope)
    def fixture(
        engine: str, request: pytest.FixtureRequest, tmp_root: Path
    ) -> Iterator[RevierProcess]:
        with running_server(engine, request, tmp_root, name, *args, **options) as server:
            yield server

    return fixture


# Rate limits loose enough for a suite's logins, but on.
LOOSE_LIMIT = {"per_second": 100, "burst": 1000}

# The shared server. Its rooms are encrypted as in production (room_encryption
# "default"), but its plain matrix-nio and httpx clients may still write messages in
# the clear there ("allow"): most modules test rooms, sync and receipts, not
# encryption. The production default ("refuse") is tested by test_encryption_enforced,
# and the modules driving real crypto (test_e2e, test_js_client) run on
# ``production_defaults`` servers of their own.
server = server_fixture(
    "main",
    scope="session",
    ratelimit__login_per_address=LOOSE_LIMIT,
    # Refused registrations count too: several modules probe the closed door.
    ratelimit__registration_per_address=LOOSE_LIMIT,
    tenant_policy={"plaintext_in_encrypted_rooms": "allow"},
)


def production_defaults(name: str) -> Any:
    """A module's own ``server`` with the tenant policy's defaults (encrypted rooms,
    no plaintext in them): assign it to ``server`` in the module."""
    return server_fixture(
        name,
        ratelimit__login_per_address=LOOSE_LIMIT,
        ratelimit__registration_per_address=LOOSE_LIMIT,
    )


# A server with two tenants, ``localhost`` and ``other.test``, for the tests of
# organisation control: an admin of one must not reach the other. Each tenant's
# first admin (``@admin:<tenant>``) has the password ``INITIAL_ADMIN_PASSWORD``;
# tests make their own admins (``create_user(..., "--admin")``, or the ``admin`` and
# ``other_admin`` fixtures) so that none of them runs into the device limit of
# another's logins. Like the shared server, it lets plain clients write in the clear.
org_server = server_fixture(
    "org",
    scope="session",
    extra_tenants=("other.test",),
    ratelimit__login_per_address=LOOSE_LIMIT,
    tenant_policy={"plaintext_in_encrypted_rooms": "allow"},
)


@pytest.fixture(scope="module")
def admin(org_server: RevierProcess) -> Admin:
    """An admin of ``localhost`` on ``org_server``, logged in, for one module: what it
    did in the audit log is that module's alone."""
    return new_admin(org_server)


@pytest.fixture(scope="module")
def other_admin(org_server: RevierProcess) -> Admin:
    """An admin of the other tenant, ``other.test``, on ``org_server``, for one module."""
    return new_admin(org_server, "other.test")


@dataclass
class Account:
    user_id: str
    localpart: str
    password: str


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One Argon2id hash of PASSWORD: accounts are imported with it instead of
    hashing the same password again for each of the suite's users."""
    return PasswordHasher().hash(PASSWORD)


# Accounts imported ahead, per server and name prefix: one admin process per
# batch instead of one per account.
_pools: dict[tuple[str, str], list[str]] = {}
_BATCH = 6


@pytest.fixture
def make_user(server: RevierProcess, password_hash: str):  # type: ignore[no-untyped-def]
    def make(prefix: str = "user", *extra: str, solo: bool = False) -> Account:
        """A fresh account named ``<prefix>-<random>``; ``solo``: made alone, so that
        no pooled sibling with the same prefix exists (for searches by name)."""
        if extra or solo:
            localpart = f"{prefix}-{secrets.token_hex(4)}"
            return Account(server.create_user(localpart, PASSWORD, *extra), localpart, PASSWORD)
        # Keyed by the server's data directory, not its URL: a later module's
        # server may get a stopped one's port, and must not be handed its users.
        pool = _pools.setdefault((str(server.data_dir), prefix), [])
        if not pool:
            pool.extend(
                server.import_users(
                    [f"{prefix}-{secrets.token_hex(4)}" for _ in range(_BATCH)], password_hash
                )
            )
        user_id = pool.pop()
        return Account(user_id, user_id[1:].split(":")[0], PASSWORD)

    return make


@pytest.fixture
async def http(server: RevierProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        yield client


async def nio_login(server: RevierProcess, user: Account, device_name: str = "test") -> AsyncClient:
    client = AsyncClient(server.url, user.user_id)
    response = await client.login(user.password, device_name=device_name)
    assert isinstance(response, LoginResponse), response
    return client


@pytest.fixture
async def alice(server: RevierProcess, make_user) -> AsyncIterator[AsyncClient]:  # type: ignore[no-untyped-def]
    client = await nio_login(server, make_user("alice"))
    yield client
    await client.close()


@pytest.fixture
async def bob(server: RevierProcess, make_user) -> AsyncIterator[AsyncClient]:  # type: ignore[no-untyped-def]
    client = await nio_login(server, make_user("bob"))
    yield client
    await client.close()


@pytest.fixture
async def eve(server: RevierProcess, make_user) -> AsyncIterator[AsyncClient]:  # type: ignore[no-untyped-def]
    client = await nio_login(server, make_user("eve"))
    yield client
    await client.close()
