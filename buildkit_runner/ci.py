"""What the CI provider running bkrun says about the commit being built.

CI checkouts are often detached and shallow, so local git cannot tell the branch; each provider
publishes it in its own variables. One adapter per provider maps them onto :class:`CiFacts`.
docs/ci.md lists the variables each adapter reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

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


def _get(env: Env, *names: str) -> str | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def _github_like(env: Env, provider: str) -> CiFacts:
    # Gitea and Forgejo Actions publish the same GITHUB_* variables as GitHub Actions.
    event = env.get("GITHUB_EVENT_NAME", "")
    ref_type = env.get("GITHUB_REF_TYPE", "")
    ref = env.get("GITHUB_REF", "")
    pr_number = None
    # pull_request_target runs on the base branch's ref (refs/heads/main): still a PR build,
    # which must never move the base branch's tags or latest.
    is_pr = event in ("pull_request", "pull_request_target")
    if is_pr and ref.startswith("refs/pull/"):
        pr_number = ref.split("/")[2]
    tag = _get(env, "GITHUB_REF_NAME") if ref_type == "tag" else None
    branch = _get(env, "GITHUB_HEAD_REF") if is_pr else None
    if branch is None and ref_type == "branch" and not is_pr:
        branch = _get(env, "GITHUB_REF_NAME")
    trigger = _trigger(event, tag, pr_number, schedule="schedule", manual="workflow_dispatch")
    return CiFacts(
        provider=provider,
        sha=_get(env, "GITHUB_SHA"),
        branch=branch,
        tag=tag,
        pr_number=pr_number,
        trigger="pull_request" if is_pr else trigger,
    )


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
    pr = _get(env, "CI_MERGE_REQUEST_IID")
    tag = _get(env, "CI_COMMIT_TAG")
    source = env.get("CI_PIPELINE_SOURCE", "")
    return CiFacts(
        provider="gitlab-ci",
        sha=_get(env, "CI_COMMIT_SHA"),
        branch=_get(env, "CI_COMMIT_BRANCH", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"),
        tag=tag,
        pr_number=pr,
        trigger=_trigger(source, tag, pr, schedule="schedule", manual="web"),
        default_branch=_get(env, "CI_DEFAULT_BRANCH"),
    )


def woodpecker(env: Env) -> CiFacts:
    event = env.get("CI_PIPELINE_EVENT", "")
    pr = _get(env, "CI_COMMIT_PULL_REQUEST")
    tag = _get(env, "CI_COMMIT_TAG")
    return CiFacts(
        provider="woodpecker",
        sha=_get(env, "CI_COMMIT_SHA"),
        branch=_get(env, "CI_COMMIT_SOURCE_BRANCH") if pr else _get(env, "CI_COMMIT_BRANCH"),
        tag=tag,
        pr_number=pr,
        trigger=_trigger(event, tag, pr, schedule="cron", manual="manual"),
        default_branch=_get(env, "CI_REPO_DEFAULT_BRANCH"),
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
    )


def drone(env: Env) -> CiFacts:
    event = env.get("DRONE_BUILD_EVENT", "")
    pr = _get(env, "DRONE_PULL_REQUEST")
    tag = _get(env, "DRONE_TAG")
    return CiFacts(
        provider="drone",
        sha=_get(env, "DRONE_COMMIT_SHA"),
        branch=_get(env, "DRONE_SOURCE_BRANCH") if pr else _get(env, "DRONE_BRANCH"),
        tag=tag,
        pr_number=pr,
        trigger=_trigger(event, tag, pr, schedule="cron", manual="custom"),
        default_branch=_get(env, "DRONE_REPO_BRANCH"),
    )


# Order matters: Gitea and Forgejo also set GITHUB_ACTIONS, Woodpecker sets CI=woodpecker.
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
