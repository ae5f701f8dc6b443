"""Masking of secret values, shared by the log processor and the build output stream.

Two nets: values under secret-looking keys (``password``, ``token`` ...) are masked wherever a
mapping is logged, and the exact values of known secrets (the variables named by build
secrets) are masked in any text, including BuildKit's output.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

MASK = "********"
SECRET_KEY_RE = re.compile(
    r"(passw(or)?d|token|secret|api[_-]?key|private[_-]?key|credential|auth)", re.IGNORECASE
)
# A short value would mask ordinary words in the output; secrets that short are not secrets.
MIN_SECRET_LENGTH = 4


class Redactor:
    """Masks a set of known secret values in text."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(values)

    def add(self, values: Iterable[str]) -> None:
        self._values.update(v for v in values if len(v) >= MIN_SECRET_LENGTH)
        if self._values:
            # Longest first, so a secret containing another is masked whole.
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def text(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)

    def mapping(self, data: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, str) and SECRET_KEY_RE.search(key):
                result[key] = MASK
            elif isinstance(value, str):
                result[key] = self.text(value)
            else:
                result[key] = value
        return result


# The process-wide redactor: the runner registers secret values, the log processor reads it.
REDACTOR = Redactor()


def structlog_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> Mapping[str, Any]:
    """structlog processor: mask secret-looking keys and known secret values."""
    return REDACTOR.mapping(event_dict)
