"""Input digests and the decision to build or skip an image. Pure: inputs.py does the I/O.

An image's input digest covers what can change its result: the build context's files after
.dockerignore, the Dockerfile, build args, target, platforms, the digests its base images
resolve to in their registries, and the input digests of the images it depends on. It is
stored in the pushed image as the label ``dev.bkrun.input-digest`` (with each part's digest
in ``dev.bkrun.inputs``), so any runner, however fresh, compares against the registry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from buildkit_runner.tags import Tag

LABEL = "dev.bkrun.input-digest"
PARTS_LABEL = "dev.bkrun.inputs"
# Stable tags to compare against, most specific first; sha tags change with every commit.
_REFERENCE_RULES = ("branch", "latest", "edge", "raw", "schedule")


@dataclass(frozen=True)
class Published:
    """What the reference tag points to in the registry now."""

    reference: str  # repository:tag
    digest: str | None = None  # None: no such tag
    input_digest: str | None = None  # None: no bkrun label (or no image)
    parts: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None  # the registry could not be read


@dataclass(frozen=True)
class ImageInputs:
    digest: str
    parts: Mapping[str, str]
    published: Published | None = None

    def to_json(self) -> dict[str, Any]:
        found = self.published
        return {
            "digest": self.digest,
            "parts": dict(self.parts),
            "reference": found.reference if found else None,
            "published_digest": found.digest if found else None,
            "published_input_digest": found.input_digest if found else None,
        }


@dataclass(frozen=True)
class Inputs:
    """Every image's input digest and registry state; a plan input, like cache.Facts."""

    images: Mapping[str, ImageInputs] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def get(self, name: str) -> ImageInputs | None:
        return self.images.get(name)


@dataclass(frozen=True)
class Decision:
    build: bool
    reason: str


def combine(parts: Mapping[str, str]) -> str:
    """The input digest of ``parts`` (name → digest or value), independent of their order."""
    text = json.dumps(dict(sorted(parts.items())), separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def reference_tag(tags: Sequence[Tag]) -> Tag | None:
    """The tag ``--if-changed`` compares against: the branch tag, else latest, edge, raw or
    schedule; never a sha tag, which is new on every commit."""
    for wanted in _REFERENCE_RULES:
        for tag in tags:
            if tag.rule.split(" ", 1)[0] == wanted:
                return tag
    return None


def decide(name: str, inputs: ImageInputs | None, rebuilding: Sequence[str]) -> Decision:
    """Build or skip ``name`` under ``--if-changed``; ``rebuilding``: its dependencies that
    this run builds."""
    if rebuilding:
        return Decision(True, f"depends on {', '.join(rebuilding)}, which this run rebuilds")
    if inputs is None or inputs.published is None:
        return Decision(True, "no stable tag (branch, latest, edge or raw) to compare with")
    found = inputs.published
    if found.error:
        return Decision(True, f"cannot read {found.reference}: {found.error}")
    if found.digest is None:
        return Decision(True, f"{found.reference} does not exist yet")
    if found.input_digest is None:
        return Decision(True, f"{found.reference} carries no {LABEL} label")
    if found.input_digest == inputs.digest:
        short = inputs.digest[7:19]
        return Decision(False, f"inputs unchanged ({short}) since {found.reference}")
    return Decision(True, "changed: " + ", ".join(changed(found.parts, inputs.parts)))


def changed(before: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """What differs between two sets of parts, in words."""
    words = []
    for key in sorted(before.keys() | now.keys()):
        if before.get(key) == now.get(key):
            continue
        kind, _, what = key.partition(":")
        if kind == "base":
            words.append(f"base image {what} has a new digest")
        elif kind == "dependency":
            words.append(f"dependency {what} changed")
        else:
            words.append(_PART_WORDS.get(kind, kind))
    return words or ["inputs differ"]


_PART_WORDS = {
    "context": "files in the build context",
    "dockerfile": "the Dockerfile",
    "build-args": "build args",
    "target": "the target stage",
    "platforms": "platforms",
    "options": "build options (pull, reproducible)",
    "unresolved": "a base image bkrun cannot resolve",
}
