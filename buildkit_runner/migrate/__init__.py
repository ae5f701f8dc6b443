"""Migration into bkrun: what ``bkrun init`` reads (Dockerfiles, build scripts, compose files)
turned into :class:`ImageSpec` values, then into a commented bkrun.toml (:mod:`.writer`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NAME_CLEAN = re.compile(r"[^a-z0-9_-]+")


@dataclass
class ImageSpec:
    """One image as the old build described it; every field optional but the name."""

    name: str
    repository: str = ""
    context: str = "."
    dockerfile: str | None = None
    target: str | None = None
    platforms: list[str] = field(default_factory=list)
    build_args: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    cache_from: list[str] = field(default_factory=list)
    cache_to: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    pushed: bool = False
    source: str = ""
    notes: list[str] = field(default_factory=list)


def image_name(text: str, taken: set[str]) -> str:
    """A valid, unused image name from a repository's last component or a directory."""
    base = _NAME_CLEAN.sub("-", text.rsplit("/", 1)[-1].lower()).strip("-_") or "image"
    name, number = base, 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    taken.add(name)
    return name


def split_reference(reference: str) -> tuple[str, str | None]:
    """``host/repo:tag`` → (``host/repo``, ``tag``); a digest is dropped."""
    reference = reference.split("@", 1)[0]
    head, sep, tail = reference.rpartition(":")
    if sep and "/" not in tail:
        return head, tail
    return reference, None
