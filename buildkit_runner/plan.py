"""Config + GitContext + Options → Plan: the ordered ``docker buildx build`` commands.

This is the only module that builds buildx argv, and it is pure: no subprocess, no network, no
clock but the one GitContext carries. ``bkrun plan`` prints what it returns and ``bkrun build``
runs it, so the two can never disagree. A value known only once an earlier step has run (the
digest of a dependency) appears as ``${IMAGE.digest}``; the runner substitutes it.
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from buildkit_runner import refs, tags
from buildkit_runner.config import Config, Image
from buildkit_runner.errors import NothingToBuild, UsageError
from buildkit_runner.git import GitContext

PLAN_FORMAT_VERSION = 1
STATE_DIR = ".bkrun"


def digest_placeholder(image: str) -> str:
    return "${" + image + ".digest}"


@dataclass(frozen=True)
class Options:
    """What the command line (or BKRUN_* variables) asks of this run."""

    images: tuple[str, ...] = ()
    push: bool = False
    load: bool = False
    platforms: tuple[str, ...] = ()
    cache_export: bool | None = None
    progress: str = "plain"
    state_dir: str = STATE_DIR


@dataclass(frozen=True)
class Part:
    """A run of argv and the reason it is there."""

    args: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class BuildStep:
    image: str
    repository: str
    tags: tuple[tags.Tag, ...]
    skipped_tags: tuple[str, ...]
    platforms: tuple[str, ...]
    depends_on: tuple[str, ...]
    cache_from: tuple[str, ...]
    cache_to: tuple[str, ...]
    metadata_file: str
    parts: tuple[Part, ...]
    push: bool
    load: bool

    @property
    def argv(self) -> tuple[str, ...]:
        return ("docker", "buildx", "build", *(a for part in self.parts for a in part.args))

    @property
    def refs(self) -> tuple[str, ...]:
        return tuple(f"{self.repository}:{tag.value}" for tag in self.tags)

    def command(self) -> str:
        """The argv as one shell line, split at each option for reading."""
        lines = ["docker buildx build"]
        lines.extend(shlex.join(part.args) for part in self.parts)
        return " \\\n    ".join(lines)


@dataclass(frozen=True)
class Plan:
    project: str
    config_path: str
    root: str
    git: GitContext
    options: Options
    steps: tuple[BuildStep, ...]
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "version": PLAN_FORMAT_VERSION,
            "project": self.project,
            "config": self.config_path,
            "git": _git_json(self.git),
            "options": {
                "push": self.options.push,
                "load": self.options.load,
                "platforms": list(self.options.platforms),
                "cache_export": self.options.cache_export,
            },
            "notes": list(self.notes),
            "steps": [_step_json(step) for step in self.steps],
        }


def _git_json(git: GitContext) -> dict[str, Any]:
    return {
        "sha": git.sha,
        "branch": git.branch,
        "default_branch": git.default_branch,
        "tags": list(git.tags),
        "dirty": git.dirty,
        "commit_time": git.commit_time.isoformat() if git.commit_time else None,
        "trigger": git.trigger,
        "pr_number": git.pr_number,
        "provider": git.provider,
    }


def _step_json(step: BuildStep) -> dict[str, Any]:
    return {
        "image": step.image,
        "repository": step.repository,
        "tags": [
            {"tag": t.value, "ref": f"{step.repository}:{t.value}", "rule": t.rule}
            for t in step.tags
        ],
        "skipped_tags": list(step.skipped_tags),
        "platforms": list(step.platforms),
        "depends_on": list(step.depends_on),
        "cache": {"from": list(step.cache_from), "to": list(step.cache_to)},
        "push": step.push,
        "load": step.load,
        "metadata_file": step.metadata_file,
        "argv": list(step.argv),
        "explain": [{"args": list(p.args), "why": p.why} for p in step.parts],
    }


def select(config: Config, wanted: Iterable[str]) -> tuple[str, ...]:
    """The images to build, dependencies first: the wanted ones and all they depend on."""
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

    needed: set[str] = set()
    stack = list(wanted)
    while stack:
        name = stack.pop()
        if name not in needed:
            needed.add(name)
            stack.extend(config.images[name].depends_on)
    return tuple(name for name in config.order if name in needed)


def make_plan(config: Config, git: GitContext, options: Options) -> Plan:
    """Resolve ``config`` for this commit and these options into ordered build steps."""
    _check_options(options)
    names = select(config, options.images)
    needed_by_others = {dep for name in names for dep in config.images[name].depends_on}
    steps = tuple(
        _step(config, config.images[name], git, options, name in needed_by_others) for name in names
    )
    return Plan(
        project=config.project_name,
        config_path=str(config.path),
        root=str(config.root),
        git=git,
        options=options,
        steps=steps,
        notes=git.notes,
    )


def _check_options(options: Options) -> None:
    for platform in options.platforms:
        problem = refs.platform_problem(platform)
        if problem:
            raise UsageError(f"--platform {platform!r}: {problem}")
    if options.push and options.load:
        raise UsageError(
            "--push and --load together: choose one (push publishes to the registry, "
            "load puts a single-platform image into the local engine)"
        )


def _step(
    config: Config, image: Image, git: GitContext, options: Options, has_dependents: bool
) -> BuildStep:
    platforms = options.platforms or image.platforms
    computed, skipped = tags.compute(image.tags, git)
    _check_step(image, platforms, computed, skipped, options)

    cache_from, cache_to = _cache(image, options)
    metadata_file = f"{options.state_dir}/metadata/{image.name}.json"
    parts = [
        Part(("--file", image.dockerfile), "Dockerfile of the image"),
        *_optional(image.target, lambda t: Part(("--target", t), "stage to build")),
        *_optional(
            platforms,
            lambda p: Part(
                ("--platform", ",".join(p)),
                "platforms from --platform" if options.platforms else "platforms from config",
            ),
        ),
        *(Part(("--tag", f"{image.repository}:{t.value}"), f"tag rule {t.rule}") for t in computed),
        *(Part(("--build-arg", f"{k}={v}"), "build arg from config") for k, v in image.build_args),
        *(Part(("--label", f"{k}={v}"), "label from config") for k, v in image.labels),
        *(
            Part(("--secret", _secret(s)), "build secret, passed by reference")
            for s in image.secrets
        ),
        *(_dependency(config.images[name], options) for name in image.depends_on),
        *(Part(("--cache-from", spec), "import registry cache") for spec in cache_from),
        *(Part(("--cache-to", spec), _cache_to_why(image)) for spec in cache_to),
        Part(
            (f"--provenance={'mode=min' if image.provenance else 'false'}",),
            "explicit, so the result does not depend on the buildx version's default",
        ),
        *_output(image, options, has_dependents),
        Part(("--metadata-file", metadata_file), "bkrun reads the pushed digest from it"),
        Part((f"--progress={options.progress}",), "line-oriented log bkrun can stream"),
        Part((image.context,), "build context"),
    ]
    return BuildStep(
        image=image.name,
        repository=image.repository,
        tags=tuple(computed),
        skipped_tags=tuple(skipped),
        platforms=tuple(platforms),
        depends_on=image.depends_on,
        cache_from=tuple(cache_from),
        cache_to=tuple(cache_to),
        metadata_file=metadata_file,
        parts=tuple(parts),
        push=options.push,
        load=options.load,
    )


def _optional(value: Any, make: Any) -> list[Part]:
    return [make(value)] if value else []


def _check_step(
    image: Image,
    platforms: tuple[str, ...],
    computed: list[tags.Tag],
    skipped: list[str],
    options: Options,
) -> None:
    if options.load and len(platforms) > 1:
        raise UsageError(
            f"--load cannot load the multi-platform image {image.name!r} "
            f"({', '.join(platforms)}); add --platform {platforms[0]} to load one platform, "
            "or use --push"
        )
    if options.push and not computed:
        why = "; ".join(skipped) or "no tag rules"
        raise UsageError(
            f"image {image.name!r} has no tag to push ({why}); add a tag rule such as "
            '{ type = "raw", value = "dev" } or build from a git checkout'
        )


def _secret(secret: Any) -> str:
    if secret.env:
        return f"id={secret.id},env={secret.env}"
    if secret.src:
        return f"id={secret.id},src={secret.src}"
    return f"id={secret.id}"


def _dependency(dependency: Image, options: Options) -> Part:
    # The dependent builds on the exact result just built, pinned by digest, never on
    # whatever a mutable tag points to in the registry at that moment.
    name = dependency.name
    placeholder = digest_placeholder(name)
    if options.push or options.load:
        # Pushed: the registry has it. Loaded: the docker driver resolves the digest from the
        # engine's image store first.
        source = f"docker-image://{dependency.repository}@{placeholder}"
        where = "pushed" if options.push else "loaded"
        why = f"named context {name!r}: the digest of {name} {where} by this run"
    else:
        source = f"oci-layout://{options.state_dir}/oci/{name}@{placeholder}"
        why = f"named context {name!r}: the OCI layout of {name} written by this run"
    return Part(("--build-context", f"{name}={source}"), why)


def _cache(image: Image, options: Options) -> tuple[list[str], list[str]]:
    if not image.cache.enabled:
        return [], []
    ref = image.cache.ref
    cache_from = [f"type=registry,ref={ref}"]
    export = options.push if options.cache_export is None else options.cache_export
    if not export:
        return cache_from, []
    spec = f"type=registry,ref={ref},mode={image.cache.mode}"
    if image.cache.ignore_error:
        spec += ",ignore-error=true"
    return cache_from, [spec]


def _cache_to_why(image: Image) -> str:
    why = f"export registry cache, mode={image.cache.mode}"
    if image.cache.mode == "max":
        why += " (keeps intermediate stages)"
    if image.cache.ignore_error:
        why += "; a failed export does not fail the build"
    return why


def _output(image: Image, options: Options, has_dependents: bool) -> list[Part]:
    if options.push:
        return [Part(("--push",), "--push: publish every tag")]
    if options.load:
        return [Part(("--load",), "--load: put the image into the local engine")]
    if has_dependents:
        # Neither pushed nor loaded, the result would be out of the dependents' reach; an
        # OCI layout on disk gives them the exact result. Only one exporter per build: with
        # two (load + oci) BuildKit 0.13 wrote the layout's index from the other exporter.
        dest = f"{options.state_dir}/oci/{image.name}"
        return [
            Part(
                ("--output", f"type=oci,dest={dest},tar=false"),
                "OCI layout for the images that depend on this one",
            )
        ]
    return []
