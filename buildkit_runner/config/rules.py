"""Tag rules and image metadata settings in bkrun.toml (docs/tags.md describes each).

Every rule may carry ``prefix``, ``suffix`` and ``on`` (the kinds of build it applies to).
Templates (``{{sha}}``) are checked here, so an unknown variable is reported with its key path.
"""

from __future__ import annotations

import re
import typing
import zoneinfo
from collections.abc import Callable, Iterable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from buildkit_runner import refs, templates

# Prefixes start a tag, so they may not start with "." or "-"; suffixes only continue one.
_PREFIX_RE = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_.-]{0,63})?")
_SUFFIX_RE = re.compile(r"[A-Za-z0-9_.-]{0,64}")


class Model(BaseModel):
    # The same settings as config.models.Model, which imports this module.
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=lambda name: name.replace("_", "-"),
        hide_input_in_errors=True,
        strict=True,
    )


On = Literal["branch", "tag", "pr", "schedule", "push", "manual"]


def _prefix(value: str) -> str:
    if not _PREFIX_RE.fullmatch(value):
        raise ValueError(
            f"invalid prefix {value!r}: up to 64 of A-Z a-z 0-9 _ . -, not starting with . or -"
        )
    return value


def _suffix(value: str) -> str:
    if not _SUFFIX_RE.fullmatch(value):
        raise ValueError(f"invalid suffix {value!r}: up to 64 of A-Z a-z 0-9 _ . -")
    return value


def template_of(allowed: Iterable[str]) -> Callable[[str], str]:
    """A validator: the value is a template over ``allowed`` variables."""
    allowed = tuple(allowed)

    def check(value: str) -> str:
        found = templates.problems(value, allowed)
        if found:
            raise ValueError("; ".join(found))
        return value

    return check


def _raw_value(value: str) -> str:
    if not templates.is_template(value):
        problem = refs.tag_problem(value)
        if problem:
            raise ValueError(f"invalid tag {value!r}: {problem}")
        return value
    if "version" in templates.names(value):
        raise ValueError(
            "{{version}} comes from the tags themselves; use a semver rule with a "
            'suffix instead, e.g. { type = "semver", suffix = "-alpine" }'
        )
    return template_of(templates.GIT_VARIABLES)(value)


def _timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        import difflib

        close = difflib.get_close_matches(value, sorted(zoneinfo.available_timezones()), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else " (e.g. UTC, Europe/Berlin)"
        raise ValueError(f"unknown time zone {value!r}{hint}") from None
    return value


Prefix = Annotated[str, AfterValidator(_prefix)]
Suffix = Annotated[str, AfterValidator(_suffix)]
VersionPattern = Annotated[str, AfterValidator(template_of(templates.VERSION_VARIABLES))]
GitTemplate = Annotated[str, AfterValidator(template_of(templates.GIT_VARIABLES))]
ImageTemplate = Annotated[str, AfterValidator(template_of(templates.IMAGE_VARIABLES))]


class Rule(Model):
    prefix: Prefix = ""
    suffix: Suffix = ""
    # Unset: every kind of build the rule can produce a tag for.
    on: list[On] | None = None


class ShaRule(Rule):
    """The commit sha: ``sha-abc1234`` by default, the full sha with ``length = 40``."""

    type: Literal["sha"]
    length: int = Field(default=7, ge=4, le=40)
    prefix: Prefix = "sha-"


class BranchRule(Rule):
    """The branch name, sanitised into a valid tag; never for pull requests."""

    type: Literal["branch"]


class GitTagRule(Rule):
    """Each git tag pointing at the commit, sanitised."""

    type: Literal["tag"]


class PrRule(Rule):
    """``pr-<number>`` for pull and merge requests."""

    type: Literal["pr"]
    prefix: Prefix = "pr-"


class RefRule(Rule):
    """What is being built: ``pr-<number>`` for a pull request, else the git tags and branch."""

    type: Literal["ref"]


DEFAULT_VERSION_PATTERNS = ("{{version}}", "{{major}}.{{minor}}", "{{major}}")


class SemverRule(Rule):
    """Fan-out of a semver tag at HEAD: ``v1.2.3`` gives 1.2.3, 1.2 and 1."""

    type: Literal["semver"]
    patterns: list[VersionPattern] = Field(default_factory=lambda: [*DEFAULT_VERSION_PATTERNS])


class Pep440Rule(Rule):
    """The same fan-out for PEP 440 version tags (``1.2.3rc1``, ``1.2.3.post1``)."""

    type: Literal["pep440"]
    patterns: list[VersionPattern] = Field(default_factory=lambda: [*DEFAULT_VERSION_PATTERNS])


class EdgeRule(Rule):
    """``edge`` for the head of the default branch (or of ``branch``)."""

    type: Literal["edge"]
    value: Annotated[str, AfterValidator(_prefix)] = "edge"
    branch: str | None = None


class ScheduleRule(Rule):
    """Scheduled runs only: ``nightly`` by default, ``nightly-{{date}}`` for a dated tag."""

    type: Literal["schedule"]
    pattern: GitTemplate = "nightly"
    date_format: str = "%Y%m%d"
    timezone: Annotated[str, AfterValidator(_timezone)] = "UTC"


class LatestRule(Rule):
    """``latest``: see docs/tags.md#latest for the policies."""

    type: Literal["latest"]
    policy: Literal["auto", "release", "default-branch"] = "auto"


class RawRule(Rule):
    """A fixed tag, or a template over git values (``build-{{short_sha}}``)."""

    type: Literal["raw"]
    value: Annotated[str, AfterValidator(_raw_value)]


ALL_RULES = (
    ShaRule,
    BranchRule,
    GitTagRule,
    PrRule,
    RefRule,
    SemverRule,
    Pep440Rule,
    EdgeRule,
    ScheduleRule,
    LatestRule,
    RawRule,
)
RULE_TYPES = frozenset(
    typing.get_args(rule.model_fields["type"].annotation)[0] for rule in ALL_RULES
)
AnyRule = (
    ShaRule
    | BranchRule
    | GitTagRule
    | PrRule
    | RefRule
    | SemverRule
    | Pep440Rule
    | EdgeRule
    | ScheduleRule
    | LatestRule
    | RawRule
)


def _rule_shorthand(value: Any) -> Any:
    # `tags = ["sha", "branch"]` is the same as `tags = [{type = "sha"}, {type = "branch"}]`.
    if isinstance(value, str):
        return {"type": value}
    return value


Shorthand = Literal[
    "sha", "branch", "tag", "pr", "ref", "semver", "pep440", "edge", "schedule", "latest"
]
TagRule = Annotated[
    AnyRule,
    Field(discriminator="type"),
    # The schema shows the shorthand too, so editors accept `tags = ["sha", "latest"]`.
    BeforeValidator(_rule_shorthand, json_schema_input_type=Shorthand | AnyRule),
]


class Metadata(Model):
    """Automatic OCI labels and annotations (org.opencontainers.image.*)."""

    labels: bool | None = None
    annotations: bool | None = None
    # commit: the commit's time, so a rebuild of one commit gives the same value; now: the
    # time of the build.
    created: Literal["commit", "now"] | None = None
    title: ImageTemplate | None = None
    url: str | None = None
    licenses: str | None = None
