"""Conformance mode: the settings a SyTest-like suite needs, never for production.

It takes two keys to turn on: a ``[testing]`` section with ``conformance =
true`` in the configuration *and* ``revier serve --conformance-mode`` on the
command line. Either alone refuses to start, so neither a stray section in a
production file nor a stray flag in a unit file opens registration.
"""

from __future__ import annotations

from revier.config import Settings
from revier.events.room_versions import KNOWN_ROOM_VERSIONS

WARNING = (
    "CONFORMANCE MODE: open registration (m.login.dummy), guest accounts, no rate "
    "limits. For protocol test suites only; never run this in production."
)


def conformance_mode(settings: Settings) -> bool:
    """Whether the settings ask for conformance mode (the flag was checked at start)."""
    return settings.testing is not None and settings.testing.conformance


def startup_problem(settings: Settings, *, flag: bool) -> str | None:
    """Why the server must not start with this flag and configuration, or None."""
    wanted = conformance_mode(settings)
    if settings.testing and settings.testing.clock_file and not wanted:
        return (
            "[testing] clock_file moves the server's clock, for tests only: it needs "
            "conformance = true and --conformance-mode as well; refusing to start"
        )
    if flag and not wanted:
        return (
            "--conformance-mode needs a [testing] section with conformance = true in the "
            "configuration (or REVIER_TESTING__CONFORMANCE=true); refusing to start"
        )
    if wanted and not flag:
        return (
            "the configuration has [testing] conformance = true, which is only for test "
            "suites; start with --conformance-mode to confirm, or remove the section"
        )
    if (
        wanted
        and settings.testing
        and settings.testing.default_room_version not in (KNOWN_ROOM_VERSIONS)
    ):
        return (
            f"[testing] default_room_version {settings.testing.default_room_version!r} "
            f"is not supported (supported: {', '.join(sorted(KNOWN_ROOM_VERSIONS))})"
        )
    return None
