"""Find a project's Dockerfiles: one image per Dockerfile, named after its directory."""

from __future__ import annotations

import os
from pathlib import Path

from buildkit_runner.migrate import ImageSpec, image_name

_SKIP = {".git", ".bkrun", "node_modules", "vendor", "venv", ".venv", "__pycache__", "dist"}
MAX_DEPTH = 4
_PREFIX = "Dockerfile."


def dockerfiles(root: Path) -> list[Path]:
    found = []
    for directory, subdirs, files in os.walk(root):
        depth = len(Path(directory).relative_to(root).parts)
        subdirs[:] = sorted(
            d for d in subdirs if d not in _SKIP and not d.startswith(".") and depth < MAX_DEPTH
        )
        found += [
            Path(directory) / name
            for name in sorted(files)
            if name == "Dockerfile" or name.endswith(".Dockerfile") or name.startswith(_PREFIX)
        ]
    return found


def specs(root: Path, project: str) -> list[ImageSpec]:
    taken: set[str] = set()
    images = []
    for path in dockerfiles(root):
        context = path.parent.relative_to(root).as_posix() or "."
        stem = path.name.removesuffix(".Dockerfile").removeprefix("Dockerfile.")
        base = stem if stem != "Dockerfile" else (path.parent.name if context != "." else project)
        images.append(
            ImageSpec(
                name=image_name(base, taken),
                context=context,
                dockerfile=path.relative_to(root).as_posix(),
                source=path.relative_to(root).as_posix(),
            )
        )
    return images
