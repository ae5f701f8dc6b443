"""The shape of bkrun.toml, as pydantic models.

Keys are kebab-case in TOML (``default-branch``, ``build-args``) and snake_case in Python; the
alias generator maps one onto the other. Unknown keys are errors. These models describe the file
as written; :mod:`buildkit_runner.config.resolve` turns them into the frozen, fully defaulted
:class:`~buildkit_runner.config.resolve.Config` the rest of bkrun reads.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from buildkit_runner import refs

# The rule classes are re-exported: callers (and tests) write models.ShaRule.
from buildkit_runner.config.rules import (  # noqa: F401
    BranchRule,
    EdgeRule,
    GitTagRule,
    ImageTemplate,
    LatestRule,
    Metadata,
    Pep440Rule,
    PrRule,
    RawRule,
    RefRule,
    ScheduleRule,
    SemverRule,
    ShaRule,
    Suffix,
    TagRule,
)

NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")
# docker buildx prune --keep-storage sizes: 512MB, 10GB, 1.5g ...
SIZE_PATTERN = r"^[0-9]+(\.[0-9]+)?\s*([kKmMgGtT][bB]?|[bB])?$"
ENV_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def kebab(name: str) -> str:
    """The TOML spelling of a Python field name."""
    return name.replace("_", "-")


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=kebab,
        hide_input_in_errors=True,
    )


def _platform(value: str) -> str:
    problem = refs.platform_problem(value)
    if problem:
        raise ValueError(f"unknown platform {value!r}: {problem}")
    return value


def _tag_text(value: str) -> str:
    problem = refs.tag_problem(value)
    if problem:
        raise ValueError(f"invalid tag {value!r}: {problem}")
    return value


def _host(value: str) -> str:
    if not refs.DOMAIN_RE.fullmatch(value):
        raise ValueError(
            f"invalid registry host {value!r} (expected host[:port], e.g. 127.0.0.1:5000 "
            "or ghcr.io, without a scheme or path)"
        )
    return value


def _image_name(value: str) -> str:
    if not NAME_RE.fullmatch(value):
        raise ValueError(
            f"invalid name {value!r}: use lowercase letters, digits, '-' and '_', "
            "starting with a letter or digit"
        )
    return value


Platform = Annotated[str, AfterValidator(_platform)]
TagText = Annotated[str, AfterValidator(_tag_text)]
Host = Annotated[str, AfterValidator(_host)]
ImageName = Annotated[str, AfterValidator(_image_name)]


class Project(Model):
    name: str | None = None
    default_branch: str | None = None


def _env_name(value: str) -> str:
    if not ENV_RE.fullmatch(value):
        raise ValueError(
            f"invalid variable name {value!r}: give the name of an environment variable "
            "(e.g. REGISTRY_PASSWORD), never the value itself"
        )
    return value


EnvName = Annotated[str, AfterValidator(_env_name)]
RegistryKind = Literal[
    "distribution", "harbor", "ecr", "ghcr", "gitlab", "gitea", "forgejo", "dockerhub"
]
CacheBackend = Literal["registry", "inline", "local", "gha", "s3", "none"]
CacheWrite = Literal["auto", "always", "never"]


class Registry(Model):
    """A registry: where it is, what software runs it, how to authenticate and trust it."""

    host: Host
    # Unset: inferred from the host (ghcr.io, *.dkr.ecr.*.amazonaws.com ...), else distribution.
    kind: RegistryKind | None = None
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    insecure: bool = False
    ca_file: str | None = None
    # docker-container and remote builders read registry settings from their own
    # buildkitd.toml, which bkrun cannot inspect: set this once it holds them.
    builder_configured: bool = False


class S3Cache(Model):
    """Where an ``s3`` cache lives; credentials come from AWS_* variables, never from here."""

    bucket: str
    region: str
    prefix: str | None = None
    endpoint_url: str | None = None
    use_path_style: bool | None = None


class Cache(Model):
    """Build cache: imported with --cache-from, exported with --cache-to (docs/cache.md)."""

    enabled: bool = True
    backend: CacheBackend = "registry"
    mode: Literal["min", "max"] = "max"
    tag: TagText = "buildcache"
    repository: str | None = None
    ignore_error: bool = True
    write: CacheWrite = "auto"
    # One cache per branch (read the branch's, then the default branch's); false: one shared.
    per_branch: bool = True
    dir: str = ".bkrun/cache"
    scope: str | None = None
    s3: S3Cache | None = None
    cache_from: list[str] = []
    cache_to: list[str] = []


class CacheOverride(Model):
    """Per-image changes to the project's ``[cache]`` table."""

    enabled: bool | None = None
    backend: CacheBackend | None = None
    mode: Literal["min", "max"] | None = None
    tag: TagText | None = None
    repository: str | None = None
    ignore_error: bool | None = None
    write: CacheWrite | None = None
    per_branch: bool | None = None
    dir: str | None = None
    scope: str | None = None
    s3: S3Cache | None = None
    cache_from: list[str] | None = None
    cache_to: list[str] | None = None


class Secret(Model):
    """A build secret, passed by reference: its value never reaches argv, logs or plans."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    src: str | None = None


class Shared(Model):
    """Settings an image inherits from ``[defaults]`` unless it sets them itself."""

    registry: str | None = None
    platforms: list[Platform] | None = None
    build_args: dict[str, ImageTemplate] | None = None
    labels: dict[str, ImageTemplate] | None = None
    annotations: dict[str, ImageTemplate] | None = None
    tags: list[TagRule] | None = None
    # Marks every git-derived tag of a build from a work tree with uncommitted changes.
    dirty_suffix: Suffix | None = None
    metadata: Metadata | None = None
    provenance: bool | None = None
    secrets: list[Secret] | None = None


class Image(Shared):
    repository: str
    # More repositories that get the same tags (the cache stays with `repository`).
    repositories: list[str] = []
    context: str = "."
    dockerfile: str | None = None
    target: str | None = None
    description: str | None = None
    depends_on: list[ImageName] = []
    cache: CacheOverride | None = None


class GcRule(Model):
    """Tags matching ``pattern`` (a glob) beyond the newest ``keep``, or older than max-age."""

    pattern: str
    keep: int | None = Field(default=None, ge=0)
    max_age_days: float | None = Field(default=None, gt=0)


DEFAULT_GC_RULES = [
    GcRule.model_validate({"pattern": "buildcache-pr-*", "max-age-days": 14}),
    GcRule.model_validate({"pattern": "buildcache-*", "max-age-days": 30}),
]


class Gc(Model):
    """``bkrun gc``: which tags of the project's repositories are stale (docs/cache.md)."""

    rules: list[GcRule] = DEFAULT_GC_RULES


class Prune(Model):
    """``bkrun prune``: how much local build cache the builder keeps."""

    keep_storage: Annotated[str, Field(pattern=SIZE_PATTERN)] = "10GB"
    until: str | None = None


class ConfigFile(Model):
    """The whole file (or the ``[tool.bkrun]`` table of pyproject.toml)."""

    project: Project = Project()
    defaults: Shared = Shared()
    cache: Cache = Cache()
    registries: dict[ImageName, Registry] = {}
    gc: Gc = Gc()
    prune: Prune = Prune()
    images: dict[ImageName, Image]
