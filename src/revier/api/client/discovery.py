"""Server discovery and feature negotiation: /versions, .well-known, /capabilities."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revier import __version__
from revier.api.http import authenticate, services, tenant
from revier.api.responses import json_response
from revier.errors import NotFound
from revier.events.room_versions import KNOWN_ROOM_VERSIONS

# The spec releases whose client-server API revier serves. A client reads the
# highest one as a promise of every endpoint up to it (matrix-rust-sdk picks
# paths that way; matrix-js-sdk needs at least v1.1 and switches authenticated
# media on at v1.11), so the list stops at v1.12, the release whose endpoints
# revier has. v1.13 would make Element X offer "report room", v1.15 room
# summaries — add them with those endpoints. (v1.3 and v1.4 promise /relations
# and /threads, which matrix-js-sdk uses for threads from v1.4 on.)
SPEC_VERSIONS = ["r0.6.1", *(f"v1.{minor}" for minor in range(1, 13))]

# What revier implements beyond those releases, in the names clients look for.
# Each flag switches something on in a client, so none is listed before its
# endpoints exist (tests/integration/test_versions.py probes each one). Left out
# on purpose: custom profile fields (uk.tcpip.msc4133.stable: Element would
# publish a time zone, which revier refuses), QR sign-in (org.matrix.msc4108:
# needs OAuth 2.0).
UNSTABLE_FEATURES: dict[str, bool] = {
    # Cross-signing (/keys/device_signing/upload, /keys/signatures/upload):
    # Element Web sets up cross-signing and key backup by itself at a new
    # account's first sign-in only when it sees this flag (older 1.12.x builds;
    # newer ones also accept v1.1).
    "org.matrix.e2e_cross_signing": True,
    # Private read receipts (m.read.private): matrix-js-sdk sends them in
    # /read_markers, and Element Web offers "don't send read receipts".
    "org.matrix.msc2285.stable": True,
    # Threads (/relations, /threads, the m.thread summary), for clients that look
    # for the flag rather than at v1.4.
    "org.matrix.msc3440.stable": True,
    # room_types in the POST /publicRooms filter: Element Web asks for spaces only.
    "org.matrix.msc3827.stable": True,
    # Authenticated media (/_matrix/client/v1/media/*) for clients built on
    # matrix-rust-sdk, besides v1.11.
    "org.matrix.msc3916.stable": True,
    # Simplified sliding sync (api/client/sliding_sync.py): Element X refuses a
    # server without it.
    "org.matrix.simplified_msc3575": True,
}

# The e2ee_forced flags tell Element that the server encrypts new rooms of a
# kind whatever the client asks: it then shows encryption as on and hides the
# switch. They follow the tenant's room_encryption policy (every kind alike).
_E2EE_FORCED = (
    "io.element.e2ee_forced.public",
    "io.element.e2ee_forced.private",
    "io.element.e2ee_forced.trusted_private",
)


async def get_versions(request: Request) -> Response:
    """GET /_matrix/client/versions: per tenant (the Host decides), as policies differ."""
    forced = tenant(request).policy.room_encryption in ("default", "required")
    features = {**UNSTABLE_FEATURES, **dict.fromkeys(_E2EE_FORCED, forced)}
    return json_response(
        {"versions": SPEC_VERSIONS, "unstable_features": features},
        headers={"Vary": "Host"},
    )


async def get_wellknown(request: Request) -> Response:
    """GET /.well-known/matrix/client"""
    base_url = services(request).settings.public_baseurl
    return json_response({"m.homeserver": {"base_url": base_url}})


async def get_wellknown_support(request: Request) -> Response:
    """GET /.well-known/matrix/support: the tenant's support contacts (``[tenants.support]``)."""
    support = tenant(request).settings.support
    if support is None:
        raise NotFound("No support information is configured for this server")
    return json_response(support.well_known(), headers={"Vary": "Host"})


async def get_capabilities(request: Request) -> Response:
    """GET /_matrix/client/v3/capabilities"""
    requester = await authenticate(request)
    room_versions = {
        # Every version revier creates and joins is stable; older ones it refuses.
        "default": services(request).rooms.default_room_version,
        "available": dict.fromkeys(sorted(KNOWN_ROOM_VERSIONS, key=int), "stable"),
    }
    capabilities: dict[str, object] = {
        "m.room_versions": room_versions,
        "m.change_password": {"enabled": True},
        "m.set_displayname": {"enabled": True},
        "m.set_avatar_url": {"enabled": True},
        "m.3pid_changes": {"enabled": False},
        # Whether POST /login/get_token works for this user (the tenant's policy).
        "m.get_login_token": {
            "enabled": requester.tenant.policy.login_token and not requester.is_guest
        },
    }
    if requester.is_admin:
        # The spec omits it for everyone who may do neither (/admin/lock, /admin/suspend).
        capabilities["m.account_moderation"] = {"lock": True, "suspend": True}
    return json_response({"capabilities": capabilities})


async def get_server_version(_request: Request) -> Response:
    """GET /_revier/version: revier's own version (not part of the Matrix API)."""
    return json_response({"server": {"name": "revier", "version": __version__}})


routes = [
    Route("/_matrix/client/versions", get_versions, methods=["GET"]),
    Route("/.well-known/matrix/client", get_wellknown, methods=["GET"]),
    Route("/.well-known/matrix/support", get_wellknown_support, methods=["GET"]),
    Route("/_matrix/client/v3/capabilities", get_capabilities, methods=["GET"]),
    Route("/_matrix/client/r0/capabilities", get_capabilities, methods=["GET"]),
]
