"""Sizes and durations as docker reads them, each checked with a message a person can act on."""

from __future__ import annotations

import re

# docker buildx prune --keep-storage sizes: 512MB, 10GB, 1.5g ...
SIZE_PATTERN = r"^[0-9]+(\.[0-9]+)?\s*([kKmMgGtT][bB]?|[bB])?$"
# Go's time.ParseDuration, which `docker buildx prune --filter until=` uses: 24h, 30m, 1h30m.
_DURATION_PART = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|ms|s|m|h)"
_DURATION = re.compile(rf"0|(?:{_DURATION_PART})+")


def size_problem(value: str) -> str | None:
    """None when ``value`` is a size docker accepts, else why not."""
    if re.match(SIZE_PATTERN, value.strip()):
        return None
    return f"{value!r} is not a size: expected a size like 10GB or 512MB (units: B, KB, MB, GB, TB)"


def duration_problem(value: str) -> str | None:
    """None when ``value`` is a Go duration (24h, 30m, 168h, 1h30m), else why not."""
    if _DURATION.fullmatch(value.strip()):
        return None
    hint = " (days are not a unit: 7 days is 168h)" if value.strip().endswith("d") else ""
    return (
        f"{value!r} is not a duration: expected a Go duration like 24h, 30m or 168h "
        f"(units: ns, us, ms, s, m, h){hint}"
    )
