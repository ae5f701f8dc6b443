"""Facts about the commit being built, from local git and the CI provider, as one GitContext.

Local git is read first; the CI provider's variables fill what a detached or shallow checkout
cannot tell (the branch, above all). Whatever cannot be determined is left empty and explained
in ``notes``, so the plan can say why a tag was skipped instead of guessing.
"""

from __future__ import annotations

import re
import subprocess
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from buildkit_runner import ci

TRIGGERS = ("push", "pull_request", "tag", "schedule", "manual")
# SHA-1 and SHA-256 object names; anything else in a CI variable ("HEAD") is no commit id.
_SHA_RE = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
# git's scp-like syntax: [user@]host:path
_SCP_RE = re.compile(r"(?:[^@/]+@)?(?P<host>[^:/]+):(?!//)(?P<path>.+)")


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
    # The repository's web address, credentials stripped (org.opencontainers.image.source).
    source: str | None = None
    # Every tag of the repository, to tell whether a release is the highest one; incomplete
    # (and then not trusted for that) in a shallow clone.
    all_tags: tuple[str, ...] = ()
    all_tags_known: bool = True

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
    remote: str | None = None
    all_tags: tuple[str, ...] = ()


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
    all_tags = _git(root, "tag", "--list") or ""

    return LocalGit(
        sha=sha,
        branch=branch,
        tags=tuple(sorted(t for t in tags.splitlines() if t)),
        dirty=bool(status),
        commit_time=(datetime.fromtimestamp(int(timestamp), timezone.utc) if timestamp else None),
        shallow=shallow,
        available=True,
        remote=_remote(root),
        all_tags=tuple(sorted(t for t in all_tags.splitlines() if t)),
    )


def _remote(root: Path) -> str | None:
    # origin, else the only remote there is; with several and no origin none is chosen.
    url = _git(root, "remote", "get-url", "origin")
    if url:
        return url
    names = (_git(root, "remote") or "").split()
    return _git(root, "remote", "get-url", names[0]) if len(names) == 1 else None


def source_url(remote: str) -> str | None:
    """The web address of a git remote, without credentials; None for a local path.

    ``https://user:token@host/org/x.git`` and ``git@host:org/x.git`` both give
    ``https://host/org/x``: the user part of a URL is dropped before anything else is read,
    so a token in a CI clone URL can never reach a label.
    """
    text = remote.strip()
    if "://" not in text:
        scp = _SCP_RE.fullmatch(text)
        if scp is None or "/" in scp["host"]:
            return None
        host, path, scheme = scp["host"], scp["path"], "https"
    else:
        # Drop the user part first, by hand: urlsplit chokes on some (GitLab's "[MASKED]").
        scheme_end = text.index("://") + 3
        netloc_end = text.find("/", scheme_end)
        netloc_end = len(text) if netloc_end < 0 else netloc_end
        netloc = text[scheme_end:netloc_end].rsplit("@", 1)[-1]
        try:
            parts = urllib.parse.urlsplit(text[:scheme_end] + netloc + text[netloc_end:])
        except ValueError:
            return None
        if parts.scheme not in ("http", "https", "ssh", "git", "git+ssh") or not parts.hostname:
            return None
        # http keeps its port (a plain-HTTP forge on :3000); an ssh port says nothing
        # about where the web interface is.
        scheme = "http" if parts.scheme == "http" else "https"
        try:
            keep_port = parts.port if parts.scheme in ("http", "https") else None
        except ValueError:
            return None
        host = parts.hostname + (f":{keep_port}" if keep_port else "")
        path = parts.path
    path = path.strip("/").removesuffix(".git").strip("/")
    return f"{scheme}://{host}/{path}" if path else f"{scheme}://{host}"


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

    sha = local.sha or _ci_sha(facts, notes)
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
        notes.append(
            "shallow clone: git tags older than the clone depth are not seen, so whether a "
            "release is the highest is unknown (fetch tags: git fetch --tags --unshallow)"
        )

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
        commit_time=local.commit_time or _ci_time(facts),
        now=now or datetime.now(timezone.utc),
        trigger=chosen_trigger,
        pr_number=facts.pr_number if facts else None,
        provider=facts.provider if facts else "local",
        notes=tuple(notes),
        source=_source(local, facts),
        all_tags=tuple(sorted({*local.all_tags, *tags})),
        all_tags_known=local.available and not local.shallow,
    )


def _ci_sha(facts: ci.CiFacts | None, notes: list[str]) -> str | None:
    if facts is None or facts.sha is None:
        return None
    if _SHA_RE.fullmatch(facts.sha):
        return facts.sha
    # Buildkite, for one, sets BUILDKITE_COMMIT=HEAD for builds started without a commit.
    notes.append(f"{facts.provider} commit variable holds {facts.sha!r}, not a commit id")
    return None


def _ci_time(facts: ci.CiFacts | None) -> datetime | None:
    if facts is None or facts.commit_time is None:
        return None
    try:
        parsed = datetime.fromisoformat(facts.commit_time.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(timezone.utc) if parsed.tzinfo else None


def _source(local: LocalGit, facts: ci.CiFacts | None) -> str | None:
    for remote in (local.remote, facts.source_url if facts else None):
        if remote and (url := source_url(remote)):
            return url
    return None
