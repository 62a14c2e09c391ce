"""Structured logs: readable lines for people, JSON lines for collectors."""

from __future__ import annotations

import logging
import sys
from typing import TextIO, cast

import structlog

from revier.config import LoggingSettings


class _Tee:
    """Standard error plus the configured log file: one stream for both loggers."""

    def __init__(self, *streams: TextIO) -> None:
        self._streams = streams

    def write(self, text: str) -> int:
        for stream in self._streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self._streams:
            stream.flush()


def _output(settings: LoggingSettings) -> TextIO:
    if settings.file is None:
        return sys.stderr
    settings.file.parent.mkdir(parents=True, exist_ok=True)
    log_file = settings.file.open("a", encoding="utf-8", buffering=1)  # line-buffered
    return cast(TextIO, _Tee(sys.stderr, log_file))


def configure_logging(settings: LoggingSettings) -> None:
    level = getattr(logging, settings.level)
    out = _output(settings)
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if settings.format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=True,
    )
    # Third-party libraries log through the standard library: same format, same stream.
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's access log would print query strings; ours never does.
    logging.getLogger("uvicorn.access").disabled = True
