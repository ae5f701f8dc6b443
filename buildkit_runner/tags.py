"""Tag rules + GitContext → valid, de-duplicated tags, each with the rule that produced it.

A rule that produces nothing for this build says why, so ``bkrun tags`` and ``bkrun plan`` can
show it. docs/tags.md describes every rule; the same facts always give the same tags.
"""

from __future__ import annotations

import hashlib
import re
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from buildkit_runner import templates, versions
from buildkit_runner.config import rules as r
from buildkit_runner.git import GitContext
from buildkit_runner.refs import MAX_TAG_LENGTH

_INVALID = re.compile(r"[^A-Za-z0-9_.-]")
_HASH_LENGTH = 8
DIRTY_SUFFIX = "-dirty"
# A reason that already names its rule and pattern (one pattern of a semver rule).
_LABELLED = ("semver ", "pep440 ")

Rule = r.AnyRule
# (text before prefix and suffix, the rule's name for this tag)
Produced = list[tuple[str, str]]


@dataclass(frozen=True)
class Tag:
    value: str
    rule: str


def sanitize(value: str, keep: str = "") -> str:
    """Make ``value`` + ``keep`` a valid tag; empty when nothing usable is left of ``value``.

    Characters outside ``[A-Za-z0-9_.-]`` become ``-`` and leading ``.``/``-`` go. When the
    result is longer than 128 characters, ``value`` is cut and ends in a hash of the full text,
    so two long names that share a prefix still get different tags; ``keep`` (already valid:
    a suffix, ``-dirty``) always survives the cut.
    """
    text = _INVALID.sub("-", value).lstrip(".-")
    if not text:
        return ""
    room = MAX_TAG_LENGTH - len(keep)
    if len(text) <= room:
        return text + keep
    digest = hashlib.sha256((value + keep).encode()).hexdigest()[:_HASH_LENGTH]
    return f"{text[: room - _HASH_LENGTH - 1]}-{digest}{keep}"


def describe(rule: Rule) -> str:
    """A short, stable description of a rule for plans and reports."""
    if isinstance(rule, r.ShaRule):
        return "sha (full)" if rule.length == 40 else f"sha (length {rule.length})"
    if isinstance(rule, r.RawRule):
        return f"raw {rule.value!r}"
    if isinstance(rule, r.ScheduleRule):
        return f"schedule {rule.pattern!r}"
    if isinstance(rule, r.LatestRule) and rule.policy != "auto":
        return f"latest ({rule.policy})"
    return rule.type


def build_kinds(git: GitContext) -> set[str]:
    """What this build is, in the words of a rule's ``on`` list."""
    kinds = {git.trigger} & {"schedule", "push", "manual"}
    if git.trigger == "pull_request":
        kinds.add("pr")
    elif git.branch is not None:
        kinds.add("branch")
    if git.tags:
        kinds.add("tag")
    return kinds


def compute(
    rules: Sequence[Rule],
    git: GitContext,
    dirty_suffix: str = DIRTY_SUFFIX,
    values: Mapping[str, str | None] | None = None,
) -> tuple[list[Tag], list[str]]:
    """Apply ``rules``; return the tags and one note per rule (or pattern) that made nothing.

    ``values`` are the template variables for raw rules (templates.git_values).
    """
    values = values if values is not None else templates.git_values(git)
    found: dict[str, Tag] = {}
    skipped: list[str] = []

    for rule in rules:
        name = describe(rule)
        kinds = build_kinds(git)
        if rule.on and not kinds & set(rule.on):
            what = ", ".join(sorted(kinds)) or "none of those"
            skipped.append(f"{name}: on = {rule.on}: this build is {what}")
            continue

        produced, reasons = _apply(rule, rules, git, values)
        skipped.extend(why if why.startswith(_LABELLED) else f"{name}: {why}" for why in reasons)
        # A dirty tree is not the commit: mark git-derived tags so they never overwrite the
        # tag of a clean build. Raw values are the user's own; latest is skipped instead.
        mark = dirty_suffix if git.dirty and not isinstance(rule, r.RawRule) else ""
        for core, label in produced:
            value = sanitize(rule.prefix + core, rule.suffix + mark) if sanitize(core) else ""
            if not value:
                skipped.append(f"{label}: nothing usable left after sanitising")
            elif value == "latest" and git.dirty:
                skipped.append(f"{label}: the work tree has uncommitted changes")
            else:
                # The first rule that produces a value owns it; later duplicates are merged.
                found.setdefault(value, Tag(value, label))

    return list(found.values()), skipped


def _apply(
    rule: Rule, rules: Sequence[Rule], git: GitContext, values: Mapping[str, str | None]
) -> tuple[Produced, list[str]]:
    name = describe(rule)
    if isinstance(rule, r.RawRule):
        text, missing = templates.render(rule.value, values)
        if missing:
            return [], [f"no value for {', '.join(missing)} in this build"]
        return [(text, name)], []
    if isinstance(rule, r.ShaRule):
        if git.sha is None:
            return [], ["no commit sha (not a git repository and no CI variable)"]
        return [(git.sha[: rule.length], name)], []
    if isinstance(rule, r.BranchRule):
        return _branch(git, name)
    if isinstance(rule, r.GitTagRule):
        return _git_tags(git, name)
    if isinstance(rule, r.PrRule):
        return _pr(git, name)
    if isinstance(rule, r.RefRule):
        if git.trigger == "pull_request":
            found, reasons = _pr(git, name)
            return [(f"pr-{core}", label) for core, label in found], reasons
        tags, _ = _git_tags(git, name)
        branch, _ = _branch(git, name)
        if tags or branch:
            return tags + branch, []
        return [], ["no git tag at the commit and the branch is unknown"]
    if isinstance(rule, r.SemverRule | r.Pep440Rule):
        return _versions(rule, git)
    if isinstance(rule, r.EdgeRule):
        return _edge(rule, git)
    if isinstance(rule, r.ScheduleRule):
        return _schedule(rule, git, values)
    return _latest(rule, rules, git)


def _branch(git: GitContext, name: str) -> tuple[Produced, list[str]]:
    if git.trigger == "pull_request":
        return [], ["pull request builds do not move branch tags"]
    if git.branch is None:
        return [], ["branch unknown (not on a branch, and no CI branch variable)"]
    return [(git.branch, name)], []


def _git_tags(git: GitContext, name: str) -> tuple[Produced, list[str]]:
    if not git.tags:
        return [], ["no git tag points at the commit"]
    return [(tag, name) for tag in sorted(git.tags)], []


def _pr(git: GitContext, name: str) -> tuple[Produced, list[str]]:
    if git.trigger != "pull_request":
        return [], [f"not a pull request build (trigger: {git.trigger})"]
    if git.pr_number is None:
        return [], [f"pull request number unknown ({git.provider} gave none)"]
    return [(git.pr_number, name)], []


def _versions(rule: r.SemverRule | r.Pep440Rule, git: GitContext) -> tuple[Produced, list[str]]:
    # Every version tag at the commit fans out on its own (v1.2.3 and v2.0.0-rc.1 on one
    # commit give 1.2.3, 1.2, 1 and 2.0.0-rc.1), highest first so it owns a shared tag.
    found = versions.all_versions(git.tags, rule.type)
    if not found:
        seen = f" (tags at HEAD: {', '.join(git.tags)})" if git.tags else ""
        return [], [f"no {rule.type} version tag points at the commit{seen}"]

    produced: Produced = []
    reasons: list[str] = []
    for version in found:
        values = {
            "version": version.version,
            "major": str(version.major),
            "minor": str(version.minor),
            "patch": str(version.patch),
            "raw": version.raw,
        }
        for pattern in rule.patterns:
            label = f"{rule.type} {pattern}"
            full = {"version", "raw"} & set(templates.names(pattern))
            if version.prerelease and not full:
                # Pre-releases change often; moving 2 or 2.0 to one would break users of 1.x.
                reasons.append(f"{label}: pre-release {version.raw} gets only its full version")
                continue
            produced.append((templates.render(pattern, values)[0], label))
    return produced, reasons


def _edge(rule: r.EdgeRule, git: GitContext) -> tuple[Produced, list[str]]:
    target = rule.branch or git.default_branch
    if git.trigger == "pull_request":
        return [], ["pull request builds never move edge"]
    if git.branch is None:
        return [], [f"branch unknown, so not known to be {target!r}"]
    if git.branch != target:
        return [], [f"branch {git.branch!r} is not {target!r}"]
    return [(rule.value, "edge")], []


def _schedule(
    rule: r.ScheduleRule, git: GitContext, values: Mapping[str, str | None]
) -> tuple[Produced, list[str]]:
    if git.trigger != "schedule":
        return [], [
            f"not a scheduled run (trigger: {git.trigger}); a cron job passes --trigger schedule"
        ]
    moment = git.now.astimezone(zoneinfo.ZoneInfo(rule.timezone))
    text, missing = templates.render(
        rule.pattern, {**values, "date": moment.strftime(rule.date_format)}
    )
    if missing:
        return [], [f"no value for {', '.join(missing)} in this build"]
    return [(text, describe(rule))], []


def _latest(
    rule: r.LatestRule, rules: Iterable[Rule], git: GitContext
) -> tuple[Produced, list[str]]:
    name = describe(rule)
    if git.dirty:
        return [], ["the work tree has uncommitted changes"]
    if git.trigger == "pull_request":
        return [], ["pull request builds never move latest"]
    rules = list(rules)
    policy = rule.policy
    if policy == "auto":
        releases = any(isinstance(other, r.SemverRule | r.Pep440Rule) for other in rules)
        policy = "release" if releases else "default-branch"
    if policy == "default-branch":
        if git.branch is None:
            return [], ["branch unknown, so not known to be the default branch"]
        if not git.is_default_branch:
            return [], [f"branch {git.branch!r} is not the default branch {git.default_branch!r}"]
        return [("latest", name)], []
    return _latest_release(rules, git, name)


def _latest_release(rules: list[Rule], git: GitContext, name: str) -> tuple[Produced, list[str]]:
    pep440_only = any(isinstance(o, r.Pep440Rule) for o in rules) and not any(
        isinstance(o, r.SemverRule) for o in rules
    )
    scheme: versions.Scheme = "pep440" if pep440_only else "semver"
    # The highest *stable* version at the commit: a pre-release tagged on the same commit as
    # a release neither moves latest nor hides the release.
    version = versions.highest_stable(git.tags, scheme)
    if version is None:
        pre = versions.highest(git.tags, scheme)
        if pre is not None:
            return [], [f"pre-release {pre.raw} never moves latest"]
        return [], [f"latest follows releases and no {scheme} version tag points at the commit"]
    if not git.all_tags_known:
        return [], [
            f"cannot tell whether {version.raw} is the highest release: this checkout does "
            "not have every tag (shallow clone or no git; git fetch --tags --unshallow), "
            'or use policy = "default-branch"'
        ]
    top = versions.highest_stable(git.all_tags, scheme)
    if top is not None and top.key > version.key:
        return [], [f"{version.raw} is not the highest release ({top.raw} is)"]
    return [("latest", name)], []
