"""ASGI middleware around every request: CORS, the URL-token guard, errors, access
log, metrics.

Plain ASGI rather than Starlette's BaseHTTPMiddleware: it adds no task per
request and does not buffer streaming responses (media downloads, long-poll).
It is the app's only middleware (``revier.app``): it answers what Starlette's
error and exception middleware would — the router's own 404 and 405, a Matrix
error raised outside a handler, anything else as a logged 500 — so a parked
long-poll's stack holds neither of theirs.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qsl

import orjson
import structlog
from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from revier.api.errors import error_response
from revier.api.federation.openid import USERINFO_PATH
from revier.errors import MatrixError
from revier.notify import ClientGone

log = structlog.get_logger("revier.access")
errors_log = structlog.get_logger("revier.api")

REQUESTS = Counter("revier_http_requests_total", "HTTP requests", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "revier_http_request_duration_seconds",
    "Time to answer HTTP requests (long-polls included)",
    ["method", "endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)

# Matrix clients (Element Web) call the API from other origins: the spec
# requires these headers on every response, preflights included.
CORS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, POST, PUT, DELETE, OPTIONS"),
    (
        b"access-control-allow-headers",
        b"X-Requested-With, Content-Type, Authorization, Date",
    ),
    (b"access-control-expose-headers", b"Content-Disposition, Retry-After"),
]

_TOKEN_IN_URL = orjson.dumps(
    {
        "errcode": "M_MISSING_TOKEN",
        "error": "Access tokens in the URL are refused: they end up in logs and browser "
        "history. Send the token in the 'Authorization: Bearer' header instead.",
    }
)


_INTERNAL_ERROR = orjson.dumps({"errcode": "M_UNKNOWN", "error": "Internal server error"})


class RevierMiddleware:
    def __init__(self, app: ASGIApp, *, access_log: bool = True, url_tokens: bool = False) -> None:
        self.app = app
        self.access_log = access_log
        # Conformance mode only: the spec's deprecated ?access_token= is let through
        # to authenticate() (SyTest sends it); production refuses it here.
        self.url_tokens = url_tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        answered = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
                message["headers"] = [*message.get("headers", []), *CORS_HEADERS]
            await send(message)

        try:
            if scope["method"] == "OPTIONS":
                await _reply(send_with_headers, 204, b"")
            elif not self.url_tokens and _has_url_token(scope) and scope["path"] != USERINFO_PATH:
                # The OpenID userinfo endpoint carries its short-lived OpenID token
                # in the query by the spec: no access token is accepted there.
                await _reply(send_with_headers, 401, _TOKEN_IN_URL)
            else:
                await self.app(scope, receive, send_with_headers)
        except ClientGone:
            # A long-poll whose client hung up: there is no one to answer. Counted
            # as nginx's 499, "client closed request", not as an error.
            status = 499
        except (MatrixError, HTTPException) as exc:
            # The router's 404 and 405, or a Matrix error raised outside a handler
            # (``Endpoint`` answers a handler's own): the spec's error JSON.
            if not answered:
                await error_response(exc)(scope, receive, send_with_headers)
        except Exception as exc:
            # Handled here, not by Starlette's outermost error middleware: that one
            # re-raises after answering, and the server then logs the error twice
            # and drops the client's keep-alive connection with it. The operator
            # gets the traceback once; the client learns nothing internal.
            errors_log.error("unhandled error", path=scope["path"], exc_info=exc)
            status = 500
            if not answered:
                await _reply(send_with_headers, 500, _INTERNAL_ERROR)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        endpoint = getattr(scope.get("endpoint"), "__name__", "unmatched")
        REQUESTS.labels(scope["method"], endpoint, str(status)).inc()
        LATENCY.labels(scope["method"], endpoint).observe(seconds)
        if self.access_log:
            client = scope.get("client")
            # The path only: a query string may carry secrets (that is why
            # a URL token is refused), and it is never written to a log.
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                ms=round(seconds * 1000, 1),
                client=client[0] if client else None,
                user=scope.get("revier.user_id"),
            )


def _has_url_token(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    if b"access_token" not in query:
        return False
    return any(k == "access_token" for k, _ in parse_qsl(query.decode("latin-1"), True))


async def _reply(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    if body:
        headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
