"""The ASGI application: routes, middleware, start-up and shut-down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from revier.api import scim
from revier.api.admin import audit as admin_audit
from revier.api.admin import client_versions as admin_client_versions
from revier.api.admin import devices as admin_devices
from revier.api.admin import directory as admin_directory
from revier.api.admin import media as admin_media
from revier.api.admin import openapi, server_info
from revier.api.admin import push as admin_push
from revier.api.admin import registration_tokens as admin_registration_tokens
from revier.api.admin import reports as admin_reports
from revier.api.admin import rooms as admin_rooms
from revier.api.admin import signin as admin_signin
from revier.api.admin import units as admin_units
from revier.api.admin import users as admin_users
from revier.api.client import (
    account,
    account_data,
    devices,
    directory,
    discovery,
    ephemeral,
    key_backup,
    keys,
    login,
    media,
    membership,
    openid,
    presence,
    profiles,
    push_rules,
    pushers,
    registration,
    relations,
    reporting,
    retention,
    room_discovery,
    room_history,
    room_upgrades,
    rooms,
    search,
    server_admin,
    sliding_sync,
    sync,
    tags,
    thirdparty,
    threads,
    to_device,
    voip,
)
from revier.api.endpoints import lean_endpoints
from revier.api.federation import openid as federation_openid
from revier.api.middleware import RevierMiddleware
from revier.api.oauth import endpoints as oauth_endpoints
from revier.api.oauth import metadata as oauth_metadata
from revier.api.operations import health, metrics_endpoint
from revier.api.route_index import index_static_routes
from revier.api.web import account as account_page
from revier.api.web import account_factors as account_factors_page
from revier.api.web import oauth_authorize as oauth_authorize_page
from revier.api.web import oauth_device as oauth_device_page
from revier.api.web import oauth_reset as oauth_reset_page
from revier.api.web import signin as signin_page
from revier.api.web import signin_factor as signin_factor_page
from revier.api.web import webauthn as webauthn_page
from revier.api.web import wipe as wipe_page
from revier.config import ADMIN_PASSWORD_ENV, Settings, StartupRefused
from revier.conformance import conformance_mode
from revier.errors import MatrixError
from revier.services.container import Services, build_services
from revier.services.core import AdjustableClock, check_tenants_kept
from revier.storage import Store
from revier.storage.datadir import prepare_data_dir
from revier.storage.engine import create_engines, migrate, schema_revisions, sqlite_file

log = structlog.get_logger("revier")


def routes(settings: Settings) -> list[BaseRoute]:
    out: list[BaseRoute] = [Route("/health", health, methods=["GET"])]
    if settings.metrics.enabled and settings.metrics.port is None:
        out.append(
            Route(settings.metrics.path, metrics_endpoint(settings.metrics), methods=["GET"])
        )
    for module in (
        discovery,
        login,
        registration,
        account,
        devices,
        rooms,
        room_upgrades,
        room_discovery,
        membership,
        sync,
        sliding_sync,
        room_history,
        relations,
        threads,
        search,
        reporting,
        server_admin,
        directory,
        profiles,
        ephemeral,
        account_data,
        tags,
        thirdparty,
        push_rules,
        pushers,
        presence,
        keys,
        to_device,
        key_backup,
        media,
        openid,
        voip,
        retention,
        federation_openid,
        server_info,
        admin_audit,
        admin_registration_tokens,
        admin_media,
        admin_devices,
        admin_rooms,
        admin_users,
        admin_signin,
        admin_reports,
        admin_directory,
        admin_push,
        admin_units,
        admin_client_versions,
        scim,
        openapi,
        wipe_page,
        signin_page,
        account_page,
        account_factors_page,
        signin_factor_page,
        webauthn_page,
        oauth_metadata,
        oauth_endpoints,
        oauth_authorize_page,
        oauth_device_page,
        oauth_reset_page,
    ):
        out.extend(module.routes)
    lean_endpoints(out)
    return out


async def start_services(settings: Settings) -> Services:
    """Open the database, bring its schema up to date, build the services.

    Refuses (``StartupRefused``) a database that a newer revier has migrated, and
    a configuration that no longer names a tenant the database holds — before a
    signing key or an admin is made for the wrong name.
    """
    prepare_data_dir(settings.server.data_dir)
    engines = create_engines(settings.database_url)
    store = Store(engines)
    try:
        await migrate(engines)
        await check_tenants_kept(store, settings)
    except BaseException:
        await store.close()
        raise
    store.start_checkpoints()
    return build_services(settings, store)


async def has_database(settings: Settings) -> bool:
    """Whether the configured database holds revier's schema; creates nothing."""
    path = sqlite_file(settings.database_url)
    if path is not None and not path.is_file():
        return False
    engines = create_engines(settings.database_url)
    try:
        return bool(await schema_revisions(engines))
    finally:
        await engines.dispose()


def metrics_app(settings: Settings) -> Starlette:
    """The metrics alone, for a listener of their own (``metrics.port``)."""
    endpoint = metrics_endpoint(settings.metrics)
    return Starlette(routes=[Route(settings.metrics.path, endpoint, methods=["GET"])])


def create_app(settings: Settings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        svc = await start_services(settings)
        background: list[asyncio.Task[None]] = []
        try:
            await svc.notifier.start()
            app.state.services = svc
            await _bootstrap_admins(svc)
            await svc.audit.note_policies()
            background = [
                asyncio.create_task(svc.audit.run_pseudonymiser()),
                asyncio.create_task(svc.deactivation.resume_pending()),
                asyncio.create_task(svc.room_admin.resume_pending()),
                asyncio.create_task(svc.units.start()),
                asyncio.create_task(svc.push_sender.run()),
                asyncio.create_task(svc.retention_purger.run()),
                asyncio.create_task(svc.org_directory.sync.run_periodic()),
            ]
            if isinstance(svc.clock, AdjustableClock):  # test mode: time moved by the tests
                svc.clock.add_listener(svc.push_sender.wake)
                svc.clock.add_listener(svc.retention_purger.wake)
                background.append(asyncio.create_task(svc.clock.watch()))
            yield
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await svc.deactivation.stop()
            await svc.room_admin.stop()
            await svc.unit_work.stop()
            await svc.notifier.close()
            await svc.store.close()

    app = Starlette(routes=routes(settings), lifespan=lifespan)
    index_static_routes(app.router)
    # Our one middleware straight onto the route lookup, set before Starlette's
    # first request would build its stack of error and exception middleware:
    # RevierMiddleware answers what those would (see its module), and each of
    # theirs is a frame more held by every parked long-poll.
    app.middleware_stack = RevierMiddleware(
        app.router.middleware_stack,
        access_log=settings.logging.access_log,
        url_tokens=conformance_mode(settings),
    )
    return app


async def _bootstrap_admins(svc: Services) -> None:
    password = svc.settings.initial_admin_password
    for tenant in svc.tenants:
        try:
            created = await svc.accounts.bootstrap_admin(
                tenant, password.get_secret_value() if password else None
            )
        except MatrixError as e:  # a weak password, or initial_admin not a valid user name
            raise StartupRefused(
                f"can't create the first admin {tenant.user_id(tenant.settings.initial_admin)}: "
                f"{e.error}. Choose another {ADMIN_PASSWORD_ENV} (or leave it unset to be "
                "given a random one)"
            ) from None
        if created is None:
            continue
        log.info(
            "created the first admin account", user_id=created.user_id, tenant=tenant.server_name
        )
        if created.password is not None:
            # Printed once, to the terminal of whoever started the server; never logged.
            print(
                f"\n  First start: created admin account {created.user_id}\n"
                f"  Password (shown only now): {created.password}\n"
                "  Change it after logging in (or set REVIER_ADMIN_PASSWORD before the\n"
                "  first start to choose it yourself).\n",
                flush=True,
            )
