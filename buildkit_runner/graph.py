"""Which images a run builds: selection, dependencies, and the if-changed decisions. Pure.

``select`` picks the images (and, unless ``--no-deps``, all they depend on) in dependency
order; ``decide`` says for each whether it is built or skipped, and why; ``external`` finds the
published digest of each dependency this run does not build; ``publish_steps`` moves the tags.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from buildkit_runner import changes, publishing, tags
from buildkit_runner.config import Config, Image
from buildkit_runner.errors import NothingToBuild, UsageError
from buildkit_runner.steps import Options, digest_placeholder


def select(config: Config, wanted: Iterable[str], no_deps: bool = False) -> tuple[str, ...]:
    """The images to build, dependencies first: the wanted ones and all they depend on
    (with ``no_deps``, the wanted ones alone)."""
    wanted = tuple(wanted)
    if not config.images:
        raise NothingToBuild(f"{config.path.name} defines no images; add an [images.<name>] table")
    for name in wanted:
        if name not in config.images:
            close = difflib.get_close_matches(name, list(config.images), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "images: " + ", ".join(config.images)
            raise UsageError(f"unknown image {name!r}; {hint}")
    if not wanted:
        return config.order
    if no_deps:
        return tuple(name for name in config.order if name in wanted)
    return closure(config, wanted)


def closure(config: Config, wanted: Iterable[str]) -> tuple[str, ...]:
    """``wanted`` and everything they depend on, dependencies first."""
    needed: set[str] = set()
    stack = list(wanted) or list(config.images)
    while stack:
        name = stack.pop()
        if name not in needed:
            needed.add(name)
            stack.extend(config.images[name].depends_on)
    return tuple(name for name in config.order if name in needed)


def input_digest(options: Options, name: str) -> str | None:
    found = options.inputs.get(name)
    return found.digest if found else None


def published_digest(options: Options, name: str) -> str | None:
    found = options.inputs.get(name)
    return found.published.digest if found and found.published else None


def decide(config: Config, names: tuple[str, ...], options: Options) -> dict[str, changes.Decision]:
    """Build or skip each image, and why."""
    decisions: dict[str, changes.Decision] = {}
    for name in names:
        if not options.if_changed:
            decisions[name] = changes.Decision(
                True, _selected_because(config, name, names, options)
            )
            continue
        depends_on = config.images[name].depends_on
        rebuilding = [d for d in depends_on if d in decisions and decisions[d].build]
        decisions[name] = changes.decide(name, options.inputs.get(name), rebuilding)
    return decisions


def _selected_because(config: Config, name: str, names: tuple[str, ...], options: Options) -> str:
    if not options.images:
        return "every image is selected by default"
    if name in options.images:
        return "selected on the command line"
    needed_by = [n for n in names if name in config.images[n].depends_on]
    return f"{', '.join(needed_by)} depends on it"


def external(config: Config, building: list[str], options: Options) -> dict[str, str]:
    """The published digest of each dependency this run does not build (skipped, --no-deps)."""
    found: dict[str, str] = {}
    for name in building:
        for dependency in config.images[name].depends_on:
            if dependency in building or dependency in found:
                continue
            digest = published_digest(options, dependency)
            if digest is None:
                inputs = options.inputs.get(dependency)
                where = inputs.published.reference if inputs and inputs.published else dependency
                raise UsageError(
                    f"{name!r} depends on {dependency!r}, which this run does not build, and "
                    f"no published image of it was found ({where}); build it too (drop "
                    "--no-deps) or push it first"
                )
            found[dependency] = digest
    return found


def publish_steps(
    config: Config,
    names: tuple[str, ...],
    decisions: dict[str, changes.Decision],
    computed: dict[str, tuple[list[tags.Tag], list[str]]],
    options: Options,
) -> tuple[publishing.PublishStep, ...]:
    steps = []
    for name in names:
        image = config.images[name]
        if not staged(config, image, options):
            continue
        digest = None if decisions[name].build else published_digest(options, name)
        if not decisions[name].build and digest is None:
            continue
        # One step per repository, each copying within its own repository (publishing.py).
        for repository in repositories(image):
            targets = tuple(f"{repository}:{t.value}" for t in computed[name][0])
            if not targets:
                continue
            if digest is None:
                source = f"{repository}@{digest_placeholder(name)}"
                why = "every tag to the digest this run pushed, once every image has built"
                steps.append(publishing.PublishStep(name, source, targets, False, why))
            else:
                source = f"{repository}@{digest}"
                why = "inputs unchanged: this commit's tags on the digest already published"
                steps.append(publishing.PublishStep(name, source, targets, True, why))
    return tuple(steps)


DIRECT_WHY = (
    "--push: every tag pushed by the build itself; buildx imagetools runs in the client, which "
    "cannot reach a registry with a private CA (ca-file), so this image is not published "
    "atomically"
)


def staged(config: Config, image: Image, options: Options) -> bool:
    """Whether ``image`` is pushed by digest and published by a publish step."""
    if not options.push:
        return False
    hosts = {repository.split("/", 1)[0] for repository in repositories(image)}
    private = set(options.private_ca_hosts)
    return not any(config.registry_for(h).ca_file or h in private for h in hosts)


def repositories(image: Image) -> tuple[str, ...]:
    return image.repositories or (image.repository,)
