"""The ceiling: a raw ASGI app on uvicorn (uvloop, httptools) answering sends at once.

It reads the body like a server must and answers a fixed event id: no auth, no
storage. The send scenario against it is the most any Python server can do on
this HTTP stack. ``python -m bench.ceiling PORT``.
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn

_SENT = b'{"event_id":"$ceiling"}'
_VERSIONS = b'{"versions":["v1.11"]}'


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:  # drain the request body
        message = await receive()
        more = message.get("more_body", False)
    body = _SENT if scope["method"] == "PUT" else _VERSIONS
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="auto",
        http="auto",
        log_level="warning",
        access_log=False,
        server_header=False,
        lifespan="off",
    )
