"""Checks ``bkrun validate`` shares with ``plan``, ``build`` and ``doctor``.

``validate`` must find every problem ``plan`` would: the file itself (config.load), the tags
of this commit (two images publishing one repository:tag), and, unless ``--offline``, what the
active builder cannot do with the configured cache backends (one cheap ``docker buildx
inspect``). Each function returns one line per problem, so callers report them all at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from buildkit_runner import tags
from buildkit_runner.builder import BuilderInfo
from buildkit_runner.config import Config

Computed = Mapping[str, tuple[Sequence[tags.Tag], Sequence[str]]]

# Cache backends a driver's BuildKit does not have (docs/cache.md).
UNSUPPORTED_BACKENDS = {"docker": ("s3",)}


def collision_problems(config: Config, computed: Computed) -> list[str]:
    """One line per pair of images that would publish the same repository:tag.

    ``computed`` holds every image's tags for this commit (plan.compute_tags). A pair is
    reported once, however many tags it shares: a shared repository usually collides on
    every tag.
    """
    owners: dict[str, str] = {}
    shared: dict[tuple[str, str], list[str]] = {}
    for name, image in config.images.items():
        repositories = image.repositories or (image.repository,)
        for ref in (f"{r}:{t.value}" for t in computed[name][0] for r in repositories):
            owner = owners.setdefault(ref, name)
            if owner != name:
                shared.setdefault((owner, name), []).append(ref)
    problems = []
    for (owner, name), refs in shared.items():
        refs = list(dict.fromkeys(refs))
        more = f" and {len(refs) - 1} more tag(s)" if len(refs) > 1 else ""
        problems.append(
            f"{config.path.name}: images.{owner} and images.{name} both publish {refs[0]}"
            f"{more}; give one its own repository, or a suffix on its tag rules "
            f'(suffix = "-{name}")'
        )
    return problems


def backend_problems(config: Config, info: BuilderInfo) -> list[str]:
    """One line per cache backend the active builder cannot use, with the images using it."""
    problems = []
    for backend in UNSUPPORTED_BACKENDS.get(info.driver, ()):
        users = [
            n for n, i in config.images.items() if i.cache.enabled and i.cache.backend == backend
        ]
        if not users:
            continue
        problems.append(
            f'{config.path.name}: cache.backend "{backend}" (images {", ".join(users)}) is not '
            f"supported by the {info.driver} driver of builder {info.name!r}; create a builder "
            "with docker buildx create --driver docker-container --use, or use the registry "
            "backend"
        )
    return problems
