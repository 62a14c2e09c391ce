"""The one place that maps Matrix errors to HTTP statuses and error JSON."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import Response

from revier import errors as e
from revier.api.responses import json_response

STATUS: dict[type[e.MatrixError], int] = {
    e.Forbidden: 403,
    e.UserDeactivated: 403,
    e.UserSuspended: 403,
    e.UserLocked: 401,
    e.InvalidSignature: 403,
    e.AuthError: 403,
    e.GuestAccessForbidden: 403,
    e.UnknownToken: 401,
    e.MissingToken: 401,
    e.UserInteractiveAuthRequired: 401,
    e.NotFound: 404,
    e.Unrecognized: 404,
    e.MethodNotAllowed: 405,
    e.LimitExceeded: 429,
    e.ServerBusy: 503,
    e.TooLarge: 413,
    e.ResourceLimitExceeded: 403,
    e.Exclusive: 400,
    e.UserInUse: 400,
    e.InvalidUsername: 400,
    e.WeakPassword: 400,
    e.RoomInUse: 400,
    e.InvalidRoomState: 400,
    e.UnsupportedRoomVersion: 400,
    e.IncompatibleRoomVersion: 400,
    e.BadState: 400,
    e.NotYetUploaded: 504,
    e.CannotOverwriteMedia: 409,
    e.WrongRoomKeysVersion: 403,
    e.UnknownPos: 400,
    e.AlreadyExists: 409,
    e.Unknown: 400,
    e.BadAlias: 400,
    e.ClientOutdated: 400,
}


def status_for(error: e.MatrixError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400  # M_BAD_JSON, M_NOT_JSON, M_MISSING_PARAM, M_INVALID_PARAM, …


def error_headers(exc: e.MatrixError) -> dict[str, str]:
    """HTTP headers an error answer carries: ``Retry-After`` (whole seconds) on a
    rate limit or an overload, for clients and proxies that don't read the JSON."""
    if isinstance(exc, e.LimitExceeded | e.ServerBusy):
        return {"Retry-After": str(max(1, (exc.retry_after_ms + 999) // 1000))}
    return {}


def error_response(exc: e.MatrixError | HTTPException) -> Response:
    """A Matrix error, or Starlette's own 404/405 (no route, wrong method), as the
    spec's error JSON with its HTTP status."""
    if isinstance(exc, e.MatrixError):
        return json_response(exc.to_json(), status=status_for(exc), headers=error_headers(exc))
    if exc.status_code == 405:
        error: e.MatrixError = e.MethodNotAllowed("This method is not allowed on this path")
    elif exc.status_code == 404:
        error = e.Unrecognized("Unrecognized request: no such endpoint")
    else:
        error = e.Unknown(str(exc.detail))
    return json_response(error.to_json(), status=exc.status_code, headers=exc.headers)
