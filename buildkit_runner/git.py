"""Facts about the commit being built, from local git and the CI provider, as one GitContext.

Local git is read first; the CI provider's variables fill what a detached or shallow checkout
cannot tell (the branch, above all). Whatever cannot be determined is left empty and explained
in ``notes``, so the plan can say why a tag was skipped instead of guessing.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from buildkit_runner import ci

TRIGGERS = ("push", "pull_request", "tag", "schedule", "manual")


@dataclass(frozen=True)
class GitContext:
    sha: str | None
    branch: str | None
    default_branch: str
    tags: tuple[str, ...] = ()
    dirty: bool = False
    commit_time: datetime | None = None
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    trigger: str = "manual"
    pr_number: str | None = None
    provider: str = "local"
    notes: tuple[str, ...] = ()

    @property
    def is_default_branch(self) -> bool:
        return self.branch is not None and self.branch == self.default_branch


@dataclass(frozen=True)
class LocalGit:
    sha: str | None = None
    branch: str | None = None
    tags: tuple[str, ...] = ()
    dirty: bool = False
    commit_time: datetime | None = None
    shallow: bool = False
    available: bool = False


def _git(root: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def read_local(root: Path) -> LocalGit:
    """Read HEAD's facts with plain git commands; an absent git or repository gives nothing."""
    sha = _git(root, "rev-parse", "--verify", "-q", "HEAD")
    if sha is None:
        return LocalGit()

    branch = _git(root, "symbolic-ref", "--short", "-q", "HEAD") or None
    tags = _git(root, "tag", "--points-at", "HEAD") or ""
    status = _git(root, "status", "--porcelain") or ""
    timestamp = _git(root, "log", "-1", "--format=%ct", "HEAD")
    shallow = _git(root, "rev-parse", "--is-shallow-repository") == "true"

    return LocalGit(
        sha=sha,
        branch=branch,
        tags=tuple(sorted(t for t in tags.splitlines() if t)),
        dirty=bool(status),
        commit_time=(datetime.fromtimestamp(int(timestamp), timezone.utc) if timestamp else None),
        shallow=shallow,
        available=True,
    )


def _origin_head(root: Path) -> str | None:
    head = _git(root, "symbolic-ref", "--short", "-q", "refs/remotes/origin/HEAD")
    return head.removeprefix("origin/") if head else None


def context(
    root: Path,
    default_branch: str | None,
    env: Mapping[str, str],
    trigger: str | None = None,
    now: datetime | None = None,
) -> GitContext:
    """Combine local git and the CI provider's variables into one GitContext."""
    local = read_local(root)
    facts = ci.detect(env)
    notes: list[str] = []

    sha = local.sha or (facts.sha if facts else None)
    if sha is None:
        notes.append("no git commit found and no CI commit variable: sha tags skipped")

    branch = local.branch
    if facts and facts.branch and (branch is None or facts.pr_number):
        # Detached CI checkouts, and PR merge commits, carry the real branch in CI variables.
        branch = facts.branch
    tags = set(local.tags)
    if facts and facts.tag:
        tags.add(facts.tag)
    if branch is None and not tags:
        where = "detached HEAD" if local.available else "no git repository"
        hint = f"and no {facts.provider} branch variable" if facts else "and no CI variables"
        notes.append(f"{where} {hint}: branch tags skipped")
    if local.shallow:
        notes.append("shallow clone: git tags older than the clone depth are not seen")

    chosen_trigger = trigger or (facts.trigger if facts else None)
    if chosen_trigger is None:
        chosen_trigger = "tag" if facts and facts.tag else ("push" if facts else "manual")

    return GitContext(
        sha=sha,
        branch=branch,
        default_branch=default_branch
        or (facts.default_branch if facts else None)
        or _origin_head(root)
        or "main",
        tags=tuple(sorted(tags)),
        dirty=local.dirty,
        commit_time=local.commit_time,
        now=now or datetime.now(timezone.utc),
        trigger=chosen_trigger,
        pr_number=facts.pr_number if facts else None,
        provider=facts.provider if facts else "local",
        notes=tuple(notes),
    )
