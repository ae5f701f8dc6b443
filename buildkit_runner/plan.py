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

from buildkit_runner import cache, metadata, refs, tags, templates
from buildkit_runner.config import Config, Image
from buildkit_runner.errors import ConfigError, NothingToBuild, UsageError
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
    progress: str = "rawjson"
    state_dir: str = STATE_DIR
    # Filled by the probe step both plan and build run (commands/common.py); --offline skips it.
    offline: bool = False
    facts: cache.Facts = field(default_factory=cache.Facts)


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
    notes: tuple[str, ...] = ()
    # Every repository the tags go to (repository first); labels and annotations as built.
    repositories: tuple[str, ...] = ()
    version: str | None = None
    build_args: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    metadata_skipped: tuple[str, ...] = ()

    @property
    def argv(self) -> tuple[str, ...]:
        return ("docker", "buildx", "build", *(a for part in self.parts for a in part.args))

    @property
    def refs(self) -> tuple[str, ...]:
        repositories = self.repositories or (self.repository,)
        return tuple(f"{repo}:{tag.value}" for tag in self.tags for repo in repositories)

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
                "offline": self.options.offline,
                "probes": self.options.facts.to_json(),
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
        "source": git.source,
    }


def _step_json(step: BuildStep) -> dict[str, Any]:
    return {
        "image": step.image,
        "repository": step.repository,
        "repositories": list(step.repositories or (step.repository,)),
        "tags": [
            {"tag": t.value, "ref": f"{step.repository}:{t.value}", "rule": t.rule}
            for t in step.tags
        ],
        "refs": list(step.refs),
        "skipped_tags": list(step.skipped_tags),
        "version": step.version,
        "labels": dict(step.labels),
        "annotations": dict(step.annotations),
        "metadata_skipped": list(step.metadata_skipped),
        "platforms": list(step.platforms),
        "depends_on": list(step.depends_on),
        "cache": {
            "from": list(step.cache_from),
            "to": list(step.cache_to),
            "notes": list(step.notes),
        },
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
    # Every image's tags, selected or not: two images must never claim one repository:tag.
    computed = {name: compute_tags(config, name, git) for name in config.images}
    _check_collisions(config, computed)
    steps = tuple(
        _step(config, config.images[name], git, options, name in needed_by_others, computed)
        for name in names
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


def compute_tags(config: Config, name: str, git: GitContext) -> tuple[list[tags.Tag], list[str]]:
    """The tags of image ``name`` for this build, and why each skipped rule made none."""
    image = config.images[name]
    values = templates.git_values(
        git, project=config.project_name, image=name, repository=image.repository
    )
    return tags.compute(image.tags, git, image.dirty_suffix, values)


def _check_collisions(
    config: Config, computed: dict[str, tuple[list[tags.Tag], list[str]]]
) -> None:
    owners: dict[str, str] = {}
    problems: list[str] = []
    for name, image in config.images.items():
        for ref in (f"{r}:{t.value}" for t in computed[name][0] for r in _repositories(image)):
            owner = owners.setdefault(ref, name)
            if owner != name:
                problems.append(
                    f"{config.path.name}: images.{owner} and images.{name} both publish {ref}; "
                    f'give one a suffix (suffix = "-{name}" on its tag rules) or its own '
                    "repository"
                )
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))


def _repositories(image: Image) -> tuple[str, ...]:
    return image.repositories or (image.repository,)


def _step(
    config: Config,
    image: Image,
    git: GitContext,
    options: Options,
    has_dependents: bool,
    all_tags: dict[str, tuple[list[tags.Tag], list[str]]],
) -> BuildStep:
    platforms = options.platforms or image.platforms
    computed, skipped = all_tags[image.name]
    _check_step(image, platforms, computed, skipped, options)
    meta = metadata.compute(
        image, git, computed, config.project_name, _base(config, image, all_tags)
    )

    caching = cache.plan_for(image, git, options.push, options.cache_export, options.facts)
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
        *(
            Part(("--tag", f"{repository}:{t.value}"), f"tag rule {t.rule}")
            for t in computed
            for repository in _repositories(image)
        ),
        *_metadata_parts(meta, platforms, image.provenance),
        *(
            Part(("--secret", _secret(s)), "build secret, passed by reference")
            for s in image.secrets
        ),
        *(
            _dependency(config.images[name], options, all_tags[name][0])
            for name in image.depends_on
        ),
        *(Part(("--cache-from", spec.text), spec.why) for spec in caching.cache_from),
        *(Part(("--cache-to", spec.text), spec.why) for spec in caching.cache_to),
        Part(
            (f"--provenance={'mode=min' if image.provenance else 'false'}",),
            "explicit, so the result does not depend on the buildx version's default",
        ),
        *_output(image, options, has_dependents),
        Part(("--metadata-file", metadata_file), "bkrun reads the pushed digest from it"),
        Part(
            (f"--progress={options.progress}",),
            "machine-readable progress: bkrun renders the log from it and counts cache hits",
        ),
        Part((image.context,), "build context"),
    ]
    return BuildStep(
        image=image.name,
        repository=image.repository,
        tags=tuple(computed),
        skipped_tags=tuple(skipped),
        platforms=tuple(platforms),
        depends_on=image.depends_on,
        cache_from=tuple(spec.text for spec in caching.cache_from),
        cache_to=tuple(spec.text for spec in caching.cache_to),
        metadata_file=metadata_file,
        parts=tuple(parts),
        push=options.push,
        load=options.load,
        notes=caching.notes,
        repositories=_repositories(image),
        version=meta.version,
        build_args=tuple((e.key, e.value) for e in meta.build_args),
        labels=tuple((e.key, e.value) for e in meta.labels),
        annotations=tuple((e.key, e.value) for e in meta.annotations),
        metadata_skipped=meta.skipped,
    )


def _base(
    config: Config, image: Image, all_tags: dict[str, tuple[list[tags.Tag], list[str]]]
) -> metadata.Base | None:
    if image.base is None:
        return None
    dependency = config.images[image.base]
    first = all_tags[image.base][0][:1]
    name = f"{dependency.repository}:{first[0].value}" if first else dependency.repository
    return metadata.Base(name, digest_placeholder(image.base))


def _metadata_parts(
    meta: metadata.Metadata, platforms: tuple[str, ...], provenance: bool
) -> list[Part]:
    parts = [Part(("--build-arg", f"{e.key}={e.value}"), e.why) for e in meta.build_args]
    parts += [Part(("--label", f"{e.key}={e.value}"), e.why) for e in meta.labels]
    # One level per flag: buildx 0.13 reads "index,manifest:k=v" as a manifest annotation
    # named "index,manifest:k". A single-platform image has no index (BuildKit refuses
    # index annotations there) unless an attestation makes one.
    levels = ("index", "manifest") if len(platforms) > 1 or provenance else ("manifest",)
    parts += [
        Part(("--annotation", f"{level}:{e.key}={e.value}"), f"{e.why} ({level})")
        for e in meta.annotations
        for level in levels
    ]
    return parts


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


def _dependency(dependency: Image, options: Options, dependency_tags: list[tags.Tag]) -> Part:
    # The dependent builds on the exact result just built, never on whatever a mutable tag
    # points to in the registry at that moment.
    name = dependency.name
    placeholder = digest_placeholder(name)
    if options.push:
        source = f"docker-image://{dependency.repository}@{placeholder}"
        why = f"named context {name!r}: the digest of {name} pushed by this run"
    elif options.load:
        # The docker driver resolves a tag from the engine's image store but looks a digest
        # up in the registry, where a loaded image is not; the tag this run just loaded is
        # the local equivalent of the digest.
        if not dependency_tags:
            raise UsageError(
                f"--load: {name!r} gets no tag on this commit, so the images that depend on "
                "it cannot find it in the engine; add a raw tag rule or drop --load"
            )
        source = f"docker-image://{dependency.repository}:{dependency_tags[0].value}"
        why = f"named context {name!r}: the image {name} loaded by this run"
    else:
        source = f"oci-layout://{options.state_dir}/oci/{name}@{placeholder}"
        why = f"named context {name!r}: the OCI layout of {name} written by this run"
    return Part(("--build-context", f"{name}={source}"), why)


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
