"""Cache policy → the ``--cache-from`` / ``--cache-to`` specs of one build step. Pure.

The chain: a branch reads its own cache, then the default branch's, and writes only its own;
on the default branch the two are one. A pull request reads its own and the default branch's
and writes ``<tag>-pr-<n>``. Whether it writes at all follows ``write`` (auto: when pushing),
``--cache-export``, and what the probes found out before planning (:class:`Facts`): a cache
repository the credentials cannot write to, or a builder that cannot export what is asked,
keeps the imports and drops the export with a notice. docs/cache.md describes it all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from buildkit_runner import cachespec, kinds, tags
from buildkit_runner.config.resolve import CacheSettings, Image
from buildkit_runner.git import GitContext

# buildx prints this for a --cache-from ref that does not exist yet and carries on.
NOT_FOUND_RE = re.compile(
    r"^#\d+ ERROR: failed to configure registry cache importer: (?P<ref>\S+): not found$"
)


@dataclass(frozen=True)
class WriteProbe:
    """Whether the credentials at hand may push to a cache repository."""

    repository: str
    writable: bool | None  # None: the probe could not tell (registry unreachable ...)
    detail: str


@dataclass(frozen=True)
class Facts:
    """What the probes found before planning; an input to the plan, so plan == build.

    ``probed`` is False with ``--offline``: then nothing is known and nothing is dropped.
    """

    probed: bool = False
    writes: tuple[WriteProbe, ...] = ()
    driver: str | None = None
    # None: not asked (or the builder would not say).
    cache_export: bool | None = None
    image_manifest: bool | None = None
    # Whether the image exporter accepts rewrite-timestamp=true (reproducible images).
    rewrite_timestamp: bool | None = None
    # The builder.BuilderInfo the probes read, so the build's preflight need not ask again.
    builder: Any = field(default=None, compare=False, repr=False)

    def write_probe(self, repository: str) -> WriteProbe | None:
        return next((w for w in self.writes if w.repository == repository), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "probed": self.probed,
            "driver": self.driver,
            "cache_export": self.cache_export,
            "image_manifest": self.image_manifest,
            "rewrite_timestamp": self.rewrite_timestamp,
            "writes": [
                {"repository": w.repository, "writable": w.writable, "detail": w.detail}
                for w in self.writes
            ],
        }


@dataclass(frozen=True)
class Spec:
    text: str
    why: str


@dataclass(frozen=True)
class CachePlan:
    cache_from: tuple[Spec, ...] = ()
    cache_to: tuple[Spec, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chain:
    """Cache keys: the ones read, in order, and the one written (None: write nothing)."""

    read: tuple[str, ...]
    write: str | None
    why: str


def chain(settings: CacheSettings, git: GitContext) -> Chain:
    """The keys (tags of the cache repository) this commit reads and writes."""
    base = settings.tag
    if not settings.per_branch:
        return Chain((base,), base, "one shared cache (per-branch = false)")
    if git.trigger == "pull_request" and git.pr_number:
        own = branch_key(base, f"pr-{git.pr_number}")
        return Chain((own, base), own, f"pull request {git.pr_number}: reads the default branch")
    if git.branch is None:
        return Chain((base,), None, "branch unknown: reads the default branch's cache only")
    if git.branch == git.default_branch:
        return Chain((base,), base, f"default branch {git.branch!r}")
    own = branch_key(base, git.branch)
    return Chain((own, base), own, f"branch {git.branch!r}, then the default branch")


def branch_key(base: str, branch: str) -> str:
    """``buildcache`` + ``feature/Login#2`` → ``buildcache-feature-Login-2`` (a valid tag)."""
    return tags.sanitize(f"{base}-{branch}")


def plan_for(
    image: Image, git: GitContext, push: bool, export: bool | None, facts: Facts
) -> CachePlan:
    """The cache specs of ``image``'s step, with a reason for each and notices."""
    settings = image.cache
    if not settings.enabled:
        return CachePlan()
    keys = chain(settings, git)
    notes = list(_stage_notes(settings))
    read = tuple(_read_specs(image, keys, git))
    read += tuple(Spec(text, "cache-from from config") for text in settings.cache_from)

    write, why_not = _writes(settings, keys, push, export, facts)
    if not write:
        if why_not:
            notes.append(f"cache export dropped: {why_not}; --cache-from kept")
        return CachePlan(read, (), tuple(notes))
    assert keys.write is not None
    written = _write_spec(image, keys.write, facts)
    if isinstance(written, str):
        notes.append(f"cache export dropped: {written}; --cache-from kept")
        return CachePlan(read, (), tuple(notes))
    to: tuple[Spec, ...] = (written,) if written.text else ()
    to += tuple(Spec(text, "cache-to from config") for text in settings.cache_to)
    return CachePlan(read, to, tuple(notes))


def _writes(
    settings: CacheSettings, keys: Chain, push: bool, export: bool | None, facts: Facts
) -> tuple[bool, str]:
    if export is False:
        return False, "--no-cache-export"
    if settings.write == "never":
        return False, 'write = "never"'
    if not (export or push or settings.write == "always"):
        return False, ""  # a local build: nothing to say
    if keys.write is None:
        return False, keys.why
    if facts.cache_export is False and settings.backend in ("registry", "local"):
        return False, f"builder (driver {facts.driver}) cannot export cache"
    probe = facts.write_probe(settings.repository)
    if settings.backend == "registry" and probe is not None and probe.writable is False:
        return False, f"cannot write to {settings.repository} ({probe.detail})"
    return True, ""


def _stage_notes(settings: CacheSettings) -> list[str]:
    if settings.stages > 1 and (settings.mode == "min" or settings.backend == "inline"):
        what = "inline cache" if settings.backend == "inline" else "mode=min"
        return [
            f"{what} keeps only the final stage's layers: the Dockerfile's other "
            f"{settings.stages - 1} stage(s) rebuild on a fresh builder; mode=max keeps them"
        ]
    return []


def _read_specs(image: Image, keys: Chain, git: GitContext) -> list[Spec]:
    s = image.cache
    why = f"import cache, {keys.why}"
    if s.backend == "registry":
        return [Spec(f"type=registry,ref={s.repository}:{key}", why) for key in keys.read]
    if s.backend == "inline":
        # Inline cache lives in the image: read the tags the branch rule gives the chain.
        branches = [git.branch] if git.branch and git.trigger != "pull_request" else []
        branches.append(git.default_branch)
        refs = dict.fromkeys(f"{image.repository}:{tags.sanitize(b)}" for b in branches)
        return [
            Spec(f"type=registry,ref={ref}", "import the inline cache of the image") for ref in refs
        ]
    if s.backend == "local":
        return [Spec(f"type=local,src={s.dir}/{image.name}/{key}", why) for key in keys.read]
    if s.backend == "gha":
        return [Spec(f"type=gha,scope={s.scope}-{key}", why) for key in keys.read]
    if s.backend == "s3":
        return [Spec(_s3(s, f"{image.name}-{key}"), why) for key in keys.read]
    return []


def _write_spec(image: Image, key: str, facts: Facts) -> Spec | str:
    """The generated --cache-to, or why there is none the builder can honour."""
    s = image.cache
    if s.backend == "none":
        return Spec("", "")
    if s.backend == "inline":
        return Spec("type=inline", "embed mode=min cache in the image (backend = inline)")

    attrs: dict[str, str] = {}
    why = f"export cache, mode={s.mode}"
    if s.backend == "registry":
        attrs = {"type": "registry", "ref": f"{s.repository}:{key}", "mode": s.mode}
        extra, kind_why = kinds.EXPORT_ATTRS[s.kind]
        if extra and facts.image_manifest is False:
            return (
                f"{kind_why}, and the builder cannot write image-manifest cache (BuildKit < 0.12)"
            )
        attrs.update(extra)
        why += f"; registry kind {s.kind}: {kind_why}"
    elif s.backend == "local":
        attrs = {"type": "local", "dest": f"{s.dir}/{image.name}/{key}", "mode": s.mode}
    elif s.backend == "gha":
        attrs = {"type": "gha", "scope": f"{s.scope}-{key}", "mode": s.mode}
    elif s.backend == "s3":
        attrs = dict(cachespec.parse(_s3(s, f"{image.name}-{key}")))
        attrs["mode"] = s.mode
    if s.mode == "max":
        why += " (keeps intermediate stages)"
    if s.ignore_error:
        attrs["ignore-error"] = "true"
        why += "; a failed export does not fail the build"
    return Spec(cachespec.format_spec(attrs), why)


def _s3(s: CacheSettings, name: str) -> str:
    attrs = {"type": "s3", **dict(s.s3), "name": name}
    return cachespec.format_spec(attrs)


def not_found_ref(line: str) -> str | None:
    """The ref of buildx's "cache importer ... not found" line, else None."""
    match = NOT_FOUND_RE.match(line)
    return match.group("ref") if match else None


def registry_refs(specs: tuple[str, ...]) -> list[str]:
    """The registry refs named in cache specs (for gc: what the plan references)."""
    found = []
    for text in specs:
        attrs = cachespec.parse(text)
        if attrs.get("type") == "registry" and attrs.get("ref"):
            found.append(attrs["ref"])
    return found
