"""Which endpoints a guest account may use (spec module "Guest access").

Checked in one place, ``authenticate()``, by the name of the handler the
route resolved to: a new endpoint is closed to guests until it is listed
here, which is the safe default.
"""

from __future__ import annotations

from starlette.requests import Request

from revier.errors import GuestAccessForbidden

GUEST_HANDLERS = frozenset(
    {
        # Retrieving events and media.
        "get_room_state",
        "get_room_state_with_key",
        "get_event_context",
        "get_one_room_event",
        "get_room_events",
        "get_members_by_room",
        "sync",
        # The same for clients that sync the sliding way (Element X).
        "sliding_sync",
        "get_content_authed",
        "get_content_thumbnail_authed",
        # Sending events.
        "join_room",
        "leave_room",
        "send_message",
        "set_room_state",
        "send_to_device",
        # Account maintenance: the display name only.
        "set_profile_field",
        "delete_profile_field",
        "get_devices",
        "get_device",
        "update_device",
        "get_token_owner",
        # End-to-end encryption.
        "upload_keys",
        "query_keys",
        "claim_keys",
    }
)
_PROFILE_HANDLERS = frozenset({"set_profile_field", "delete_profile_field"})


def require_guest_allowed(request: Request) -> None:
    """Raise M_GUEST_ACCESS_FORBIDDEN unless a guest may call this endpoint."""
    endpoint = request.scope.get("endpoint")
    name = getattr(endpoint, "__name__", "")
    if name not in GUEST_HANDLERS:
        raise GuestAccessForbidden("Guest accounts can't use this endpoint")
    if name in _PROFILE_HANDLERS and request.path_params.get("keyName") != "displayname":
        raise GuestAccessForbidden("Guest accounts may change only their display name")
