"""Tag rules + GitContext → valid, de-duplicated tags, each with the rule that produced it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from buildkit_runner.config import models
from buildkit_runner.git import GitContext
from buildkit_runner.refs import MAX_TAG_LENGTH

_INVALID = re.compile(r"[^A-Za-z0-9_.-]")
_HASH_LENGTH = 8
DIRTY_SUFFIX = "-dirty"


@dataclass(frozen=True)
class Tag:
    value: str
    rule: str


def sanitize(value: str) -> str:
    """Make ``value`` a valid tag; empty when nothing usable is left.

    Characters outside ``[A-Za-z0-9_.-]`` become ``-``, leading ``.``/``-`` go, and a value
    longer than 128 characters is cut and ends in a hash of the full value, so two long
    names that share a prefix still get different tags.
    """
    text = _INVALID.sub("-", value).lstrip(".-")
    if len(text) <= MAX_TAG_LENGTH:
        return text
    digest = hashlib.sha256(value.encode()).hexdigest()[:_HASH_LENGTH]
    return f"{text[: MAX_TAG_LENGTH - _HASH_LENGTH - 1]}-{digest}"


def describe(rule: models.ShaRule | models.BranchRule | models.LatestRule | models.RawRule) -> str:
    """A short, stable description of a rule for plans and reports."""
    if isinstance(rule, models.ShaRule):
        return "sha (full)" if rule.length == 40 else f"sha (length {rule.length})"
    if isinstance(rule, models.RawRule):
        return f"raw {rule.value!r}"
    return rule.type


def compute(
    rules: Iterable[models.ShaRule | models.BranchRule | models.LatestRule | models.RawRule],
    git: GitContext,
) -> tuple[list[Tag], list[str]]:
    """Apply ``rules``; return the tags and one note per rule that produced nothing."""
    tags: dict[str, Tag] = {}
    skipped: list[str] = []

    for rule in rules:
        name = describe(rule)
        value, why_not = _apply(rule, git)
        if value is None:
            skipped.append(f"{name}: {why_not}")
            continue
        value = sanitize(value)
        if not value:
            skipped.append(f"{name}: nothing usable left after sanitising")
            continue
        # The first rule that produces a value owns it; later duplicates are merged.
        tags.setdefault(value, Tag(value, name))

    return list(tags.values()), skipped


def _apply(
    rule: models.ShaRule | models.BranchRule | models.LatestRule | models.RawRule,
    git: GitContext,
) -> tuple[str | None, str]:
    # A build from a dirty tree is not the commit: mark every git-derived tag so it can never
    # overwrite the tag of a clean build, and never move latest.
    dirty = DIRTY_SUFFIX if git.dirty else ""

    if isinstance(rule, models.RawRule):
        return rule.value, ""

    if isinstance(rule, models.ShaRule):
        if git.sha is None:
            return None, "no commit sha (not a git repository and no CI variable)"
        return f"{rule.prefix}{git.sha[: rule.length]}{rule.suffix}{dirty}", ""

    if isinstance(rule, models.BranchRule):
        if git.trigger == "pull_request":
            return None, "pull request builds do not move branch tags"
        if git.branch is None:
            return None, "branch unknown (not on a branch, and no CI branch variable)"
        return f"{rule.prefix}{git.branch}{rule.suffix}{dirty}", ""

    if git.dirty:
        return None, "the work tree has uncommitted changes"
    if git.trigger == "pull_request":
        return None, "pull request builds never move latest"
    if git.branch is None:
        return None, "branch unknown, so not known to be the default branch"
    if not git.is_default_branch:
        return None, f"branch {git.branch!r} is not the default branch {git.default_branch!r}"
    return "latest", ""
