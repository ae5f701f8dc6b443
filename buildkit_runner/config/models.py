"""The shape of bkrun.toml, as pydantic models.

Keys are kebab-case in TOML (``default-branch``, ``build-args``) and snake_case in Python; the
alias generator maps one onto the other. Unknown keys are errors. These models describe the file
as written; :mod:`buildkit_runner.config.resolve` turns them into the frozen, fully defaulted
:class:`~buildkit_runner.config.resolve.Config` the rest of bkrun reads.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from buildkit_runner import refs

NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")


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


class Registry(Model):
    host: Host


class ShaRule(Model):
    """The commit sha: ``sha-abc1234`` by default, the full sha with ``length = 40``."""

    type: Literal["sha"]
    length: int = Field(default=7, ge=4, le=40)
    prefix: str = "sha-"
    suffix: str = ""


class BranchRule(Model):
    """The branch name, sanitised into a valid tag."""

    type: Literal["branch"]
    prefix: str = ""
    suffix: str = ""


class LatestRule(Model):
    """``latest``, only on the default branch."""

    type: Literal["latest"]


class RawRule(Model):
    """A fixed tag."""

    type: Literal["raw"]
    value: TagText


def _rule_shorthand(value: Any) -> Any:
    # `tags = ["sha", "branch"]` is the same as `tags = [{type = "sha"}, {type = "branch"}]`.
    if isinstance(value, str):
        return {"type": value}
    return value


TagRule = Annotated[
    ShaRule | BranchRule | LatestRule | RawRule,
    Field(discriminator="type"),
    BeforeValidator(_rule_shorthand),
]


class Cache(Model):
    """Registry cache: imported with --cache-from, exported with --cache-to."""

    enabled: bool = True
    mode: Literal["min", "max"] = "max"
    tag: TagText = "buildcache"
    repository: str | None = None
    ignore_error: bool = True


class CacheOverride(Model):
    """Per-image changes to the project's ``[cache]`` table."""

    enabled: bool | None = None
    mode: Literal["min", "max"] | None = None
    tag: TagText | None = None
    repository: str | None = None
    ignore_error: bool | None = None


class Secret(Model):
    """A build secret, passed by reference: its value never reaches argv, logs or plans."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    src: str | None = None


class Shared(Model):
    """Settings an image inherits from ``[defaults]`` unless it sets them itself."""

    registry: str | None = None
    platforms: list[Platform] | None = None
    build_args: dict[str, str] | None = None
    labels: dict[str, str] | None = None
    tags: list[TagRule] | None = None
    provenance: bool | None = None
    secrets: list[Secret] | None = None


class Image(Shared):
    repository: str
    context: str = "."
    dockerfile: str | None = None
    target: str | None = None
    description: str | None = None
    depends_on: list[ImageName] = []
    cache: CacheOverride | None = None


class ConfigFile(Model):
    """The whole file (or the ``[tool.bkrun]`` table of pyproject.toml)."""

    project: Project = Project()
    defaults: Shared = Shared()
    cache: Cache = Cache()
    registries: dict[ImageName, Registry] = {}
    images: dict[ImageName, Image]
