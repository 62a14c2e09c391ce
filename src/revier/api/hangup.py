"""Whether a request's client is still there: the ``Hangup`` of its connection.

The server (``revier.server``) puts it in the ASGI scope as the extension
``revier.hangup``; a long-poll hands it to the notifier so that a client which
drops its connection ends the wait at once. Under another server (or an
in-process test client) there is none, and a wait runs to its timeout.
"""

from __future__ import annotations

from typing import cast

from starlette.requests import Request

from revier.notify import Hangup

HANGUP = "revier.hangup"


def hangup_of(request: Request) -> Hangup | None:
    extension = request.scope.get("extensions", {}).get(HANGUP)
    return cast(Hangup, extension["connection"]) if extension else None
