"""A tiny template syntax for config values: ``{{name}}`` and nothing else.

No expressions, filters or code: a value is literal text with variables in double braces,
so a template can never run anything. Unknown variables are config errors (found at load
time with a did-you-mean); a known variable with no value in this build is reported by name,
never silently rendered as something else.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone

from buildkit_runner import versions
from buildkit_runner.git import GitContext

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

# Variables every templated field can use (docs/tags.md#templates explains each).
GIT_VARIABLES = (
    "sha",
    "short_sha",
    "branch",
    "tag",
    "pr",
    "trigger",
    "commit_date",
    "commit_time",
    "date",
    "source",
    "major",
    "minor",
    "patch",
    "project",
    "image",
    "repository",
)
# `version` falls back to the image's first tag, so it exists only once tags are computed.
IMAGE_VARIABLES = (*GIT_VARIABLES, "version")
VERSION_VARIABLES = ("version", "major", "minor", "patch", "raw")


def names(text: str) -> list[str]:
    """The variables ``text`` uses, in order."""
    return _VARIABLE.findall(text)


def is_template(text: str) -> bool:
    return "{{" in text


def problems(text: str, allowed: Iterable[str]) -> list[str]:
    """What is wrong with ``text`` as a template over ``allowed`` variables."""
    allowed = tuple(dict.fromkeys(allowed))
    found: list[str] = []
    leftover = _VARIABLE.sub("", text)
    if "{{" in leftover or "}}" in leftover:
        found.append(
            f"unbalanced braces in {text!r}: a variable is written {{{{name}}}} "
            "(letters, digits and _), e.g. {{sha}}"
        )
    for name in names(text):
        if name in allowed:
            continue
        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else "known: " + ", ".join(allowed)
        found.append(f"unknown template variable {name!r}; {hint}")
    return found


def render(text: str, values: Mapping[str, str | None]) -> tuple[str, list[str]]:
    """Fill ``text``; return the result and the names of variables without a value."""
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        value = values.get(match[1])
        if value is None:
            missing.append(match[1])
            return ""
        return value

    return _VARIABLE.sub(fill, text), list(dict.fromkeys(missing))


def git_values(
    git: GitContext, *, project: str = "", image: str = "", repository: str = ""
) -> dict[str, str | None]:
    """The value of each of :data:`GIT_VARIABLES` for this build; None where unknown."""
    version = versions.highest(git.tags, "semver") or versions.highest(git.tags, "pep440")
    commit = git.commit_time.astimezone(timezone.utc) if git.commit_time else None
    return {
        "sha": git.sha,
        "short_sha": git.sha[:7] if git.sha else None,
        "branch": git.branch,
        "tag": version.raw if version else (git.tags[0] if git.tags else None),
        "pr": git.pr_number,
        "trigger": git.trigger,
        "commit_date": commit.strftime("%Y%m%d") if commit else None,
        "commit_time": rfc3339(commit) if commit else None,
        "date": git.now.astimezone(timezone.utc).strftime("%Y%m%d"),
        "source": git.source,
        "major": str(version.major) if version else None,
        "minor": str(version.minor) if version else None,
        "patch": str(version.patch) if version else None,
        "project": project or None,
        "image": image or None,
        "repository": repository or None,
    }


def rfc3339(moment: datetime) -> str:
    """UTC, whole seconds, ``Z``: the form OCI's ``created`` annotation expects."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
