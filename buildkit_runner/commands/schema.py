"""``bkrun schema``: print the JSON Schema of bkrun.toml."""

from __future__ import annotations

import sys

from buildkit_runner import schema


def run() -> int:
    sys.stdout.write(schema.text())
    return 0
