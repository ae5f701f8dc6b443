"""git: facts read from real repositories made in tmp_path, combined with CI variables."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from buildkit_runner import runner
from buildkit_runner.config.models import (
    BranchRule,
    LatestRule,
    ScheduleRule,
    SemverRule,
    ShaRule,
)
from buildkit_runner.git import LocalGit, context, read_local, source_url
from buildkit_runner.refs import TAG_RE
from buildkit_runner.tags import compute
from tests.fakes import COMMIT_TIME, commit_all, git, init_repo

NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)
SEMVER = SemverRule(type="semver")
LATEST = LatestRule(type="latest")
GITHUB_PUSH = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_EVENT_NAME": "push",
    "GITHUB_REF": "refs/heads/release",
    "GITHUB_REF_NAME": "release",
    "GITHUB_REF_TYPE": "branch",
    "GITHUB_SHA": "c" * 40,
}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository on main with one commit holding one file."""
    # Never find a repository above tmp_path, wherever the tests run.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = init_repo(tmp_path / "repo")
    (root / "file.txt").write_text("one\n")
    commit_all(root, "first")
    return root


def test_branch_checkout(repo: Path) -> None:
    local = read_local(repo)
    assert re.fullmatch(r"[0-9a-f]{40}", local.sha or "")
    assert local.sha == git(repo, "rev-parse", "HEAD")
    assert local.branch == "main"
    assert local.tags == ()
    assert local.dirty is False
    assert local.shallow is False
    assert local.commit_time == COMMIT_TIME
    assert local.available is True

    ctx = context(repo, None, env={}, now=NOW)
    assert (ctx.sha, ctx.branch, ctx.default_branch) == (local.sha, "main", "main")
    assert (ctx.trigger, ctx.provider, ctx.pr_number) == ("manual", "local", None)
    assert ctx.is_default_branch
    assert ctx.notes == ()
    assert ctx.now == NOW


def test_other_branch_name_with_slashes(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature/login")
    ctx = context(repo, "main", env={})
    assert ctx.branch == "feature/login"
    assert not ctx.is_default_branch


def test_detached_head_without_ci_skips_branch_tags_with_a_note(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")
    assert read_local(repo).branch is None
    ctx = context(repo, "main", env={})
    assert ctx.branch is None
    assert ctx.sha is not None
    assert ctx.notes == ("detached HEAD and no CI variables: branch tags skipped",)


def test_detached_head_in_ci_takes_the_branch_from_ci_variables(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")
    ctx = context(repo, "main", env=GITHUB_PUSH)
    assert ctx.branch == "release"
    assert ctx.provider == "github-actions"
    assert ctx.trigger == "push"
    assert ctx.sha == git(repo, "rev-parse", "HEAD")  # local git wins over GITHUB_SHA
    assert ctx.notes == ()


def test_detached_head_in_ci_without_a_branch_variable_says_which_provider(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "workflow_dispatch"}
    ctx = context(repo, "main", env=env)
    assert ctx.branch is None
    assert ctx.trigger == "manual"
    assert ctx.notes == (
        "detached HEAD and no github-actions branch variable: branch tags skipped",
    )


def test_pull_request_branch_comes_from_ci_even_on_a_local_branch(repo: Path) -> None:
    env = {
        "GITLAB_CI": "true",
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_IID": "8",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature/mr",
        "CI_DEFAULT_BRANCH": "develop",
    }
    ctx = context(repo, None, env=env)
    assert (ctx.branch, ctx.pr_number, ctx.trigger) == ("feature/mr", "8", "pull_request")
    assert ctx.default_branch == "develop"


def test_local_branch_wins_over_ci_branch_outside_pull_requests(repo: Path) -> None:
    assert context(repo, None, env=GITHUB_PUSH).branch == "main"


def test_tags_at_head_only(repo: Path) -> None:
    git(repo, "tag", "v0.9")
    commit_all(repo, "second")
    git(repo, "tag", "v1.0.0")
    git(repo, "tag", "-a", "v1.0", "-m", "annotated")
    assert read_local(repo).tags == ("v1.0", "v1.0.0")


def test_ci_tag_is_added_to_local_tags(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")
    git(repo, "tag", "local-tag")
    env = {"GITLAB_CI": "true", "CI_COMMIT_TAG": "v2.0.0", "CI_PIPELINE_SOURCE": "push"}
    ctx = context(repo, "main", env=env)
    assert ctx.tags == ("local-tag", "v2.0.0")
    assert ctx.trigger == "tag"
    assert ctx.notes == ()  # a tag build needs no branch


def test_modified_tracked_file_makes_the_tree_dirty(repo: Path) -> None:
    (repo / "file.txt").write_text("two\n")
    assert read_local(repo).dirty is True


def test_untracked_file_makes_the_tree_dirty(repo: Path) -> None:
    (repo / "new.txt").write_text("new\n")
    assert read_local(repo).dirty is True
    assert context(repo, None, env={}).dirty is True


def test_bkrun_state_dir_does_not_make_the_tree_dirty(repo: Path) -> None:
    runner.prepare_state_dir(str(repo), ".bkrun")
    (repo / ".bkrun" / "metadata" / "app.json").write_text("{}")
    assert read_local(repo).dirty is False


def test_shallow_clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    origin = init_repo(tmp_path / "origin", branch="trunk")
    commit_all(origin, "old")
    git(origin, "tag", "v0.1")
    commit_all(origin, "new")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{origin}", str(clone))

    local = read_local(clone)
    assert local.shallow is True
    assert local.branch == "trunk"
    assert "v0.1" not in local.tags

    ctx = context(clone, None, env={})
    assert ctx.notes == (
        "shallow clone: git tags older than the clone depth are not seen, so whether a "
        "release is the highest is unknown (fetch tags: git fetch --tags --unshallow)",
    )
    assert ctx.all_tags_known is False
    # No configured default branch and no CI: origin/HEAD tells it.
    assert ctx.default_branch == "trunk"
    assert ctx.is_default_branch


def test_no_repository_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    plain = tmp_path / "plain"
    plain.mkdir()
    assert read_local(plain) == LocalGit()

    ctx = context(plain, None, env={})
    assert (ctx.sha, ctx.branch, ctx.tags, ctx.dirty) == (None, None, (), False)
    assert ctx.default_branch == "main"
    assert ctx.trigger == "manual"
    assert ctx.notes == (
        "no git commit found and no CI commit variable: sha tags skipped",
        "no git repository and no CI variables: branch tags skipped",
    )


def test_repository_without_commits_is_like_no_repository(repo: Path, tmp_path: Path) -> None:
    empty = init_repo(tmp_path / "empty")
    assert read_local(empty) == LocalGit()


def test_no_repository_but_ci_variables_give_sha_and_branch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    ctx = context(tmp_path, None, env=GITHUB_PUSH)
    assert (ctx.sha, ctx.branch, ctx.provider) == ("c" * 40, "release", "github-actions")
    assert ctx.notes == ()


def test_git_missing_from_path_gives_nothing(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(repo / "no-such-dir"))
    assert read_local(repo) == LocalGit()


def test_default_branch_precedence(repo: Path) -> None:
    gitlab = {"GITLAB_CI": "true", "CI_DEFAULT_BRANCH": "from-ci", "CI_COMMIT_BRANCH": "main"}
    assert context(repo, "from-config", env=gitlab).default_branch == "from-config"
    assert context(repo, None, env=gitlab).default_branch == "from-ci"
    assert context(repo, None, env={}).default_branch == "main"


def test_explicit_trigger_overrides_the_provider(repo: Path) -> None:
    assert context(repo, None, env=GITHUB_PUSH, trigger="schedule").trigger == "schedule"
    assert context(repo, None, env={}, trigger="push").trigger == "push"


def test_ci_without_trigger_information_counts_as_a_push(repo: Path) -> None:
    env = {"JENKINS_URL": "https://ci.example.com/", "BRANCH_NAME": "main"}
    assert context(repo, None, env=env).trigger == "push"
    jenkins_tag = {"JENKINS_URL": "https://ci.example.com/", "TAG_NAME": "v1"}
    assert context(repo, None, env=jenkins_tag).trigger == "tag"


# --- scenarios: real repositories, the tags they give -------------------------------------

NASTY_BRANCHES = [
    "feature/login",
    "Feature/Login-Page",
    "fix#123",
    "user/ünïcödé",
    "feature/" + "long-" * 32,
]


@pytest.mark.parametrize("branch", NASTY_BRANCHES)
def test_nasty_branch_names_from_real_git(repo: Path, branch: str) -> None:
    git(repo, "checkout", "-q", "-b", branch)
    ctx = context(repo, "main", env={})
    assert ctx.branch == branch
    found, _ = compute((BranchRule(type="branch"),), ctx)
    [tag] = found
    assert TAG_RE.fullmatch(tag.value) and len(tag.value) <= 128
    if len(branch) > 128:
        assert len(tag.value) == 128


def test_lightweight_and_annotated_version_tags(repo: Path) -> None:
    git(repo, "tag", "v1.2.3")
    git(repo, "tag", "-a", "v1.2.4-rc.1", "-m", "annotated pre-release")
    ctx = context(repo, "main", env={})
    assert ctx.tags == ("v1.2.3", "v1.2.4-rc.1")
    assert ctx.all_tags_known
    # Each version tag fans out on its own: the pre-release only its full version.
    assert [t.value for t in compute((SEMVER,), ctx)[0]] == ["1.2.4-rc.1", "1.2.3", "1.2", "1"]


def test_dirty_tree_in_a_real_repository(repo: Path) -> None:
    git(repo, "tag", "v1.0.0")
    (repo / "file.txt").write_text("changed\n")
    ctx = context(repo, "main", env={})
    found, skipped = compute((SEMVER, LATEST), ctx)
    assert [t.value for t in found] == ["1.0.0-dirty", "1.0-dirty", "1-dirty"]
    assert skipped == ["latest: the work tree has uncommitted changes"]


def test_remote_credentials_never_reach_the_context(repo: Path) -> None:
    canary = "ghp_CANARY0123456789"
    git(repo, "remote", "add", "origin", f"https://ci-user:{canary}@git.example.com/org/app.git")
    ctx = context(repo, "main", env={})
    assert ctx.source == "https://git.example.com/org/app"
    assert canary not in repr(ctx)


@pytest.mark.parametrize(
    ("remote", "url"),
    [
        ("https://user:tok@github.com/org/app.git", "https://github.com/org/app"),
        ("https://tok@github.com/org/app", "https://github.com/org/app"),
        ("git@github.com:org/app.git", "https://github.com/org/app"),
        ("ssh://git@git.example.com:2222/org/app.git", "https://git.example.com/org/app"),
        ("http://u:p@forge.local:3000/org/app.git/", "http://forge.local:3000/org/app"),
        ("git://example.com/app.git", "https://example.com/app"),
        ("https://gitlab-ci-token:[MASKED]@gitlab.com/g/sub/app.git", "https://gitlab.com/g/sub/app"),
        ("/srv/git/app.git", None),
        ("file:///srv/git/app.git", None),
        ("../app", None),
        ("https://host:notaport/x", None),
    ],
)  # fmt: skip
def test_source_url(remote: str, url: str | None) -> None:
    assert source_url(remote) == url


def test_ci_sha_that_is_not_a_commit_id_is_refused_with_a_note(tmp_path: Path) -> None:
    env = {"BUILDKITE": "true", "BUILDKITE_COMMIT": "HEAD", "BUILDKITE_BRANCH": "main"}
    ctx = context(tmp_path, None, env=env)
    assert ctx.sha is None
    assert ctx.notes[0] == "buildkite commit variable holds 'HEAD', not a commit id"


def test_commit_time_from_gitlab_without_a_checkout(tmp_path: Path) -> None:
    env = {"GITLAB_CI": "true", "CI_COMMIT_TIMESTAMP": "2024-01-02T04:04:05+01:00"}
    assert context(tmp_path, None, env=env).commit_time == COMMIT_TIME


# The same tagged commit, built on each CI provider from a detached checkout: the provider's
# real variables for a tag event, and for a push of the default branch.
TAG_EVENTS: dict[str, dict[str, str]] = {
    "github": {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push",
               "GITHUB_REF": "refs/tags/v1.2.3", "GITHUB_REF_NAME": "v1.2.3",
               "GITHUB_REF_TYPE": "tag"},
    "gitea": {"GITEA_ACTIONS": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push",
              "GITHUB_REF": "refs/tags/v1.2.3", "GITHUB_REF_NAME": "v1.2.3"},
    "forgejo": {"FORGEJO_ACTIONS": "true", "GITEA_ACTIONS": "true", "GITHUB_ACTIONS": "true",
                "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/tags/v1.2.3",
                "GITHUB_REF_NAME": "v1.2.3", "GITHUB_REF_TYPE": "tag"},
    "gitlab": {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_TAG": "v1.2.3",
               "CI_COMMIT_REF_NAME": "v1.2.3", "CI_DEFAULT_BRANCH": "main"},
    "woodpecker": {"CI": "woodpecker", "CI_PIPELINE_EVENT": "tag", "CI_COMMIT_TAG": "v1.2.3",
                   "CI_COMMIT_BRANCH": "main", "CI_REPO_DEFAULT_BRANCH": "main"},
    "jenkins": {"JENKINS_URL": "https://ci.example.com/", "TAG_NAME": "v1.2.3",
                "BRANCH_NAME": "v1.2.3"},
    "buildkite": {"BUILDKITE": "true", "BUILDKITE_SOURCE": "webhook", "BUILDKITE_TAG": "v1.2.3",
                  "BUILDKITE_BRANCH": "v1.2.3", "BUILDKITE_PULL_REQUEST": "false"},
    "drone": {"DRONE": "true", "DRONE_BUILD_EVENT": "tag", "DRONE_TAG": "v1.2.3",
              "DRONE_BRANCH": "main", "DRONE_REPO_BRANCH": "main"},
}  # fmt: skip
BRANCH_EVENTS: dict[str, dict[str, str]] = {
    "github": {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push",
               "GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main",
               "GITHUB_REF_TYPE": "branch"},
    "gitea": {"GITEA_ACTIONS": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push",
              "GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main"},
    "forgejo": {"FORGEJO_ACTIONS": "true", "GITEA_ACTIONS": "true", "GITHUB_ACTIONS": "true",
                "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main",
                "GITHUB_REF_NAME": "main", "GITHUB_REF_TYPE": "branch"},
    "gitlab": {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main"},
    "woodpecker": {"CI": "woodpecker", "CI_PIPELINE_EVENT": "push", "CI_COMMIT_BRANCH": "main"},
    "jenkins": {"JENKINS_URL": "https://ci.example.com/", "BRANCH_NAME": "main",
                "GIT_BRANCH": "origin/main"},
    "buildkite": {"BUILDKITE": "true", "BUILDKITE_SOURCE": "webhook", "BUILDKITE_BRANCH": "main",
                  "BUILDKITE_PULL_REQUEST": "false"},
    "drone": {"DRONE": "true", "DRONE_BUILD_EVENT": "push", "DRONE_BRANCH": "main"},
}  # fmt: skip
RULES = (
    ShaRule(type="sha"),
    BranchRule(type="branch"),
    SemverRule(type="semver"),
    LatestRule(type="latest"),
)


@pytest.fixture
def tagged(repo: Path) -> Path:
    """main at a commit tagged v1.2.3 (an older v1.2.2 below it), checked out detached."""
    git(repo, "tag", "v1.2.2")
    commit_all(repo, "release")
    git(repo, "tag", "-a", "v1.2.3", "-m", "release 1.2.3")
    git(repo, "checkout", "-q", "--detach")
    return repo


def _tags(ctx: object) -> list[str]:
    return [t.value for t in compute(RULES, ctx)[0]]  # type: ignore[arg-type]


@pytest.mark.parametrize("provider", sorted(TAG_EVENTS))
def test_a_tag_event_gives_the_same_tags_on_every_provider(tagged: Path, provider: str) -> None:
    sha = git(tagged, "rev-parse", "HEAD")
    ctx = context(tagged, "main", env=TAG_EVENTS[provider])
    assert ctx.trigger == "tag"
    assert ctx.branch is None
    assert _tags(ctx) == [f"sha-{sha[:7]}", "1.2.3", "1.2", "1", "latest"]


@pytest.mark.parametrize("provider", sorted(BRANCH_EVENTS))
def test_a_branch_push_gives_the_same_tags_as_a_local_build(tagged: Path, provider: str) -> None:
    detached = context(tagged, "main", env={}, trigger="push")
    ci_ctx = context(tagged, "main", env=BRANCH_EVENTS[provider])
    git(tagged, "checkout", "-q", "main")
    local = context(tagged, "main", env={}, trigger="push")

    # Locally on main and on CI from a detached checkout: identical tags.
    assert _tags(ci_ctx) == _tags(local)
    assert "main" in _tags(local) and "latest" in _tags(local)
    # Detached without CI variables the branch is unknown, and the skipped rule says so.
    assert "main" not in _tags(detached)
    assert (
        "branch: branch unknown (not on a branch, and no CI branch variable)"
        in (compute(RULES, detached)[1])
    )


def test_cron_gives_the_tags_of_a_push_plus_the_schedule_rules(tagged: Path) -> None:
    git(tagged, "checkout", "-q", "main")
    nightly = ScheduleRule(type="schedule", pattern="nightly-{{date}}")
    cron = context(tagged, "main", env={}, trigger="schedule", now=NOW)
    push = context(tagged, "main", env={}, trigger="push", now=NOW)
    assert [t.value for t in compute((*RULES, nightly), cron)[0]] == [
        *_tags(push),
        "nightly-20250601",
    ]


def test_shallow_tag_build_skips_latest_instead_of_guessing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    origin = init_repo(tmp_path / "origin")
    commit_all(origin, "one")
    git(origin, "tag", "v2.0.0")
    commit_all(origin, "two")
    git(origin, "tag", "v1.9.1")  # a patch release of the old line, tagged after v2.0.0
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{origin}", str(clone))
    git(clone, "checkout", "-q", "--detach")

    ctx = context(
        clone,
        "main",
        env=TAG_EVENTS["github"] | {"GITHUB_REF_NAME": "v1.9.1", "GITHUB_REF": "refs/tags/v1.9.1"},
    )
    found, skipped = compute((SEMVER, LATEST), ctx)
    assert [t.value for t in found] == ["1.9.1", "1.9", "1"]
    assert skipped[0].startswith("latest: cannot tell whether v1.9.1 is the highest release")

    full = tmp_path / "full"
    git(tmp_path, "clone", "-q", f"file://{origin}", str(full))
    ctx = context(full, "main", env={})
    assert compute((SEMVER, LATEST), ctx)[1] == [
        "latest: v1.9.1 is not the highest release (v2.0.0 is)"
    ]
