"""The publish half of a plan: push by digest first, move the mutable tags last. Pure.

With ``--push`` every image is built and pushed to one staging tag of its repository
(``<repository>:bkrun-staging``), read back by digest, and only when every build of the run
has succeeded does ``docker buildx imagetools create`` point each tag at that digest. The
staging tag is bkrun's handle, not a release: it moves with every run, and nothing should
pull it. buildx's ``push-by-digest=true`` would avoid it, but the docker driver refuses it
("push-by-digest is currently not implemented for docker driver", buildx 0.13.1).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

STAGING_TAG = "bkrun-staging"


@dataclass(frozen=True)
class PublishStep:
    """Point ``refs`` at ``source`` (``repository@digest``): one ``imagetools create``."""

    image: str
    source: str
    refs: tuple[str, ...]
    # True: the image was skipped (inputs unchanged) and only gets this commit's new tags.
    retag: bool
    why: str

    @property
    def argv(self) -> tuple[str, ...]:
        tags = (arg for ref in self.refs for arg in ("--tag", ref))
        return ("docker", "buildx", "imagetools", "create", *tags, self.source)

    def command(self) -> str:
        lines = ["docker buildx imagetools create"]
        lines.extend(shlex.join(("--tag", ref)) for ref in self.refs)
        lines.append(shlex.quote(self.source))
        return " \\\n    ".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "retag" if self.retag else "publish",
            "image": self.image,
            "source": self.source,
            "refs": list(self.refs),
            "why": self.why,
            "argv": list(self.argv),
        }


@dataclass(frozen=True)
class Skip:
    """An image ``--if-changed`` does not rebuild, and why."""

    image: str
    reason: str
    digest: str | None
    input_digest: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "reason": self.reason,
            "digest": self.digest,
            "input_digest": self.input_digest,
        }


def staging_output(repositories: tuple[str, ...]) -> tuple[str, str]:
    """The ``--output`` value of a pushed build, and why.

    Every repository of the image gets the staging push, so each publish step copies
    within one repository: a cross-repository ``imagetools create`` of an index fails on
    distribution (400 on the manifest PUT, its children are missing there).
    """
    names = ",".join(f"{repository}:{STAGING_TAG}" for repository in repositories)
    # Several names: buildx reads --output as CSV, so the comma-separated field is quoted.
    field = f'"name={names}"' if len(repositories) > 1 else f"name={names}"
    return (
        f"type=image,{field},push=true",
        "push by digest to bkrun's staging tag; the tags move only after every image built "
        "(the docker driver cannot push-by-digest)",
    )
