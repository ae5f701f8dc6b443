"""Config + GitContext + Options → Plan: the ordered ``docker buildx build`` commands.

This is the only module that builds buildx argv, and it is pure: no subprocess, no network, no
clock but the one GitContext carries. ``bkrun plan`` prints what it returns and ``bkrun build``
runs it, so the two can never disagree. A value known only once an earlier step has run (the
digest of a dependency) appears as ``${IMAGE.digest}``; the runner substitutes it. With
``--push`` a plan has two phases: the builds (each pushed by digest to a staging tag) and
then the publish steps that move the tags (publishing.py), run only when every build passed.
"""

from __future__ import annotations

import json
from typing import Any

from buildkit_runner import (
    cache,
    changes,
    graph,
    metadata,
    publishing,
    refs,
    tags,
    templates,
    validation,
)
from buildkit_runner.config import Config, Image
from buildkit_runner.errors import ConfigError, UsageError
from buildkit_runner.git import GitContext

# The plan's types live in steps.py; they are imported from here by most of bkrun.
from buildkit_runner.steps import PLAN_FORMAT_VERSION as PLAN_FORMAT_VERSION
from buildkit_runner.steps import STATE_DIR as STATE_DIR
from buildkit_runner.steps import BuildStep as BuildStep
from buildkit_runner.steps import Options as Options
from buildkit_runner.steps import Part as Part
from buildkit_runner.steps import Plan as Plan
from buildkit_runner.steps import digest_placeholder as digest_placeholder

select = graph.select
closure = graph.closure


def make_plan(config: Config, git: GitContext, options: Options) -> Plan:
    """Resolve ``config`` for this commit and these options into ordered build steps."""
    _check_options(options)
    names = graph.select(config, options.images, options.no_deps)
    # Every image's tags, selected or not: two images must never claim one repository:tag.
    computed = {name: compute_tags(config, name, git) for name in config.images}
    # One source for the message: validate reports the same lines without planning.
    problems = validation.collision_problems(config, computed)
    if problems:
        raise ConfigError(problems)
    decisions = graph.decide(config, names, options)
    building = [name for name in names if decisions[name].build]
    needed_by_others = {dep for name in building for dep in config.images[name].depends_on}
    external = graph.external(config, building, options)

    steps = tuple(
        _step(
            config,
            config.images[name],
            git,
            options,
            name in needed_by_others,
            computed,
            decisions[name].reason,
            external,
        )
        for name in building
    )
    skipped = tuple(
        publishing.Skip(
            name,
            decisions[name].reason,
            graph.published_digest(options, name),
            graph.input_digest(options, name),
        )
        for name in names
        if not decisions[name].build
    )
    publish = (
        graph.publish_steps(config, names, decisions, computed, options) if options.push else ()
    )
    return Plan(
        project=config.project_name,
        config_path=str(config.path),
        root=str(config.root),
        git=git,
        options=options,
        steps=steps,
        notes=git.notes + options.inputs.notes,
        publish=publish,
        skipped=skipped,
    )


def _check_options(options: Options) -> None:
    for platform in options.platforms:
        problem = refs.platform_problem(platform)
        if problem:
            raise UsageError(f"--platform {platform!r}: {problem}")
    if options.if_changed and options.offline:
        raise UsageError(
            "--if-changed compares input digests with the registry, which --offline skips; "
            "drop one of them"
        )
    if options.no_deps and options.offline:
        raise UsageError(
            "--no-deps builds on the dependencies' published digests, read from the registry, "
            "which --offline skips; drop one of them"
        )
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


def _step(
    config: Config,
    image: Image,
    git: GitContext,
    options: Options,
    has_dependents: bool,
    all_tags: dict[str, tuple[list[tags.Tag], list[str]]],
    reason: str = "",
    external: dict[str, str] | None = None,
) -> BuildStep:
    platforms = options.platforms or image.platforms
    computed, skipped = all_tags[image.name]
    external = external or {}
    _check_step(image, platforms, computed, skipped, options)
    meta = metadata.compute(
        image, git, computed, config.project_name, _base(config, image, all_tags, external)
    )
    inputs = options.inputs.get(image.name)
    extra, notes = _reproducible(image, git, options)

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
            for repository in graph.repositories(image)
            # Pushed images get their tags from the publish steps, after every build.
            if not graph.staged(config, image, options)
        ),
        *_pull(image, options),
        *_metadata_parts(meta, platforms, image.provenance),
        *extra,
        *_input_labels(inputs),
        *(
            Part(("--secret", _secret(s)), "build secret, passed by reference")
            for s in image.secrets
        ),
        *(
            _dependency(config.images[name], options, all_tags[name][0], external.get(name))
            for name in image.depends_on
        ),
        *(Part(("--cache-from", spec.text), spec.why) for spec in caching.cache_from),
        *(Part(("--cache-to", spec.text), spec.why) for spec in caching.cache_to),
        Part(
            (f"--provenance={'mode=min' if image.provenance else 'false'}",),
            "explicit, so the result does not depend on the buildx version's default",
        ),
        *_output(image, options, has_dependents, graph.staged(config, image, options)),
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
        notes=caching.notes + notes,
        repositories=graph.repositories(image),
        version=meta.version,
        build_args=tuple((e.key, e.value) for e in meta.build_args),
        labels=tuple((e.key, e.value) for e in meta.labels),
        annotations=tuple((e.key, e.value) for e in meta.annotations),
        metadata_skipped=meta.skipped,
        reason=reason,
        input_digest=inputs.digest if inputs else None,
    )


def _base(
    config: Config,
    image: Image,
    all_tags: dict[str, tuple[list[tags.Tag], list[str]]],
    external: dict[str, str],
) -> metadata.Base | None:
    if image.base is None:
        return None
    dependency = config.images[image.base]
    first = all_tags[image.base][0][:1]
    name = f"{dependency.repository}:{first[0].value}" if first else dependency.repository
    return metadata.Base(name, external.get(image.base) or digest_placeholder(image.base))


def _pull(image: Image, options: Options) -> list[Part]:
    pull = image.pull if options.pull is None else options.pull
    if not pull:
        return []
    return [Part(("--pull",), "pull: always fetch the newest base images")]


def _input_labels(inputs: changes.ImageInputs | None) -> list[Part]:
    if inputs is None:
        return []
    parts = json.dumps(dict(sorted(inputs.parts.items())), separators=(",", ":"))
    return [
        Part(
            ("--label", f"{changes.LABEL}={inputs.digest}"),
            "input digest: a later --if-changed run compares it with its own",
        ),
        Part(("--label", f"{changes.PARTS_LABEL}={parts}"), "the digest of each input"),
    ]


def _reproducible(
    image: Image, git: GitContext, options: Options
) -> tuple[list[Part], tuple[str, ...]]:
    if not image.reproducible:
        return [], ()
    if git.commit_time is None:
        return [], ("reproducible: no commit time, so no SOURCE_DATE_EPOCH",)
    epoch = int(git.commit_time.timestamp())
    part = Part(
        ("--build-arg", f"SOURCE_DATE_EPOCH={epoch}"),
        "reproducible: timestamps from the commit time, the same for every image of the run",
    )
    notes: tuple[str, ...] = ()
    if options.push and options.facts.rewrite_timestamp is False:
        notes = (
            "reproducible: this builder cannot rewrite layer file times (rewrite-timestamp "
            "conflicts with the docker driver's unpack, moby/buildkit#4230); image timestamps "
            "follow SOURCE_DATE_EPOCH, layers are reused from cache",
        )
    return [part], notes


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


def _dependency(
    dependency: Image,
    options: Options,
    dependency_tags: list[tags.Tag],
    published: str | None = None,
) -> Part:
    # The dependent builds on the exact result just built, never on whatever a mutable tag
    # points to in the registry at that moment.
    name = dependency.name
    placeholder = digest_placeholder(name)
    if published:
        # Not built by this run (unchanged, or --no-deps): the digest its tag held at planning.
        source = f"docker-image://{dependency.repository}@{published}"
        why = f"named context {name!r}: the published digest of {name}, not rebuilt by this run"
    elif options.push:
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


def _output(image: Image, options: Options, has_dependents: bool, staged: bool) -> list[Part]:
    if options.push and not staged:
        return [Part(("--push",), graph.DIRECT_WHY)]
    if options.push:
        text, why = publishing.staging_output(graph.repositories(image))
        if image.reproducible and options.facts.rewrite_timestamp:
            text += ",rewrite-timestamp=true"
            why += "; layer file times rewritten to SOURCE_DATE_EPOCH"
        return [Part(("--output", text), why)]
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
