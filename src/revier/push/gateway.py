"""What a push says to the push gateway (spec: push gateway API, ``/notify``).

With the tenant's ``push_content = "none"`` (the default) every push has the
``event_id_only`` shape, whatever the pusher's ``format``: the event and room
IDs, the priority and the unread count — never the type, the sender, a
display name, a room name or content. The phone fetches the event over its own
authenticated connection (Element X does: sliding sync, then ``/context``).
No ``type`` key at all: Sygnal treats a push as event-ID-only exactly when
``event_id`` is there and ``type`` is not.

A tenant may allow more ("metadata", "full") to pushers that don't ask for
``event_id_only``; encrypted content never leaves, in any mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

PushContent = Literal["none", "metadata", "full"]
ENCRYPTED = "m.room.encrypted"


@dataclass(frozen=True, slots=True)
class PushedEvent:
    """The event a push is about; names and content only for a tenant that allows them."""

    event_id: str
    room_id: str
    type: str
    sender: str
    sender_display_name: str | None = None
    room_name: str | None = None
    content: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class PushDevice:
    """The pusher as the gateway sees it, encoded once: every push to it carries
    the same entry. ``data`` goes without ``url`` (spec: the server MUST forward
    everything else, e.g. Element X's ``default_payload``)."""

    json: bytes
    event_id_only: bool  # the pusher asked for the event_id_only format

    @classmethod
    def of(cls, app_id: str, pushkey: str, pushkey_ts_ms: int, data: dict[str, Any]) -> PushDevice:
        entry = {
            "app_id": app_id,
            "pushkey": pushkey,
            "pushkey_ts": pushkey_ts_ms // 1000,  # seconds, like Synapse
            "data": {k: v for k, v in data.items() if k != "url"},
        }
        return cls(orjson.dumps(entry), data.get("format") == "event_id_only")


def event_push(
    event: PushedEvent,
    device: PushDevice,
    *,
    unread: int,
    highlight: bool,
    content: PushContent,
    high: bool = False,
) -> bytes:
    """The body of one push about one event, for one pusher.

    ``prio`` is high for encrypted events and highlights (Synapse's rule; the
    phone must fetch and decrypt to know more, and Android delays low-priority
    messages); ``high`` makes any push high (the one at the start of duty).
    ``counts.unread`` is sent even when 0 — the spec says to omit zero counts,
    but Sygnal only touches the iOS badge when it is present.
    """
    notification: dict[str, Any] = {
        "event_id": event.event_id,
        "room_id": event.room_id,
        "prio": "high" if high or highlight or event.type == ENCRYPTED else "low",
        "counts": {"unread": unread},
    }
    device_json = device.json
    if content != "none" and not device.event_id_only:
        notification["type"] = event.type
        notification["sender"] = event.sender
        if event.sender_display_name is not None:
            notification["sender_display_name"] = event.sender_display_name
        if event.room_name is not None:
            notification["room_name"] = event.room_name
        if content == "full" and event.type != ENCRYPTED and event.content is not None:
            notification["content"] = event.content
        entry = orjson.loads(device_json)
        entry["tweaks"] = {"highlight": True} if highlight else {}
        device_json = orjson.dumps(entry)
    # The device entry is spliced in as it was encoded: one pusher, many pushes.
    head = orjson.dumps(notification)[:-1]
    return b'{"notification":' + head + b',"devices":[' + device_json + b"]}}"


def rejected_pushkeys(body: bytes) -> list[str] | None:
    """The ``rejected`` list of a gateway's answer; None if the answer is not the
    spec's JSON object (then the push counts as failed, as in Synapse)."""
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(answer, dict):
        return None
    rejected = answer.get("rejected", [])
    if not isinstance(rejected, list):
        return None
    return [key for key in rejected if isinstance(key, str)]
