"""Checking POST /pushers/set (spec: "Push notifications", ``postPusher``).

Everything is checked before anything is stored, so a refused request changes
nothing (Synapse deletes other users' pushers before it validates). Lengths
follow the spec's ("Max length, 64 chars", "512 bytes") and stay far above real
values (an APNs token is 44 characters, an FCM token about 160); ``data`` is
capped at 4 KiB like Sygnal's request bodies, since it travels in every push.

The gateway URL must be one of the tenant's ``push_gateways``: a pusher is the
one thing a client can make the server contact, and nothing else may be
reached that way (no SSRF).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from revier.config_push import gateway_origin
from revier.errors import BadJson, InvalidParam, MissingParam

PUSH_PATH = "/_matrix/push/v1/notify"
MAX_APP_ID_CHARS = 64
MAX_PUSHKEY_BYTES = 512
MAX_TEXT_CHARS = 256
MAX_DATA_BYTES = 4096
_TEXT_FIELDS = ("app_display_name", "device_display_name", "lang")


@dataclass(frozen=True, slots=True)
class PusherRequest:
    """A valid /pushers/set body. ``kind`` None: delete the pusher."""

    kind: str | None
    app_id: str
    pushkey: str
    app_display_name: str = ""
    device_display_name: str = ""
    lang: str = ""
    profile_tag: str | None = None
    data: dict[str, Any] | None = None
    append: bool = False


def validate_pusher_request(body: dict[str, Any], allowed_gateways: list[str]) -> PusherRequest:
    """The request, or ``MissingParam`` / ``BadJson`` / ``InvalidParam`` saying what is wrong.

    ``allowed_gateways`` are the tenant's ``push_gateways`` (``scheme://host:port``)."""
    missing = [k for k in ("kind", "app_id", "pushkey") if k not in body]
    if missing:
        raise MissingParam(f"Missing parameters: {', '.join(missing)}")
    app_id, pushkey = _text(body, "app_id"), _text(body, "pushkey")
    if len(app_id) > MAX_APP_ID_CHARS:
        raise InvalidParam(f"'app_id' may be at most {MAX_APP_ID_CHARS} characters")
    if len(pushkey.encode()) > MAX_PUSHKEY_BYTES:
        raise InvalidParam(f"'pushkey' may be at most {MAX_PUSHKEY_BYTES} bytes")
    if not app_id or not pushkey:
        raise InvalidParam("'app_id' and 'pushkey' must not be empty")
    kind = body["kind"]
    if kind is None:  # rust-sdk deletes with exactly {app_id, pushkey, kind: null}
        return PusherRequest(None, app_id, pushkey)
    missing = [k for k in (*_TEXT_FIELDS, "data") if k not in body]
    if missing:
        raise MissingParam(f"Missing parameters: {', '.join(missing)}")
    if kind != "http":
        # Email pushers need email addresses, which revier does not keep.
        raise InvalidParam(f"Unsupported pusher kind {kind!r}: only 'http'")
    texts = {k: _text(body, k) for k in _TEXT_FIELDS}
    profile_tag = body.get("profile_tag")
    if profile_tag is not None:
        profile_tag = _text(body, "profile_tag")
    for name, value in (*texts.items(), ("profile_tag", profile_tag or "")):
        if len(value) > MAX_TEXT_CHARS:
            raise InvalidParam(f"'{name}' may be at most {MAX_TEXT_CHARS} characters")
    append = body.get("append", False)
    if not isinstance(append, bool):
        raise BadJson("'append' must be a boolean")
    data = _data(body["data"], allowed_gateways)
    return PusherRequest(
        kind, app_id, pushkey, **texts, profile_tag=profile_tag, data=data, append=append
    )


def _text(body: dict[str, Any], name: str) -> str:
    value = body[name]
    if not isinstance(value, str):
        raise BadJson(f"'{name}' must be a string")
    return value


def _data(data: Any, allowed_gateways: list[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadJson("'data' must be an object")
    if len(orjson.dumps(data)) > MAX_DATA_BYTES:
        raise InvalidParam(f"'data' may be at most {MAX_DATA_BYTES} bytes of JSON")
    url = data.get("url")
    if url is None:
        raise MissingParam("'data.url' is required for an http pusher")
    if not isinstance(url, str):
        raise BadJson("'data.url' must be a string")
    check_gateway_url(url, allowed_gateways)
    # The format is kept as given and echoed (sytest sets an unknown one); what a
    # push carries is decided by the tenant's push_content, not by it.
    return data


def check_gateway_url(url: str, allowed_gateways: list[str]) -> None:
    """``url`` is a push gateway of the tenant, with the spec's path."""
    parsed = urlsplit(url)
    if parsed.path != PUSH_PATH:
        raise InvalidParam(f"'url' must have a path of '{PUSH_PATH}'")
    if parsed.query or parsed.fragment:
        raise InvalidParam("'url' must have no query or fragment")
    try:
        origin = gateway_origin(f"{parsed.scheme}://{parsed.netloc}")
    except ValueError:
        origin = None
    if origin is None or origin not in allowed_gateways:
        raise InvalidParam(
            "This organisation sends push notifications only to its own push gateway; "
            f"{url!r} is not one of them"
        )
