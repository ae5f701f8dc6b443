"""structlog set-up: bkrun's own events, always on stderr.

Readable console lines on a terminal; logfmt when stderr is not a terminal or CI is set, so
CI logs stay greppable; JSON with ``--log-format json``. Tracebacks never carry local
variables, and every event passes the redaction processor last before rendering.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from buildkit_runner import redact

LEVELS = {-2: logging.ERROR, -1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}
FORMATS = ("auto", "console", "logfmt", "json")


def level_for(verbosity: int) -> int:
    """``-v``/``-q`` counts (verbose minus quiet) → a logging level; INFO by default."""
    return LEVELS[max(-2, min(1, verbosity))]


def choose_format(requested: str) -> str:
    if requested != "auto":
        return requested
    if os.environ.get("CI") or not sys.stderr.isatty():
        return "logfmt"
    return "console"


# Settings waiting for the first event: structlog (and the rich it pulls in when installed)
# costs about 50 ms to import, which commands that log nothing, like plan, never pay.
_PENDING: dict[str, Any] = {}


def configure(verbosity: int = 0, log_format: str = "auto", color: bool | None = None) -> None:
    """Set up logging; structlog itself is imported and configured on the first event."""
    _PENDING.clear()
    _PENDING.update(verbosity=verbosity, log_format=log_format, color=color)


def reset() -> None:
    """Forget settings not applied yet (tests reset structlog between cases)."""
    _PENDING.clear()


def _apply(verbosity: int, log_format: str, color: bool | None) -> None:
    import structlog

    fmt = choose_format(log_format)
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
    elif fmt == "logfmt":
        renderer = structlog.processors.LogfmtRenderer(
            key_order=["level", "event"], drop_missing=True
        )
    else:
        use_color = sys.stderr.isatty() and "NO_COLOR" not in os.environ
        renderer = structlog.dev.ConsoleRenderer(
            colors=use_color if color is None else color,
            exception_formatter=structlog.dev.plain_traceback,
        )

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info,
            redact.structlog_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level_for(verbosity)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get(name: str | None = None) -> Any:
    import structlog

    if _PENDING:
        settings = dict(_PENDING)
        _PENDING.clear()
        _apply(**settings)
    return structlog.get_logger(name)
