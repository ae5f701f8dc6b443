"""ci: each provider's real variables, for branch pushes, tag pushes, PRs and schedules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from buildkit_runner.ci import CiFacts, detect

SHA = "f" * 40

CASES: list[tuple[str, dict[str, str], CiFacts]] = [
    # GitHub Actions
    (
        "github branch push",
        {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_REF_NAME": "main",
            "GITHUB_REF_TYPE": "branch",
            "GITHUB_HEAD_REF": "",
            "GITHUB_BASE_REF": "",
            "GITHUB_SHA": SHA,
        },
        CiFacts("github-actions", sha=SHA, branch="main", trigger="push"),
    ),
    (
        "github tag push",
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_REF": "refs/tags/v1.2.3",
            "GITHUB_REF_NAME": "v1.2.3",
            "GITHUB_REF_TYPE": "tag",
            "GITHUB_SHA": SHA,
        },
        CiFacts("github-actions", sha=SHA, tag="v1.2.3", trigger="tag"),
    ),
    (
        "github pull request",
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_REF": "refs/pull/42/merge",
            "GITHUB_REF_NAME": "42/merge",
            "GITHUB_REF_TYPE": "branch",
            "GITHUB_HEAD_REF": "feature/login",
            "GITHUB_BASE_REF": "main",
            "GITHUB_SHA": SHA,
        },
        CiFacts(
            "github-actions",
            sha=SHA,
            branch="feature/login",
            pr_number="42",
            trigger="pull_request",
        ),
    ),
    (
        # pull_request_target runs on the base branch's ref: still a PR, never a push to main.
        "github pull_request_target",
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "pull_request_target",
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_REF_NAME": "main",
            "GITHUB_REF_TYPE": "branch",
            "GITHUB_HEAD_REF": "feature/login",
            "GITHUB_BASE_REF": "main",
            "GITHUB_SHA": SHA,
        },
        CiFacts("github-actions", sha=SHA, branch="feature/login", trigger="pull_request"),
    ),
    (
        "github schedule",
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "schedule",
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_REF_NAME": "main",
            "GITHUB_REF_TYPE": "branch",
            "GITHUB_SHA": SHA,
        },
        CiFacts("github-actions", sha=SHA, branch="main", trigger="schedule"),
    ),
    (
        "github workflow_dispatch",
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "workflow_dispatch",
            "GITHUB_REF": "refs/heads/release",
            "GITHUB_REF_NAME": "release",
            "GITHUB_REF_TYPE": "branch",
            "GITHUB_SHA": SHA,
        },
        CiFacts("github-actions", sha=SHA, branch="release", trigger="manual"),
    ),
    # Gitea Actions: GITEA_ACTIONS plus the GITHUB_* compatibility variables.
    (
        "gitea branch push",
        {
            "GITEA_ACTIONS": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_REF_NAME": "main",
            "GITHUB_REF_TYPE": "branch",
            "GITHUB_SHA": SHA,
        },
        CiFacts("gitea-actions", sha=SHA, branch="main", trigger="push"),
    ),
    (
        "gitea tag push",
        {
            "GITEA_ACTIONS": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_REF": "refs/tags/v2",
            "GITHUB_REF_NAME": "v2",
            "GITHUB_REF_TYPE": "tag",
            "GITHUB_SHA": SHA,
        },
        CiFacts("gitea-actions", sha=SHA, tag="v2", trigger="tag"),
    ),
    (
        "gitea pull request",
        {
            "GITEA_ACTIONS": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_REF": "refs/pull/7/head",
            "GITHUB_REF_NAME": "7/head",
            "GITHUB_REF_TYPE": "branch",
            "GITHUB_HEAD_REF": "fix",
            "GITHUB_SHA": SHA,
        },
        CiFacts("gitea-actions", sha=SHA, branch="fix", pr_number="7", trigger="pull_request"),
    ),
    (
        "gitea schedule",
        {
            "GITEA_ACTIONS": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "schedule",
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_REF_NAME": "main",
            "GITHUB_REF_TYPE": "branch",
            "GITHUB_SHA": SHA,
        },
        CiFacts("gitea-actions", sha=SHA, branch="main", trigger="schedule"),
    ),
    # Forgejo Actions: FORGEJO_ACTIONS plus the GITHUB_* compatibility variables.
    (
        "forgejo branch push",
        {
            "FORGEJO_ACTIONS": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_REF": "refs/heads/dev",
            "GITHUB_REF_NAME": "dev",
            "GITHUB_REF_TYPE": "branch",
            "GITHUB_SHA": SHA,
        },
        CiFacts("forgejo-actions", sha=SHA, branch="dev", trigger="push"),
    ),
    (
        "forgejo tag push",
        {
            "FORGEJO_ACTIONS": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_REF": "refs/tags/v3",
            "GITHUB_REF_NAME": "v3",
            "GITHUB_REF_TYPE": "tag",
            "GITHUB_SHA": SHA,
        },
        CiFacts("forgejo-actions", sha=SHA, tag="v3", trigger="tag"),
    ),
    (
        "forgejo pull request",
        {
            "FORGEJO_ACTIONS": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_REF": "refs/pull/3/head",
            "GITHUB_REF_NAME": "3/head",
            "GITHUB_REF_TYPE": "branch",
            "GITHUB_HEAD_REF": "topic",
            "GITHUB_SHA": SHA,
        },
        CiFacts("forgejo-actions", sha=SHA, branch="topic", pr_number="3", trigger="pull_request"),
    ),
    (
        "forgejo schedule",
        {
            "FORGEJO_ACTIONS": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "schedule",
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_REF_NAME": "main",
            "GITHUB_REF_TYPE": "branch",
            "GITHUB_SHA": SHA,
        },
        CiFacts("forgejo-actions", sha=SHA, branch="main", trigger="schedule"),
    ),
    # GitLab CI
    (
        "gitlab branch push",
        {
            "CI": "true",
            "GITLAB_CI": "true",
            "CI_PIPELINE_SOURCE": "push",
            "CI_COMMIT_BRANCH": "main",
            "CI_COMMIT_REF_NAME": "main",
            "CI_COMMIT_SHA": SHA,
            "CI_DEFAULT_BRANCH": "main",
        },
        CiFacts("gitlab-ci", sha=SHA, branch="main", trigger="push", default_branch="main"),
    ),
    (
        "gitlab tag push",
        {
            "GITLAB_CI": "true",
            "CI_PIPELINE_SOURCE": "push",
            "CI_COMMIT_TAG": "v1.0.0",
            "CI_COMMIT_REF_NAME": "v1.0.0",
            "CI_COMMIT_SHA": SHA,
            "CI_DEFAULT_BRANCH": "main",
        },
        CiFacts("gitlab-ci", sha=SHA, tag="v1.0.0", trigger="tag", default_branch="main"),
    ),
    (
        "gitlab merge request",
        {
            "GITLAB_CI": "true",
            "CI_PIPELINE_SOURCE": "merge_request_event",
            "CI_MERGE_REQUEST_IID": "17",
            "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature/mr",
            "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
            "CI_COMMIT_REF_NAME": "feature/mr",
            "CI_COMMIT_SHA": SHA,
            "CI_DEFAULT_BRANCH": "main",
        },
        CiFacts(
            "gitlab-ci",
            sha=SHA,
            branch="feature/mr",
            pr_number="17",
            trigger="pull_request",
            default_branch="main",
        ),
    ),
    (
        "gitlab schedule",
        {
            "GITLAB_CI": "true",
            "CI_PIPELINE_SOURCE": "schedule",
            "CI_COMMIT_BRANCH": "main",
            "CI_COMMIT_SHA": SHA,
            "CI_DEFAULT_BRANCH": "trunk",
        },
        CiFacts("gitlab-ci", sha=SHA, branch="main", trigger="schedule", default_branch="trunk"),
    ),
    (
        "gitlab run pipeline from the web",
        {
            "GITLAB_CI": "true",
            "CI_PIPELINE_SOURCE": "web",
            "CI_COMMIT_BRANCH": "main",
            "CI_COMMIT_SHA": SHA,
        },
        CiFacts("gitlab-ci", sha=SHA, branch="main", trigger="manual"),
    ),
    # Woodpecker
    (
        "woodpecker branch push",
        {
            "CI": "woodpecker",
            "CI_PIPELINE_EVENT": "push",
            "CI_COMMIT_BRANCH": "main",
            "CI_COMMIT_SHA": SHA,
            "CI_REPO_DEFAULT_BRANCH": "main",
        },
        CiFacts("woodpecker", sha=SHA, branch="main", trigger="push", default_branch="main"),
    ),
    (
        "woodpecker tag push",
        {
            "CI": "woodpecker",
            "CI_PIPELINE_EVENT": "tag",
            "CI_COMMIT_TAG": "v4",
            "CI_COMMIT_SHA": SHA,
            "CI_REPO_DEFAULT_BRANCH": "main",
        },
        CiFacts("woodpecker", sha=SHA, tag="v4", trigger="tag", default_branch="main"),
    ),
    (
        "woodpecker pull request",
        {
            "CI": "woodpecker",
            "CI_PIPELINE_EVENT": "pull_request",
            "CI_COMMIT_PULL_REQUEST": "12",
            "CI_COMMIT_BRANCH": "main",
            "CI_COMMIT_SOURCE_BRANCH": "feature/wp",
            "CI_COMMIT_TARGET_BRANCH": "main",
            "CI_COMMIT_SHA": SHA,
            "CI_REPO_DEFAULT_BRANCH": "main",
        },
        CiFacts(
            "woodpecker",
            sha=SHA,
            branch="feature/wp",
            pr_number="12",
            trigger="pull_request",
            default_branch="main",
        ),
    ),
    (
        "woodpecker cron",
        {
            "CI": "woodpecker",
            "CI_PIPELINE_EVENT": "cron",
            "CI_COMMIT_BRANCH": "main",
            "CI_COMMIT_SHA": SHA,
        },
        CiFacts("woodpecker", sha=SHA, branch="main", trigger="schedule"),
    ),
    # Jenkins (multibranch pipeline)
    (
        "jenkins branch build",
        {
            "JENKINS_URL": "https://jenkins.example.com/",
            "BRANCH_NAME": "main",
            "GIT_BRANCH": "origin/main",
            "GIT_COMMIT": SHA,
        },
        CiFacts("jenkins", sha=SHA, branch="main"),
    ),
    (
        "jenkins freestyle job with only GIT_BRANCH",
        {
            "JENKINS_URL": "https://jenkins.example.com/",
            "GIT_BRANCH": "origin/release/1.x",
            "GIT_COMMIT": SHA,
        },
        CiFacts("jenkins", sha=SHA, branch="release/1.x"),
    ),
    (
        "jenkins tag build",
        {
            "JENKINS_URL": "https://jenkins.example.com/",
            "BRANCH_NAME": "v5",
            "TAG_NAME": "v5",
            "GIT_COMMIT": SHA,
        },
        CiFacts("jenkins", sha=SHA, tag="v5", trigger="tag"),
    ),
    (
        "jenkins change request",
        {
            "JENKINS_URL": "https://jenkins.example.com/",
            "BRANCH_NAME": "PR-9",
            "CHANGE_ID": "9",
            "CHANGE_BRANCH": "feature/j",
            "CHANGE_TARGET": "main",
            "GIT_COMMIT": SHA,
        },
        CiFacts("jenkins", sha=SHA, branch="feature/j", pr_number="9", trigger="pull_request"),
    ),
    # Buildkite
    (
        "buildkite branch build",
        {
            "CI": "true",
            "BUILDKITE": "true",
            "BUILDKITE_SOURCE": "webhook",
            "BUILDKITE_BRANCH": "main",
            "BUILDKITE_TAG": "",
            "BUILDKITE_PULL_REQUEST": "false",
            "BUILDKITE_COMMIT": SHA,
            "BUILDKITE_PIPELINE_DEFAULT_BRANCH": "main",
        },
        CiFacts("buildkite", sha=SHA, branch="main", trigger="push", default_branch="main"),
    ),
    (
        "buildkite tag build",
        {
            "BUILDKITE": "true",
            "BUILDKITE_SOURCE": "webhook",
            "BUILDKITE_BRANCH": "v6",
            "BUILDKITE_TAG": "v6",
            "BUILDKITE_PULL_REQUEST": "false",
            "BUILDKITE_COMMIT": SHA,
        },
        CiFacts("buildkite", sha=SHA, tag="v6", trigger="tag"),
    ),
    (
        "buildkite pull request",
        {
            "BUILDKITE": "true",
            "BUILDKITE_SOURCE": "webhook",
            "BUILDKITE_BRANCH": "feature/bk",
            "BUILDKITE_PULL_REQUEST": "31",
            "BUILDKITE_PULL_REQUEST_BASE_BRANCH": "main",
            "BUILDKITE_COMMIT": SHA,
        },
        CiFacts("buildkite", sha=SHA, branch="feature/bk", pr_number="31", trigger="pull_request"),
    ),
    (
        "buildkite schedule",
        {
            "BUILDKITE": "true",
            "BUILDKITE_SOURCE": "schedule",
            "BUILDKITE_BRANCH": "main",
            "BUILDKITE_PULL_REQUEST": "false",
            "BUILDKITE_COMMIT": SHA,
        },
        CiFacts("buildkite", sha=SHA, branch="main", trigger="schedule"),
    ),
    # Drone
    (
        "drone branch push",
        {
            "CI": "true",
            "DRONE": "true",
            "DRONE_BUILD_EVENT": "push",
            "DRONE_BRANCH": "main",
            "DRONE_COMMIT_SHA": SHA,
            "DRONE_REPO_BRANCH": "main",
        },
        CiFacts("drone", sha=SHA, branch="main", trigger="push", default_branch="main"),
    ),
    (
        "drone tag push",
        {
            "DRONE": "true",
            "DRONE_BUILD_EVENT": "tag",
            "DRONE_TAG": "v7",
            "DRONE_COMMIT_SHA": SHA,
            "DRONE_REPO_BRANCH": "main",
        },
        CiFacts("drone", sha=SHA, tag="v7", trigger="tag", default_branch="main"),
    ),
    (
        "drone pull request",
        {
            "DRONE": "true",
            "DRONE_BUILD_EVENT": "pull_request",
            "DRONE_PULL_REQUEST": "5",
            "DRONE_BRANCH": "main",
            "DRONE_SOURCE_BRANCH": "feature/drone",
            "DRONE_TARGET_BRANCH": "main",
            "DRONE_COMMIT_SHA": SHA,
        },
        CiFacts("drone", sha=SHA, branch="feature/drone", pr_number="5", trigger="pull_request"),
    ),
    (
        "drone cron",
        {
            "DRONE": "true",
            "DRONE_BUILD_EVENT": "cron",
            "DRONE_BRANCH": "main",
            "DRONE_COMMIT_SHA": SHA,
        },
        CiFacts("drone", sha=SHA, branch="main", trigger="schedule"),
    ),
]


@pytest.mark.parametrize(("env", "facts"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_provider_variables_give_the_facts(env: dict[str, str], facts: CiFacts) -> None:
    assert detect(env) == facts


def test_no_provider_marker_means_no_facts() -> None:
    assert detect({}) is None
    # Variables of a provider without its marker are ignored.
    assert detect({"GITHUB_SHA": SHA, "CI_COMMIT_SHA": SHA, "CI": "true"}) is None
    assert detect({"GITHUB_ACTIONS": "false", "BUILDKITE": "1", "DRONE": "yes"}) is None


def test_empty_and_blank_values_count_as_missing() -> None:
    env = {"GITLAB_CI": "true", "CI_COMMIT_BRANCH": "  ", "CI_COMMIT_SHA": ""}
    assert detect(env) == CiFacts("gitlab-ci")


def test_forgejo_wins_over_gitea_and_github_markers() -> None:
    env = {"FORGEJO_ACTIONS": "true", "GITEA_ACTIONS": "true", "GITHUB_ACTIONS": "true"}
    facts = detect(env)
    assert facts is not None
    assert facts.provider == "forgejo-actions"


# Corrections found against the providers' documentation (docs/ci.md cites each page).
FIXES: list[tuple[str, dict[str, str], CiFacts]] = [
    (
        # Woodpecker keeps CI_COMMIT_BRANCH on tag pipelines; a tag build builds no branch.
        "woodpecker tag keeps CI_COMMIT_BRANCH",
        {
            "CI": "woodpecker",
            "CI_PIPELINE_EVENT": "tag",
            "CI_COMMIT_TAG": "v4",
            "CI_COMMIT_BRANCH": "main",
            "CI_COMMIT_SHA": SHA,
            "CI_REPO_URL": "https://codeberg.org/org/app",
        },
        CiFacts("woodpecker", sha=SHA, tag="v4", trigger="tag", source_url=(
            "https://codeberg.org/org/app")),
    ),
    (
        "woodpecker release event",
        {"CI": "woodpecker", "CI_PIPELINE_EVENT": "release", "CI_COMMIT_TAG": "v5"},
        CiFacts("woodpecker", tag="v5", trigger="tag"),
    ),
    (
        # DRONE_BRANCH "may be empty for tag events": it may also be set.
        "drone tag with DRONE_BRANCH set",
        {
            "DRONE": "true",
            "DRONE_BUILD_EVENT": "tag",
            "DRONE_TAG": "v7",
            "DRONE_BRANCH": "main",
            "DRONE_COMMIT_SHA": SHA,
            "DRONE_REPO_LINK": "https://github.com/org/app",
        },
        CiFacts("drone", sha=SHA, tag="v7", trigger="tag", source_url=(
            "https://github.com/org/app")),
    ),
    (
        "drone promote",
        {"DRONE": "true", "DRONE_BUILD_EVENT": "promote", "DRONE_BRANCH": "main"},
        CiFacts("drone", branch="main", trigger="manual"),
    ),
    (
        "gitlab external pull request",
        {
            "GITLAB_CI": "true",
            "CI_PIPELINE_SOURCE": "external_pull_request_event",
            "CI_EXTERNAL_PULL_REQUEST_IID": "4",
            "CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME": "fix/x",
            "CI_COMMIT_SHA": SHA,
            "CI_PROJECT_URL": "https://gitlab.example.com/g/app",
            "CI_REPOSITORY_URL": "https://gitlab-ci-token:glcbt-CANARY@gitlab.example.com/g/app.git",
            "CI_COMMIT_TIMESTAMP": "2024-01-02T03:04:05+00:00",
        },
        CiFacts(
            "gitlab-ci",
            sha=SHA,
            branch="fix/x",
            pr_number="4",
            trigger="pull_request",
            source_url="https://gitlab.example.com/g/app",
            commit_time="2024-01-02T03:04:05+00:00",
        ),
    ),
    (
        "gitea without GITHUB_REF_TYPE",
        {
            "GITEA_ACTIONS": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_REF": "refs/tags/v1.0.0",
            "GITHUB_REF_NAME": "v1.0.0",
            "GITHUB_SERVER_URL": "https://gitea.example.com",
            "GITHUB_REPOSITORY": "org/app",
        },
        CiFacts(
            "gitea-actions",
            tag="v1.0.0",
            trigger="tag",
            source_url="https://gitea.example.com/org/app",
        ),
    ),
    (
        # Forgejo's runner sets GITEA_ACTIONS as well as FORGEJO_ACTIONS.
        "forgejo runner sets both markers",
        {"FORGEJO_ACTIONS": "true", "GITEA_ACTIONS": "true", "GITHUB_ACTIONS": "true"},
        CiFacts("forgejo-actions"),
    ),
    (
        "buildkite with HEAD as the commit",
        {"BUILDKITE": "true", "BUILDKITE_COMMIT": "HEAD", "BUILDKITE_BRANCH": "main",
         "BUILDKITE_SOURCE": "ui", "BUILDKITE_REPO": "git@github.com:org/app.git"},
        CiFacts("buildkite", sha="HEAD", branch="main", trigger="manual",
                source_url="git@github.com:org/app.git"),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("env", "facts"), [c[1:] for c in FIXES], ids=[c[0] for c in FIXES])
def test_documented_corner_cases(env: dict[str, str], facts: CiFacts) -> None:
    assert detect(env) == facts


def test_github_event_payload_gives_default_branch_and_pr_number(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"number": 42, "repository": {"default_branch": "trunk"}}))
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request_target",
        "GITHUB_REF": "refs/heads/trunk",
        "GITHUB_REF_TYPE": "branch",
        "GITHUB_HEAD_REF": "feature/y",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "org/app",
    }
    facts = detect(env)
    assert facts is not None
    assert (facts.pr_number, facts.default_branch, facts.branch) == ("42", "trunk", "feature/y")
    assert facts.source_url == "https://github.com/org/app"

    event.write_text("not json")
    facts = detect(env)
    assert facts is not None and facts.default_branch is None
