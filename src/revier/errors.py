"""One exception per Matrix error code.

Any layer may raise these; only ``revier.api.errors`` knows which HTTP status
each one maps to. The tree mirrors the spec's "Common error codes" and the
codes individual endpoints define::

    MatrixError
    ├── Forbidden                M_FORBIDDEN
    │   ├── UserDeactivated      M_USER_DEACTIVATED
    │   └── UserSuspended        M_USER_SUSPENDED
    ├── UserLocked               M_USER_LOCKED
    ├── UnknownToken             M_UNKNOWN_TOKEN
    ├── MissingToken             M_MISSING_TOKEN
    ├── BadJson                  M_BAD_JSON
    ├── NotJson                  M_NOT_JSON
    ├── NotFound                 M_NOT_FOUND
    ├── LimitExceeded            M_LIMIT_EXCEEDED
    ├── Unrecognized             M_UNRECOGNIZED
    ├── Unknown                  M_UNKNOWN
    ├── MissingParam             M_MISSING_PARAM
    ├── InvalidParam             M_INVALID_PARAM
    ├── TooLarge                 M_TOO_LARGE
    ├── UserInUse / InvalidUsername / RoomInUse / ...
    └── ...
"""

from __future__ import annotations

from typing import Any, ClassVar


class MatrixError(Exception):
    """Base of every error a client may see; ``errcode`` is the spec's name."""

    errcode: ClassVar[str] = "M_UNKNOWN"

    def __init__(self, error: str = "", **extra: Any) -> None:
        super().__init__(error or self.errcode)
        self.error = error or self.errcode
        # Extra top-level fields of the error body (retry_after_ms, soft_logout, …).
        self.extra: dict[str, Any] = extra

    def to_json(self) -> dict[str, Any]:
        return {"errcode": self.errcode, "error": self.error, **self.extra}


class Forbidden(MatrixError):
    errcode = "M_FORBIDDEN"


class UserDeactivated(Forbidden):
    errcode = "M_USER_DEACTIVATED"


class UserSuspended(Forbidden):
    """Spec "Account suspension": 403 on what a suspended account may not do."""

    errcode = "M_USER_SUSPENDED"

    def __init__(self, error: str = "You cannot perform this action while suspended.") -> None:
        super().__init__(error)


class UserLocked(MatrixError):
    """Spec "Account locking": 401 on every request but logout. ``soft_logout``
    true: the client keeps its session and keys and retries, so that lifting the
    lock restores the session as it was."""

    errcode = "M_USER_LOCKED"

    def __init__(self, error: str = "This account has been locked") -> None:
        super().__init__(error, soft_logout=True)


class UnknownToken(MatrixError):
    errcode = "M_UNKNOWN_TOKEN"

    def __init__(self, error: str = "Unknown access token", *, soft_logout: bool = False) -> None:
        # soft_logout=false tells clients to throw their local data away: the
        # device is gone, not merely expired.
        super().__init__(error, soft_logout=soft_logout)


class MissingToken(MatrixError):
    errcode = "M_MISSING_TOKEN"


class BadJson(MatrixError):
    errcode = "M_BAD_JSON"


class NotJson(MatrixError):
    errcode = "M_NOT_JSON"


class NotFound(MatrixError):
    errcode = "M_NOT_FOUND"


class LimitExceeded(MatrixError):
    errcode = "M_LIMIT_EXCEEDED"

    def __init__(self, error: str = "Too many requests", *, retry_after_ms: int) -> None:
        super().__init__(error, retry_after_ms=retry_after_ms)
        self.retry_after_ms = retry_after_ms


class ServerBusy(MatrixError):
    """No database connection came free in time: the server is overloaded, the
    request itself was fine. Answered 503 with Retry-After; clients retry (Element's
    sync loop backs off on any 5xx) instead of seeing a 500 for a bug."""

    errcode = "M_UNKNOWN"

    def __init__(
        self,
        error: str = "The server is too busy to answer now; try again in a moment",
        *,
        retry_after_ms: int = 1000,
    ) -> None:
        super().__init__(error)
        self.retry_after_ms = retry_after_ms


class Unrecognized(MatrixError):
    errcode = "M_UNRECOGNIZED"


class MethodNotAllowed(Unrecognized):
    """M_UNRECOGNIZED with 405: the path exists, the method does not."""


class Unknown(MatrixError):
    errcode = "M_UNKNOWN"


class AlreadyExists(Unknown):
    """M_UNKNOWN with 409: the name is taken (PUT /directory/room for an existing alias)."""


class MissingParam(MatrixError):
    errcode = "M_MISSING_PARAM"


class InvalidParam(MatrixError):
    errcode = "M_INVALID_PARAM"


class DuplicateAnnotation(MatrixError):
    """A second identical annotation (reaction) of one sender on one event."""

    errcode = "M_DUPLICATE_ANNOTATION"


class TooLarge(MatrixError):
    errcode = "M_TOO_LARGE"


class UserInUse(MatrixError):
    errcode = "M_USER_IN_USE"


class InvalidUsername(MatrixError):
    errcode = "M_INVALID_USERNAME"


class WeakPassword(MatrixError):
    errcode = "M_WEAK_PASSWORD"


class RoomInUse(MatrixError):
    errcode = "M_ROOM_IN_USE"


class InvalidRoomState(MatrixError):
    errcode = "M_INVALID_ROOM_STATE"


class UnsupportedRoomVersion(MatrixError):
    errcode = "M_UNSUPPORTED_ROOM_VERSION"


class IncompatibleRoomVersion(MatrixError):
    errcode = "M_INCOMPATIBLE_ROOM_VERSION"


class BadState(MatrixError):
    errcode = "M_BAD_STATE"


class GuestAccessForbidden(MatrixError):
    errcode = "M_GUEST_ACCESS_FORBIDDEN"


class NotYetUploaded(MatrixError):
    errcode = "M_NOT_YET_UPLOADED"


class CannotOverwriteMedia(MatrixError):
    errcode = "M_CANNOT_OVERWRITE_MEDIA"


class ResourceLimitExceeded(MatrixError):
    errcode = "M_RESOURCE_LIMIT_EXCEEDED"


class Exclusive(MatrixError):
    errcode = "M_EXCLUSIVE"


class InvalidSignature(Forbidden):
    """An event or key whose signature does not verify (spec: treated as M_FORBIDDEN)."""


class AuthError(Forbidden):
    """An event rejected by the room version's authorization rules."""


class KeySignatureInvalid(MatrixError):
    """M_INVALID_SIGNATURE for a client's key upload: bad input (400), not a refusal."""

    errcode = "M_INVALID_SIGNATURE"


class UnknownPos(MatrixError):
    """A sliding-sync ``pos`` this server can't continue from: the client starts over."""

    errcode = "M_UNKNOWN_POS"


class WrongRoomKeysVersion(MatrixError):
    """A key backup write to a version that is not the current one; names the current one."""

    errcode = "M_WRONG_ROOM_KEYS_VERSION"


class UserInteractiveAuthRequired(MatrixError):
    """401 with the user-interactive auth flows object instead of an error body.

    ``flows_body`` is the whole response: ``flows``, ``params``, ``session``,
    ``completed`` and, after a failed stage, ``errcode``/``error``.
    """

    errcode = "M_FORBIDDEN"

    def __init__(self, flows_body: dict[str, Any]) -> None:
        super().__init__(flows_body.get("error", "Additional authentication required"))
        self.flows_body = flows_body

    def to_json(self) -> dict[str, Any]:
        return self.flows_body


class BadAlias(MatrixError):
    """An ``m.room.canonical_alias`` names an alias that doesn't point to the room."""

    errcode = "M_BAD_ALIAS"


class ClientOutdated(MatrixError):
    """The tenant requires a newer version of this client (``min_client_versions``).

    Not M_FORBIDDEN: Element Web/Desktop and Element X show any 401/403 at login as
    "Incorrect username or password", which would send the user to the help desk
    about their password; a 400 with this code shows as an error naming the code.
    """

    errcode = "DE.REVIER_CLIENT_OUTDATED"

    def __init__(self, client: str, have: str, needed: str) -> None:
        super().__init__(
            f"{client} {have} is too old for this organisation: "
            f"update {client} to version {needed} or newer",
            **{"de.revier.client": client, "de.revier.min_version": needed},
        )
