"""What an image carries beyond its build: metadata settings and the image it is based on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buildkit_runner.config import models

# The last FROM names the final stage's base: `FROM [--platform=...] <name> [AS <stage>]`.
_FROM_RE = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class MetadataSettings:
    """``metadata`` with every default filled: [defaults] first, then the image's own keys."""

    labels: bool = True
    annotations: bool = True
    created: str = "commit"
    title: str | None = None
    url: str | None = None
    licenses: str | None = None


def metadata(image: models.Image, defaults: models.Shared) -> MetadataSettings:
    merged: dict[str, Any] = {}
    for table in (defaults.metadata, image.metadata):
        if table is not None:
            merged.update(table.model_dump(exclude_none=True))
    return MetadataSettings(**merged)


def base(dockerfile: Path, depends_on: tuple[str, ...]) -> str | None:
    """The dependency the final stage is built ``FROM``, or None (a registry image, say).

    Only a depends-on image's digest is known to bkrun, so only then are
    org.opencontainers.image.base.* filled.
    """
    try:
        text = dockerfile.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found = _FROM_RE.findall(text)
    if not found:
        return None
    name = found[-1]
    return name if name in depends_on else None
