"""The shape of bkrun.toml, as pydantic models.

Keys are kebab-case in TOML (``default-branch``, ``build-args``) and snake_case in Python; the
alias generator maps one onto the other. Unknown keys are errors. These models describe the file
as written; :mod:`buildkit_runner.config.resolve` turns them into the frozen, fully defaulted
:class:`~buildkit_runner.config.resolve.Config` the rest of bkrun reads.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from buildkit_runner import refs, units

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
SIZE_PATTERN = units.SIZE_PATTERN
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
        # No coercion: provenance = "yes" or pull = 1 is an error ("expected true or false").
        strict=True,
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


def _arg_key(value: str) -> str:
    # docker reads --build-arg/--label/--annotation as KEY=VALUE: the key cannot hold "=".
    if not value.strip():
        raise ValueError(
            "empty key: give a name such as VERSION (build-args) or org.example.team (labels)"
        )
    if "=" in value:
        raise ValueError(
            f"key {value!r} contains '=': write the name as the key and the value after it, "
            'e.g. { VERSION = "1.2" }'
        )
    if value != value.strip() or any(c in value for c in "\n\r\t"):
        raise ValueError(f"key {value!r} has leading/trailing whitespace or a control character")
    return value


Platform = Annotated[str, AfterValidator(_platform)]
ArgKey = Annotated[str, AfterValidator(_arg_key)]
TagText = Annotated[str, AfterValidator(_tag_text)]
Host = Annotated[str, AfterValidator(_host)]
ImageName = Annotated[str, AfterValidator(_image_name)]


LockMode = Literal["wait", "skip", "fail"]
Trigger = Literal["push", "pull_request", "tag", "schedule", "manual"]


class Project(Model):
    name: str | None = None
    default_branch: str | None = None
    # What `bkrun build` does while another build of this project holds its lock.
    lock: LockMode = "wait"
    # Seconds to wait for the lock (lock = "wait") before failing.
    lock_timeout: float = Field(default=3600, gt=0)


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
    """A build secret, passed by reference: its value never reaches argv, logs or plans.

    Exactly one of ``env`` (a variable read at build time) and ``src`` (a file, relative to
    the directory holding the config file) says where the value comes from.
    """

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    src: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Secret:
        if self.env is not None and self.src is not None:
            raise ValueError(
                f"secret {self.id!r} sets both env and src; keep one: env (a variable read "
                "at build time) or src (a file)"
            )
        if self.env is None and self.src is None:
            variable = re.sub(r"[^A-Za-z0-9_]", "_", self.id).upper()
            raise ValueError(
                f'secret {self.id!r} has no source; add env = "<VARIABLE>" (read at build '
                'time) or src = "<file>" (relative to the config file), e.g. '
                f'{{ id = "{self.id}", env = "{variable}" }}'
            )
        return self


class Shared(Model):
    """Settings an image inherits from ``[defaults]`` unless it sets them itself."""

    registry: str | None = None
    platforms: list[Platform] | None = None
    build_args: dict[ArgKey, ImageTemplate] | None = None
    labels: dict[ArgKey, ImageTemplate] | None = None
    annotations: dict[ArgKey, ImageTemplate] | None = None
    tags: list[TagRule] | None = None
    # Marks every git-derived tag of a build from a work tree with uncommitted changes.
    dirty_suffix: Suffix | None = None
    metadata: Metadata | None = None
    provenance: bool | None = None
    secrets: list[Secret] | None = None
    # --pull: always fetch the newest base images instead of the engine's copies.
    pull: bool | None = None
    # SOURCE_DATE_EPOCH from the commit time, so an unchanged rebuild gives the same digest.
    reproducible: bool | None = None

    @field_validator("secrets")
    @classmethod
    def _unique_secret_ids(cls, value: list[Secret] | None) -> list[Secret] | None:
        ids = [secret.id for secret in value or ()]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(
                f"secret id(s) {', '.join(map(repr, twice))} appear more than once; "
                "each id names one mount (RUN --mount=type=secret,id=...): rename or remove one"
            )
        return value


class Profile(Model):
    """A named set of overrides chosen with --profile (BKRUN_PROFILE), e.g. nightly.

    Image settings here win over [defaults] and [images.<name>]; the run settings (trigger,
    jobs, if-changed, keep-going) are defaults for the options of the same name.
    """

    description: str | None = None
    pull: bool | None = None
    reproducible: bool | None = None
    platforms: list[Platform] | None = None
    tags: list[TagRule] | None = None
    trigger: Trigger | None = None
    jobs: int | None = Field(default=None, ge=1)
    if_changed: bool | None = None
    keep_going: bool | None = None


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


def _size(value: str) -> str:
    problem = units.size_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _duration(value: str) -> str:
    problem = units.duration_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class Prune(Model):
    """``bkrun prune``: how much local build cache the builder keeps."""

    keep_storage: Annotated[
        str, AfterValidator(_size), Field(json_schema_extra={"pattern": SIZE_PATTERN})
    ] = "10GB"
    # Only cache unused for longer than this Go duration (24h, 168h) is pruned.
    until: Annotated[str, AfterValidator(_duration)] | None = None


class ConfigFile(Model):
    """The whole file (or the ``[tool.bkrun]`` table of pyproject.toml)."""

    project: Project = Project()
    defaults: Shared = Shared()
    cache: Cache = Cache()
    registries: dict[ImageName, Registry] = {}
    gc: Gc = Gc()
    prune: Prune = Prune()
    profiles: dict[ImageName, Profile] = {}
    images: dict[ImageName, Image]
