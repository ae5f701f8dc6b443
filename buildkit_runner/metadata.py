"""OCI labels and annotations (org.opencontainers.image.*) from git and config.

``created`` is the commit's time by default, so two builds of one commit carry the same
value. ``source`` comes from GitContext.source, which never holds credentials (git.source_url).
Templates in build args, labels and annotations are filled here; a variable without a value
drops that one entry with a note instead of rendering a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from buildkit_runner import templates, versions
from buildkit_runner.config import Image
from buildkit_runner.git import GitContext
from buildkit_runner.tags import Tag

OCI = "org.opencontainers.image."


@dataclass(frozen=True)
class Entry:
    key: str
    value: str
    why: str


@dataclass(frozen=True)
class Metadata:
    version: str | None
    build_args: tuple[Entry, ...]
    labels: tuple[Entry, ...]
    annotations: tuple[Entry, ...]
    # One line per value that could not be filled, with the reason.
    skipped: tuple[str, ...]


@dataclass(frozen=True)
class Base:
    """The depends-on image this one is built FROM: its reference and digest placeholder."""

    name: str
    digest: str


def version_of(git: GitContext, tags: Sequence[Tag]) -> str | None:
    """The release version at HEAD (``v1.2.3`` → ``1.2.3``), else the image's first tag."""
    release = versions.highest(git.tags, "semver") or versions.highest(git.tags, "pep440")
    if release is not None:
        return release.version
    return tags[0].value if tags else None


def compute(
    image: Image, git: GitContext, tags: Sequence[Tag], project: str, base: Base | None = None
) -> Metadata:
    """Every build arg, label and annotation of ``image``, with why each is there."""
    values = templates.git_values(
        git, project=project, image=image.name, repository=image.repository
    )
    version = version_of(git, tags)
    values["version"] = version
    skipped: list[str] = []

    build_args = _render(image.build_args, values, "build-args", "build arg from config", skipped)
    labels: dict[str, Entry] = {}
    annotations: dict[str, Entry] = {}
    oci = _oci(image, git, values, base, skipped)
    if image.metadata.labels:
        labels.update((k, Entry(k, v, f"OCI label: {why}")) for k, v, why in oci)
    if image.metadata.annotations:
        annotations.update((k, Entry(k, v, f"OCI annotation: {why}")) for k, v, why in oci)
    # The config's own entries win over the automatic ones with the same key.
    for entry in _render(image.labels, values, "labels", "label from config", skipped):
        labels[entry.key] = entry
    for entry in _render(
        image.annotations, values, "annotations", "annotation from config", skipped
    ):
        annotations[entry.key] = entry

    return Metadata(
        version=version,
        build_args=tuple(build_args),
        labels=tuple(labels.values()),
        annotations=tuple(annotations.values()),
        skipped=tuple(skipped),
    )


def _render(
    pairs: Iterable[tuple[str, str]],
    values: Mapping[str, str | None],
    table: str,
    why: str,
    skipped: list[str],
) -> list[Entry]:
    rendered = []
    for key, text in pairs:
        value, missing = templates.render(text, values)
        if missing:
            skipped.append(f"{table}.{key}: no value for {', '.join(missing)} in this build")
            continue
        rendered.append(Entry(key, value, why))
    return rendered


def _oci(
    image: Image,
    git: GitContext,
    values: Mapping[str, str | None],
    base: Base | None,
    skipped: list[str],
) -> list[tuple[str, str, str]]:
    settings = image.metadata
    created: str | None
    if settings.created == "now":
        created, created_why = templates.rfc3339(git.now), "the time of the build"
    else:
        created, created_why = values["commit_time"], "the commit's time"
    title = templates.render(settings.title, values)[0] if settings.title else image.name
    candidates: list[tuple[str, str | None, str, str]] = [
        ("created", created, created_why, "no commit time (no git commit)"),
        ("source", git.source, "the git remote", _NO_SOURCE),
        ("url", settings.url or git.source, "metadata.url, else the source", _NO_SOURCE),
        ("revision", git.sha, "the commit", "no commit sha"),
        ("version", values["version"], "the release version, else the first tag", "no tag"),
        ("ref.name", values["version"], "the same as version", "no tag"),
        ("title", title, "metadata.title, else the image name", ""),
        ("description", image.description, "the image's description", ""),
        ("licenses", settings.licenses, "metadata.licenses", ""),
        ("base.name", base.name if base else None, "the depends-on image built FROM", ""),
        ("base.digest", base.digest if base else None, "its digest from this run", ""),
    ]
    found = []
    for key, value, why, missing in candidates:
        if value:
            found.append((OCI + key, value, why))
        elif missing and (settings.labels or settings.annotations):
            skipped.append(f"{OCI}{key}: {missing}")
    return found


_NO_SOURCE = "no git remote with a web address and no CI repository variable"
