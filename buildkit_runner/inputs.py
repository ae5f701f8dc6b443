"""Gather what the plan needs to know about each image's inputs: the I/O half of changes.py.

Hashes build contexts (after .dockerignore) and Dockerfiles, resolves base images to their
current digests through the registry HTTP API, and, for ``--if-changed`` and ``--no-deps``,
reads what each image's reference tag holds now. Runs before planning, like probe.py, so
``bkrun plan`` shows the same decisions ``bkrun build`` acts on.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from buildkit_runner import changes, dockerfile, dockerignore, log, metadata, refs
from buildkit_runner.changes import ImageInputs, Inputs, Published
from buildkit_runner.config import Config, Image
from buildkit_runner.errors import ConfigError, RegistryError
from buildkit_runner.git import GitContext

# bkrun's own build arg; it follows the commit time and must not make every commit "changed".
EPOCH_ARG = "SOURCE_DATE_EPOCH"
_HUB = ("docker.io", "index.docker.io")
_WORKERS = 8


def context_digest(context: Path, dockerfile_path: Path) -> str:
    """The digest of the files BuildKit would send for ``context``: path, type, mode, content."""
    try:
        matcher, _ = dockerignore.matcher_for(context, dockerfile_path)
    except dockerignore.PatternError as exc:
        raise ConfigError([f"{context}/.dockerignore: {exc}"]) from None
    digest = hashlib.sha256()
    for rel, full in _walk(context, matcher):
        info = full.lstat()
        mode = stat.S_IMODE(info.st_mode)
        if stat.S_ISLNK(info.st_mode):
            entry = f"l {rel} {full.readlink()}"
        elif stat.S_ISDIR(info.st_mode):
            entry = f"d {rel} {mode:o}"
        else:
            entry = f"f {rel} {mode:o} {_file_digest(full)}"
        digest.update(entry.encode("utf-8", "surrogateescape") + b"\0")
    return "sha256:" + digest.hexdigest()


def _walk(context: Path, matcher: dockerignore.Matcher) -> Iterable[tuple[str, Path]]:
    for directory, dirs, files in os.walk(context):
        dirs.sort()
        base = Path(directory)
        rel_dir = base.relative_to(context).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        kept_dirs = []
        for name in dirs:
            rel = prefix + name
            excluded = matcher.excluded(rel)
            if not excluded:
                yield rel, base / name
            # Without "!" patterns nothing below an excluded directory can come back.
            if not excluded or matcher.exclusions:
                kept_dirs.append(name)
        dirs[:] = kept_dirs
        for name in sorted(files):
            rel = prefix + name
            if not matcher.excluded(rel):
                yield rel, base / name


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _text_digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def build_args(config: Config, name: str, git: GitContext) -> dict[str, str]:
    """The build args as the plan renders them, without bkrun's own SOURCE_DATE_EPOCH."""
    from buildkit_runner.plan import compute_tags

    tags, _ = compute_tags(config, name, git)
    meta = metadata.compute(config.images[name], git, tags, config.project_name)
    return {e.key: e.value for e in meta.build_args if e.key != EPOCH_ARG}


def bases_of(config: Config, name: str, git: GitContext) -> dockerfile.Bases:
    image = config.images[name]
    try:
        text = (config.root / image.dockerfile).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return dockerfile.Bases((), ())
    return dockerfile.bases(text, build_args(config, name, git), skip=image.depends_on)


def undeclared_notes(config: Config, names: Iterable[str], git: GitContext) -> list[str]:
    """A note per FROM that names another configured image's repository without depends-on:
    it builds on whatever the registry holds, not on this run's result."""
    owners = {repo: other for other, i in config.images.items() for repo in _repositories(i)}
    notes = []
    for name in names:
        for reference in bases_of(config, name, git).images:
            owner = owners.get(_repository_of(reference) or "")
            if owner and owner != name and owner not in config.images[name].depends_on:
                notes.append(
                    f"images.{name}: its Dockerfile builds FROM {reference}, the repository "
                    f'of images.{owner}, without depends-on = ["{owner}"]: it gets whatever '
                    "the registry holds, not this run's result, and no build order"
                )
    return notes


def _repositories(image: Image) -> tuple[str, ...]:
    return image.repositories or (image.repository,)


def _repository_of(reference: str) -> str | None:
    try:
        parsed = refs.parse_reference(reference)
    except ValueError:
        return None
    return parsed.repository


def gather(
    config: Config,
    git: GitContext,
    names: tuple[str, ...],
    platforms: tuple[str, ...],
    compare: bool,
    env: Mapping[str, str],
) -> Inputs:
    """Input digests of ``names`` and everything they depend on; with ``compare``, what each
    image's reference tag holds now."""
    from buildkit_runner.plan import closure, compute_tags

    wanted = closure(config, names)
    found_bases = {name: bases_of(config, name, git) for name in wanted}
    references = {ref for b in found_bases.values() for ref in b.images}
    resolved = _parallel(references, lambda ref: _resolve(config, ref, env))

    contexts: dict[tuple[str, str], str] = {}
    images: dict[str, ImageInputs] = {}
    notes: list[str] = []
    for name in wanted:  # dependencies first: a dependent includes their digests
        image = config.images[name]
        key = (image.context, image.dockerfile)
        if key not in contexts:
            contexts[key] = context_digest(
                config.root / image.context, config.root / image.dockerfile
            )
        parts = _parts(config, name, git, platforms or image.platforms, contexts[key])
        for reference in found_bases[name].images:
            digest, problem = resolved[reference]
            parts[f"base:{reference}"] = digest or "unresolved"
            if problem:
                notes.append(f"images.{name}: base image {reference} not resolved: {problem}")
        for reference in found_bases[name].unresolved:
            parts[f"base:{reference}"] = "unresolved"
            notes.append(f"images.{name}: FROM {reference}: a variable without a value")
        for dependency in image.depends_on:
            parts[f"dependency:{dependency}"] = images[dependency].digest
        images[name] = ImageInputs(changes.combine(parts), parts)

    if compare:
        tags = {name: compute_tags(config, name, git)[0] for name in wanted}
        published = _parallel(wanted, lambda n: _published(config, n, tags[n], env))
        images = {n: ImageInputs(i.digest, i.parts, published[n]) for n, i in images.items()}
    for note in notes:
        log.get().warning("input_not_resolved", note=note)
    return Inputs(images, tuple(notes))


def _parts(
    config: Config, name: str, git: GitContext, platforms: tuple[str, ...], context: str
) -> dict[str, str]:
    image = config.images[name]
    text = (config.root / image.dockerfile).read_text(encoding="utf-8", errors="replace")
    args = build_args(config, name, git)
    return {
        "context": context,
        "dockerfile": _text_digest(text),
        "build-args": _text_digest(repr(sorted(args.items()))),
        "target": image.target or "",
        "platforms": ",".join(sorted(platforms)),
        "options": f"pull={image.pull},reproducible={image.reproducible}",
    }


def _parallel(items: Iterable[Any], work: Callable[[Any], Any]) -> dict[Any, Any]:
    items = list(dict.fromkeys(items))
    if not items:
        return {}
    with ThreadPoolExecutor(max_workers=min(_WORKERS, len(items))) as pool:
        return dict(zip(items, pool.map(work, items), strict=True))


def _client(config: Config, host: str, env: Mapping[str, str]) -> Any:
    from buildkit_runner import registry

    settings = config.registry_for(host)
    if host in _HUB:
        # Docker Hub's API answers on its own host, not docker.io.
        settings = type(settings)(name=settings.name, host="registry-1.docker.io", kind="dockerhub")
    return registry.client_for(settings, env)


def _resolve(config: Config, reference: str, env: Mapping[str, str]) -> tuple[str | None, str]:
    """The digest ``reference`` points to now, or None and why not."""
    try:
        parsed = refs.parse_reference(reference)
    except ValueError as exc:
        return None, str(exc)
    if parsed.digest:
        return parsed.digest, ""
    host = parsed.domain or "docker.io"
    path = parsed.path if parsed.domain or "/" in parsed.path else f"library/{parsed.path}"
    client = _client(config, host, env)
    try:
        found = client.find(f"{host}/{path}", parsed.tag or "latest")
    except (RegistryError, ConfigError) as exc:
        return None, exc.message
    finally:
        client.close()
    if found is None:
        return None, "no such image in its registry"
    return found[0], ""


def _published(
    config: Config, name: str, tags: list[Any], env: Mapping[str, str]
) -> Published | None:
    image = config.images[name]
    tag = changes.reference_tag(tags)
    if tag is None:
        return None
    reference = f"{image.repository}:{tag.value}"
    client = _client(config, image.repository.split("/", 1)[0], env)
    try:
        found = client.find(image.repository, tag.value)
        if found is None:
            return Published(reference)
        digest, body = found
        labels = _labels(client, image.repository, body)
    except (RegistryError, ConfigError) as exc:
        return Published(reference, error=exc.message)
    finally:
        client.close()
    parts = _decode_parts(labels.get(changes.PARTS_LABEL, ""))
    return Published(reference, digest, labels.get(changes.LABEL), parts)


def _labels(client: Any, repository: str, body: dict[str, Any]) -> dict[str, str]:
    entries = body.get("manifests")
    if entries is not None:
        # An index: every platform's config carries the same labels; read the first real one.
        entry = next((e for e in entries if (e.get("platform") or {}).get("os") != "unknown"), None)
        if entry is None:
            return {}
        _, body = client.manifest(repository, entry["digest"])
    config = body.get("config") or {}
    if not config.get("digest"):
        return {}
    blob = client.blob_json(repository, config["digest"])
    labels = (blob.get("config") or {}).get("Labels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def _decode_parts(text: str) -> dict[str, str]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
