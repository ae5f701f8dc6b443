"""What the CI provider running bkrun says about the commit being built.

CI checkouts are often detached and shallow, so local git cannot tell the branch; each provider
publishes it in its own variables. One adapter per provider maps them onto :class:`CiFacts`.
docs/ci.md lists the variables each adapter reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Env = Mapping[str, str]


@dataclass(frozen=True)
class CiFacts:
    provider: str
    sha: str | None = None
    branch: str | None = None
    tag: str | None = None
    pr_number: str | None = None
    trigger: str | None = None
    default_branch: str | None = None
    # The repository's web address, as the provider names it; git.py strips credentials.
    source_url: str | None = None
    # ISO 8601 commit time, where the provider publishes it (GitLab).
    commit_time: str | None = None


def _get(env: Env, *names: str) -> str | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def _event(env: Env) -> dict[str, Any]:
    """The webhook payload GitHub (and Gitea, Forgejo) write to GITHUB_EVENT_PATH, or {}."""
    path = env.get("GITHUB_EVENT_PATH", "")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _github_like(env: Env, provider: str) -> CiFacts:
    # Gitea and Forgejo Actions publish the same GITHUB_* variables as GitHub Actions.
    event = env.get("GITHUB_EVENT_NAME", "")
    ref_type = env.get("GITHUB_REF_TYPE", "")
    ref = env.get("GITHUB_REF", "")
    payload = _event(env)
    pr_number = None
    # pull_request_target runs on the base branch's ref (refs/heads/main): still a PR build,
    # which must never move the base branch's tags or latest.
    is_pr = event in ("pull_request", "pull_request_target")
    if is_pr and ref.startswith("refs/pull/"):
        pr_number = ref.split("/")[2]
    if is_pr and pr_number is None and isinstance(payload.get("number"), int):
        pr_number = str(payload["number"])
    # GITHUB_REF_TYPE is recent on Gitea and Forgejo; the ref itself says the same.
    is_tag = ref_type == "tag" or ref.startswith("refs/tags/")
    is_branch = ref_type == "branch" or ref.startswith("refs/heads/")
    tag = (
        (_get(env, "GITHUB_REF_NAME") or ref.removeprefix("refs/tags/") or None) if is_tag else None
    )
    branch = _get(env, "GITHUB_HEAD_REF") if is_pr else None
    if branch is None and is_branch and not is_pr:
        branch = _get(env, "GITHUB_REF_NAME") or ref.removeprefix("refs/heads/")
    trigger = _trigger(event, tag, pr_number, schedule="schedule", manual="workflow_dispatch")
    repository = payload.get("repository")
    default = repository.get("default_branch") if isinstance(repository, dict) else None
    server, name = _get(env, "GITHUB_SERVER_URL"), _get(env, "GITHUB_REPOSITORY")
    return CiFacts(
        provider=provider,
        sha=_get(env, "GITHUB_SHA"),
        branch=branch,
        tag=tag,
        pr_number=pr_number,
        trigger="pull_request" if is_pr else trigger,
        default_branch=default if isinstance(default, str) and default else None,
        source_url=f"{server}/{name}" if server and name else None,
    )


def _branch(pr: str | None, tag: str | None, source: str | None, branch: str | None) -> str | None:
    """The branch built: a pull request's source branch; none for a tag build."""
    if pr:
        return source
    return None if tag else branch


def _trigger(
    event: str, tag: str | None, pr: str | None, *, schedule: str, manual: str
) -> str | None:
    if event == schedule:
        return "schedule"
    if pr:
        return "pull_request"
    if tag:
        return "tag"
    if event == manual:
        return "manual"
    return "push" if event else None


def github(env: Env) -> CiFacts:
    return _github_like(env, "github-actions")


def gitea(env: Env) -> CiFacts:
    return _github_like(env, "gitea-actions")


def forgejo(env: Env) -> CiFacts:
    return _github_like(env, "forgejo-actions")


def gitlab(env: Env) -> CiFacts:
    # Merge request pipelines, and pipelines for external (GitHub) pull requests.
    pr = _get(env, "CI_MERGE_REQUEST_IID", "CI_EXTERNAL_PULL_REQUEST_IID")
    tag = _get(env, "CI_COMMIT_TAG")
    source = env.get("CI_PIPELINE_SOURCE", "")
    source_branch = _get(
        env, "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME"
    )
    # CI_COMMIT_BRANCH is unset in tag and merge request pipelines.
    branch = _branch(pr, tag, source_branch, _get(env, "CI_COMMIT_BRANCH"))
    return CiFacts(
        provider="gitlab-ci",
        sha=_get(env, "CI_COMMIT_SHA"),
        branch=branch,
        tag=tag,
        pr_number=pr,
        trigger=_trigger(source, tag, pr, schedule="schedule", manual="web"),
        default_branch=_get(env, "CI_DEFAULT_BRANCH"),
        # Never CI_REPOSITORY_URL: it carries the job token.
        source_url=_get(env, "CI_PROJECT_URL"),
        commit_time=_get(env, "CI_COMMIT_TIMESTAMP"),
    )


def woodpecker(env: Env) -> CiFacts:
    event = env.get("CI_PIPELINE_EVENT", "")
    pr = _get(env, "CI_COMMIT_PULL_REQUEST")
    tag = _get(env, "CI_COMMIT_TAG")
    # CI_COMMIT_BRANCH is the target branch in pull_request pipelines; a tag (or release)
    # pipeline builds no branch, whatever CI_COMMIT_BRANCH holds there.
    branch = _branch(pr, tag, _get(env, "CI_COMMIT_SOURCE_BRANCH"), _get(env, "CI_COMMIT_BRANCH"))
    if event == "release" and tag:
        event = "tag"
    return CiFacts(
        provider="woodpecker",
        sha=_get(env, "CI_COMMIT_SHA"),
        branch=branch,
        tag=tag,
        pr_number=pr,
        trigger=_trigger(event, tag, pr, schedule="cron", manual="manual"),
        default_branch=_get(env, "CI_REPO_DEFAULT_BRANCH"),
        source_url=_get(env, "CI_REPO_URL"),
    )


def jenkins(env: Env) -> CiFacts:
    pr = _get(env, "CHANGE_ID")
    tag = _get(env, "TAG_NAME")
    branch = _get(env, "CHANGE_BRANCH") if pr else _get(env, "BRANCH_NAME", "GIT_BRANCH")
    if branch and branch.startswith("origin/"):
        branch = branch.removeprefix("origin/")
    return CiFacts(
        provider="jenkins",
        sha=_get(env, "GIT_COMMIT"),
        branch=None if tag else branch,
        tag=tag,
        pr_number=pr,
        trigger="pull_request" if pr else "tag" if tag else None,
        # The git plugin's clone URL; git.py strips any credentials in it.
        source_url=_get(env, "GIT_URL"),
    )


def buildkite(env: Env) -> CiFacts:
    pr = _get(env, "BUILDKITE_PULL_REQUEST")
    pr = None if pr == "false" else pr
    tag = _get(env, "BUILDKITE_TAG")
    source = env.get("BUILDKITE_SOURCE", "")
    return CiFacts(
        provider="buildkite",
        sha=_get(env, "BUILDKITE_COMMIT"),
        branch=None if tag else _get(env, "BUILDKITE_BRANCH"),
        tag=tag,
        pr_number=pr,
        trigger=_trigger(source, tag, pr, schedule="schedule", manual="ui"),
        default_branch=_get(env, "BUILDKITE_PIPELINE_DEFAULT_BRANCH"),
        source_url=_get(env, "BUILDKITE_REPO"),
    )


def drone(env: Env) -> CiFacts:
    event = env.get("DRONE_BUILD_EVENT", "")
    pr = _get(env, "DRONE_PULL_REQUEST")
    tag = _get(env, "DRONE_TAG")
    # DRONE_BRANCH "may be empty for tag events": when it is not, it names no branch built.
    branch = _branch(pr, tag, _get(env, "DRONE_SOURCE_BRANCH"), _get(env, "DRONE_BRANCH"))
    if event in ("promote", "rollback"):
        event = "custom"
    return CiFacts(
        provider="drone",
        sha=_get(env, "DRONE_COMMIT_SHA"),
        branch=branch,
        tag=tag,
        pr_number=pr,
        trigger=_trigger(event, tag, pr, schedule="cron", manual="custom"),
        default_branch=_get(env, "DRONE_REPO_BRANCH"),
        source_url=_get(env, "DRONE_REPO_LINK"),
    )


# Order matters: Forgejo's runner also sets GITEA_ACTIONS, and both set GITHUB_ACTIONS;
# Woodpecker sets CI=woodpecker.
PROVIDERS: tuple[tuple[Callable[[Env], bool], Callable[[Env], CiFacts]], ...] = (
    (lambda env: env.get("FORGEJO_ACTIONS") == "true", forgejo),
    (lambda env: env.get("GITEA_ACTIONS") == "true", gitea),
    (lambda env: env.get("GITHUB_ACTIONS") == "true", github),
    (lambda env: env.get("GITLAB_CI") == "true", gitlab),
    (lambda env: env.get("CI") == "woodpecker", woodpecker),
    (lambda env: bool(env.get("JENKINS_URL")), jenkins),
    (lambda env: env.get("BUILDKITE") == "true", buildkite),
    (lambda env: env.get("DRONE") == "true", drone),
)


def detect(env: Env) -> CiFacts | None:
    """The facts of the first provider whose marker variable is set, or None."""
    for matches, adapter in PROVIDERS:
        if matches(env):
            return adapter(env)
    return None
