"""``revier serve``: run the server until interrupted."""

from __future__ import annotations

import argparse

from revier.config import Settings


def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    from revier.server import run  # it refuses a conformance mode half switched on

    overrides: dict[str, object] = {}
    if args.host:
        overrides["bind_address"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if overrides:
        settings = settings.model_copy(
            update={"server": settings.server.model_copy(update=overrides)}
        )
    return run(settings, conformance_mode=args.conformance_mode)
