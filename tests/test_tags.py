"""tags: sanitising names into tags, and which rules produce which tags for a commit."""

from __future__ import annotations

import random
import re
import string
from datetime import datetime, timezone

import pytest

from buildkit_runner.config import models
from buildkit_runner.config.resolve import DEFAULT_TAGS
from buildkit_runner.git import GitContext
from buildkit_runner.refs import parse_reference
from buildkit_runner.tags import Tag, compute, describe, sanitize
from tests.fakes import SHA, git_context

# Written out independently of refs.TAG_RE: ASCII word characters only, at most 128.
TAG_GRAMMAR = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")

NASTY = [
    "feature/login",
    "Feature/Login-Page",
    "fix#123",
    "user/ünïcödé-branch",
    "日本語",
    "emoji-🚀-rocket",
    ".hidden",
    "-leading-dash",
    "--..--x",
    "...",
    "---",
    "/",
    "a b\tc\nd",
    "refs/heads/main",
    "dependabot/npm_and_yarn/lodash-4.17.21",
    "release/v1.2.3+build.7",
    "a:b@c",
    "x" * 127,
    "x" * 128,
    "x" * 129,
    "feature/" + "very-long-name-" * 12,
    "é" * 200,
    ".-" * 100 + "tail",
    "🚀" * 130,
    "",
    " ",
    "\x00\x01",
]


def _random_names(count: int) -> list[str]:
    rng = random.Random(20240102)
    alphabet = string.ascii_letters + string.digits + "/._-#@:+~ \t!?*é中🚀ß\\"
    names = []
    for _ in range(count):
        length = rng.choice([1, 2, 5, 20, 100, 127, 128, 129, 150, 300])
        names.append("".join(rng.choice(alphabet) for _ in range(length)))
    return names


ALL_NAMES = NASTY + _random_names(500)


def test_every_sanitised_name_is_empty_or_a_valid_tag() -> None:
    for name in ALL_NAMES:
        tag = sanitize(name)
        assert tag == "" or TAG_GRAMMAR.fullmatch(tag), (name, tag)
        assert len(tag) <= 128, (name, tag)


def test_sanitising_is_idempotent_and_keeps_valid_tags() -> None:
    for name in ALL_NAMES:
        tag = sanitize(name)
        assert sanitize(tag) == tag, name
    for valid in ["v1.2.3", "Main", "release-2024_01", "x" * 128]:
        assert sanitize(valid) == valid


def test_long_names_with_the_same_prefix_get_different_tags() -> None:
    # Names still longer than a tag once sanitised are cut, and the hash keeps them apart.
    cut = {name: sanitize(name) for name in ALL_NAMES if len(sanitize(name)) == 128}
    cut = {name: tag for name, tag in cut.items() if len(name) > 128}
    assert len(cut) > 100
    assert len(set(cut.values())) == len(cut)

    prefix = "feature/" + "p" * 150
    first, second = sanitize(prefix + "-one"), sanitize(prefix + "-two")
    assert first != second
    assert len(first) == len(second) == 128
    assert first[:119] == second[:119] == ("feature-" + "p" * 150)[:119]


@pytest.mark.parametrize(
    ("name", "tag"),
    [
        ("feature/login", "feature-login"),
        ("Feature/Login", "Feature-Login"),
        ("fix#123", "fix-123"),
        ("user/ünï", "user--n-"),
        (".hidden", "hidden"),
        ("-x", "x"),
        ("..--.x.", "x."),
        ("a b", "a-b"),
        ("日本語", ""),
        ("...", ""),
        ("x" * 128, "x" * 128),
    ],
)
def test_sanitize_examples(name: str, tag: str) -> None:
    assert sanitize(name) == tag


def test_a_150_character_branch_is_cut_to_128_with_a_hash() -> None:
    branch = "feature/" + "a" * 142
    tag = sanitize(branch)
    assert len(tag) == 128
    assert tag.startswith("feature-aaa")
    assert re.fullmatch(r"feature-a+-[0-9a-f]{8}", tag)


SHA_RULE = models.ShaRule(type="sha")
FULL_SHA = models.ShaRule(type="sha", length=40)
BRANCH = models.BranchRule(type="branch")
LATEST = models.LatestRule(type="latest")


def values(rules: tuple[object, ...], **git: object) -> list[str]:
    tags, _ = compute(rules, git_context(**git))  # type: ignore[arg-type]
    return [tag.value for tag in tags]


def test_default_rules_on_the_default_branch() -> None:
    tags, skipped = compute(DEFAULT_TAGS, git_context())
    assert tags == [
        Tag(f"sha-{SHA[:7]}", "sha (length 7)"),
        Tag(f"sha-{SHA}", "sha (full)"),
        Tag("main", "branch"),
        Tag("latest", "latest"),
    ]
    assert skipped == []


def test_latest_only_on_the_default_branch() -> None:
    tags, skipped = compute((LATEST,), git_context(branch="feature/x"))
    assert tags == []
    assert skipped == ["latest: branch 'feature/x' is not the default branch 'main'"]
    assert values((LATEST,), branch="trunk", default_branch="trunk") == ["latest"]


def test_latest_never_from_a_dirty_tree() -> None:
    tags, skipped = compute((LATEST,), git_context(dirty=True))
    assert tags == []
    assert skipped == ["latest: the work tree has uncommitted changes"]


def test_latest_and_branch_never_from_a_pull_request() -> None:
    git = git_context(trigger="pull_request", pr_number="42", branch="main")
    tags, skipped = compute((SHA_RULE, BRANCH, LATEST), git)
    assert [t.value for t in tags] == [f"sha-{SHA[:7]}"]
    assert skipped == [
        "branch: pull request builds do not move branch tags",
        "latest: pull request builds never move latest",
    ]


def test_dirty_tree_marks_every_git_derived_tag() -> None:
    rules = (SHA_RULE, BRANCH, models.RawRule(type="raw", value="dev"))
    assert values(rules, dirty=True) == [f"sha-{SHA[:7]}-dirty", "main-dirty", "dev"]


def test_dirty_long_branch_tag_differs_from_the_clean_one() -> None:
    branch = "feature/" + "b" * 140
    clean = values((BRANCH,), branch=branch)
    dirty = values((BRANCH,), branch=branch, dirty=True)
    assert clean != dirty
    assert all(TAG_GRAMMAR.fullmatch(tag) for tag in clean + dirty)


def test_branch_names_are_sanitised_with_prefix_and_suffix() -> None:
    rule = models.BranchRule(type="branch", prefix="br-", suffix="-x")
    assert values((rule,), branch="Feature/Login#2") == ["br-Feature-Login-2-x"]


def test_sha_rule_length_prefix_and_suffix() -> None:
    rule = models.ShaRule(type="sha", length=12, prefix="", suffix="-amd64")
    assert values((rule,)) == [f"{SHA[:12]}-amd64"]


def test_duplicates_are_merged_and_the_first_rule_owns_the_tag() -> None:
    rules = (
        models.RawRule(type="raw", value="main"),
        BRANCH,
        LATEST,
        models.RawRule(type="raw", value="latest"),
    )
    tags, skipped = compute(rules, git_context())
    assert tags == [Tag("main", "raw 'main'"), Tag("latest", "latest")]
    assert skipped == []


def test_rules_without_facts_are_skipped_with_a_reason() -> None:
    git = git_context(sha=None, branch=None)
    tags, skipped = compute(DEFAULT_TAGS, git)
    assert tags == []
    assert skipped == [
        "sha (length 7): no commit sha (not a git repository and no CI variable)",
        "sha (full): no commit sha (not a git repository and no CI variable)",
        "branch: branch unknown (not on a branch, and no CI branch variable)",
        "latest: branch unknown, so not known to be the default branch",
    ]


def test_a_branch_with_nothing_usable_is_skipped() -> None:
    tags, skipped = compute((BRANCH,), git_context(branch="日本"))
    assert tags == []
    assert skipped == ["branch: nothing usable left after sanitising"]


def test_rule_descriptions() -> None:
    assert describe(SHA_RULE) == "sha (length 7)"
    assert describe(FULL_SHA) == "sha (full)"
    assert describe(BRANCH) == "branch"
    assert describe(LATEST) == "latest"
    assert describe(models.RawRule(type="raw", value="v1")) == "raw 'v1'"


# --- the rule vocabulary -------------------------------------------------------------------

SEMVER = models.SemverRule(type="semver")
PEP440 = models.Pep440Rule(type="pep440")


def rule(data: object) -> models.TagRule:
    """A rule as bkrun.toml would give it (shorthand string or table)."""
    from pydantic import TypeAdapter

    return TypeAdapter(models.TagRule).validate_python(data)  # type: ignore[no-any-return]


def test_semver_fans_out_a_release() -> None:
    tags, skipped = compute((SEMVER,), git_context(tags=("v1.2.3",)))
    assert [(t.value, t.rule) for t in tags] == [
        ("1.2.3", "semver {{version}}"),
        ("1.2", "semver {{major}}.{{minor}}"),
        ("1", "semver {{major}}"),
    ]
    assert skipped == []


def test_a_pre_release_gets_only_its_full_version_and_never_latest() -> None:
    rules = (SEMVER, LATEST)
    tags, skipped = compute(rules, git_context(tags=("v2.0.0-rc.1",), all_tags=("v1.0.0",)))
    assert [t.value for t in tags] == ["2.0.0-rc.1"]
    assert skipped == [
        "semver {{major}}.{{minor}}: pre-release v2.0.0-rc.1 gets only its full version",
        "semver {{major}}: pre-release v2.0.0-rc.1 gets only its full version",
        "latest: pre-release v2.0.0-rc.1 never moves latest",
    ]


def test_build_metadata_is_made_a_valid_tag() -> None:
    assert values((SEMVER,), tags=("v1.2.3-rc.1+build.7",)) == ["1.2.3-rc.1-build.7"]


def test_semver_patterns_prefix_and_suffix() -> None:
    custom = rule(
        {"type": "semver", "patterns": ["v{{major}}.{{minor}}", "{{raw}}"], "suffix": "-alpine"}
    )
    assert values((custom,), tags=("v3.4.5",)) == ["v3.4-alpine", "v3.4.5-alpine"]


def test_semver_without_a_version_tag_says_which_tags_it_saw() -> None:
    _, skipped = compute((SEMVER,), git_context(tags=("v1.2", "stable")))
    assert skipped == [
        "semver: no semver version tag points at the commit (tags at HEAD: v1.2, stable)"
    ]
    _, skipped = compute((SEMVER,), git_context())
    assert skipped == ["semver: no semver version tag points at the commit"]


def test_every_version_tag_at_the_commit_fans_out_highest_first() -> None:
    assert values((SEMVER,), tags=("v1.2.3", "v1.10.0", "v1.9.9")) == [
        "1.10.0",
        "1.10",
        "1",
        "1.9.9",
        "1.9",
        "1.2.3",
        "1.2",
    ]


def test_a_release_and_a_pre_release_on_one_commit_each_get_their_tags() -> None:
    # The user's report: v1.2.3 and v2.0.0-rc.1 on one commit gave only 2.0.0-rc.1.
    rules = (SEMVER, LATEST)
    both = git_context(tags=("v1.2.3", "v2.0.0-rc.1"), all_tags=("v1.0.0", "v1.2.3", "v2.0.0-rc.1"))
    tags, skipped = compute(rules, both)
    assert [(t.value, t.rule) for t in tags] == [
        ("2.0.0-rc.1", "semver {{version}}"),
        ("1.2.3", "semver {{version}}"),
        ("1.2", "semver {{major}}.{{minor}}"),
        ("1", "semver {{major}}"),
        ("latest", "latest"),
    ]
    assert skipped == [
        "semver {{major}}.{{minor}}: pre-release v2.0.0-rc.1 gets only its full version",
        "semver {{major}}: pre-release v2.0.0-rc.1 gets only its full version",
    ]
    # latest still follows the highest stable release of the whole repository.
    older = git_context(tags=("v1.2.3", "v2.0.0-rc.1"), all_tags=("v1.2.3", "v1.3.0"))
    _, skipped = compute(rules, older)
    assert skipped[-1] == "latest: v1.2.3 is not the highest release (v1.3.0 is)"


def test_pep440_rule() -> None:
    assert values((PEP440,), tags=("1.2.3.post1",)) == ["1.2.3.post1", "1.2", "1"]
    assert values((PEP440,), tags=("1.2.3rc1",)) == ["1.2.3rc1"]


def test_latest_auto_follows_the_highest_release_when_versions_are_tagged() -> None:
    rules = (SEMVER, LATEST)
    top = git_context(branch=None, tags=("v1.3.0",), all_tags=("v1.2.0", "v1.3.0", "v2.0.0-rc.1"))
    assert values(rules, **top.__dict__)[-1] == "latest"

    old = git_context(tags=("v1.2.9",), all_tags=("v1.2.9", "v1.3.0"))
    tags, skipped = compute(rules, old)
    assert "latest" not in [t.value for t in tags]  # even on the default branch
    assert skipped == ["latest: v1.2.9 is not the highest release (v1.3.0 is)"]

    untagged = git_context()
    _, skipped = compute(rules, untagged)
    assert skipped[-1] == (
        "latest: latest follows releases and no semver version tag points at the commit"
    )


def test_latest_release_refuses_to_guess_without_every_tag() -> None:
    shallow = git_context(tags=("v1.2.3",), all_tags=("v1.2.3",), all_tags_known=False)
    _, skipped = compute((SEMVER, LATEST), shallow)
    assert skipped == [
        "latest: cannot tell whether v1.2.3 is the highest release: this checkout does not "
        "have every tag (shallow clone or no git; git fetch --tags --unshallow), or use "
        'policy = "default-branch"'
    ]


def test_latest_policies_can_be_chosen() -> None:
    on_main = rule({"type": "latest", "policy": "default-branch"})
    release = rule({"type": "latest", "policy": "release"})
    assert values((SEMVER, on_main)) == ["latest"]  # untagged head of main
    assert values((release,), tags=("v1.0.0",), all_tags=("v1.0.0",)) == ["latest"]
    assert values((release,), tags=("v1.0.0",), branch="feature") == ["latest"]
    assert describe(on_main) == "latest (default-branch)"


def test_edge_is_the_head_of_the_default_branch() -> None:
    edge = rule("edge")
    assert values((edge,)) == ["edge"]
    _, skipped = compute((edge,), git_context(branch="dev"))
    assert skipped == ["edge: branch 'dev' is not 'main'"]
    develop = rule({"type": "edge", "branch": "dev", "value": "next"})
    assert values((develop,), branch="dev") == ["next"]
    assert values((edge,), dirty=True) == ["edge-dirty"]


NIGHT = datetime(2026, 12, 3, 23, 30, tzinfo=timezone.utc)


def test_schedule_rules_apply_to_scheduled_runs_only() -> None:
    nightly = rule("schedule")
    dated = rule({"type": "schedule", "pattern": "nightly-{{date}}"})
    local = rule(
        {"type": "schedule", "pattern": "nightly-{{date}}", "timezone": "Pacific/Auckland"}
    )
    hourly = rule({"type": "schedule", "pattern": "n-{{date}}", "date-format": "%Y%m%d.%H%M"})
    run = {"trigger": "schedule", "now": NIGHT}
    assert values((nightly, dated, local, hourly), **run) == [
        "nightly",
        "nightly-20261203",
        "nightly-20261204",  # already the 4th in Auckland
        "n-20261203.2330",
    ]
    _, skipped = compute((nightly,), git_context(now=NIGHT))
    assert skipped == [
        "schedule 'nightly': not a scheduled run (trigger: push); "
        "a cron job passes --trigger schedule"
    ]


def test_pr_and_ref_rules() -> None:
    pr = git_context(trigger="pull_request", pr_number="123", branch="feature/x")
    assert values((rule("pr"), rule("ref")), **pr.__dict__) == ["pr-123"]
    _, skipped = compute((rule("pr"),), git_context())
    assert skipped == ["pr: not a pull request build (trigger: push)"]
    assert values((rule("ref"),), tags=("v1.0.0",)) == ["v1.0.0", "main"]
    assert values((rule("tag"),), branch=None, tags=("v1.0.0", "stable")) == ["stable", "v1.0.0"]


def test_on_limits_a_rule_to_kinds_of_build() -> None:
    sha_on_schedule = rule({"type": "sha", "on": ["schedule"]})
    tags, skipped = compute((sha_on_schedule,), git_context())
    assert tags == []
    assert skipped == ["sha (length 7): on = ['schedule']: this build is branch, push"]
    assert values((sha_on_schedule,), trigger="schedule") == [f"sha-{SHA[:7]}"]
    on_tags = rule({"type": "raw", "value": "release", "on": ["tag"]})
    assert values((on_tags,), tags=("v1.0.0",)) == ["release"]
    assert values((on_tags,)) == []
    on_pr = rule({"type": "sha", "on": ["pr", "branch"]})
    assert values((on_pr,), trigger="pull_request", pr_number="1") == [f"sha-{SHA[:7]}"]


def test_raw_templates_and_missing_values() -> None:
    templated = rule({"type": "raw", "value": "build-{{short_sha}}-{{branch}}"})
    assert values((templated,), branch="Feature/X") == [f"build-{SHA[:7]}-Feature-X"]
    tags, skipped = compute((templated,), git_context(branch=None))
    assert tags == []
    assert skipped == ["raw 'build-{{short_sha}}-{{branch}}': no value for branch in this build"]


def test_dirty_suffix_survives_the_128_character_cut() -> None:
    branch = "feature/" + "x" * 200
    [tag] = values((BRANCH,), branch=branch, dirty=True)
    assert len(tag) == 128
    assert tag.endswith("-dirty")
    assert TAG_GRAMMAR.fullmatch(tag)
    [clean] = values((BRANCH,), branch=branch)
    assert clean != tag
    # The rule's suffix survives too, before the dirty marker.
    suffixed = models.BranchRule(type="branch", suffix="-arm64")
    [both] = values((suffixed,), branch=branch, dirty=True)
    assert both.endswith("-arm64-dirty") and len(both) == 128


def test_dirty_suffix_is_configurable_and_latest_still_never_moves() -> None:
    git = git_context(dirty=True)
    tags, skipped = compute((SHA_RULE, LATEST), git, dirty_suffix=".wip")
    assert [t.value for t in tags] == [f"sha-{SHA[:7]}.wip"]
    tags, skipped = compute((SHA_RULE, LATEST, rule({"type": "raw", "value": "latest"})), git, "")
    assert [t.value for t in tags] == [f"sha-{SHA[:7]}"]
    assert skipped == [
        "latest: the work tree has uncommitted changes",
        "raw 'latest': the work tree has uncommitted changes",
    ]


# --- no input can produce an invalid reference ---------------------------------------------

RULES = [
    "sha", "branch", "tag", "pr", "ref", "semver", "pep440", "edge", "schedule", "latest",
    {"type": "sha", "length": 40, "prefix": "", "suffix": "-x"},
    {"type": "branch", "prefix": "b_", "suffix": "." + "s" * 63},
    {"type": "semver", "patterns": ["{{raw}}", "v{{major}}"], "prefix": "p" * 64},
    {"type": "schedule", "pattern": "{{branch}}-{{date}}", "date-format": "%c %Z/%%"},
    {"type": "raw", "value": "{{branch}}{{tag}}{{pr}}"},
    {"type": "edge", "branch": "日本", "value": "edge"},
]  # fmt: skip


def _nasty_context(rng: random.Random) -> GitContext:
    def name() -> str:
        return rng.choice(ALL_NAMES)

    tags = tuple(rng.choice([name(), "v1.2.3-" + name(), "v1.2.3+" + name(), "1.0.0rc1"])
                 for _ in range(rng.randint(0, 3)))  # fmt: skip
    return git_context(
        sha=rng.choice([SHA, None]),
        branch=rng.choice([name(), None]),
        tags=tags,
        all_tags=tags,
        dirty=rng.random() < 0.5,
        trigger=rng.choice(["push", "pull_request", "tag", "schedule", "manual"]),
        pr_number=rng.choice([None, "1", name()]),
        default_branch=name(),
    )


def test_no_input_produces_an_invalid_reference() -> None:
    rng = random.Random(20261203)
    rules = [rule(data) for data in RULES]
    for _ in range(2000):
        git = _nasty_context(rng)
        chosen = rng.sample(rules, rng.randint(1, len(rules)))
        suffix = rng.choice(["-dirty", "", ".d", "_" * 32])
        tags, _ = compute(chosen, git, suffix)
        assert len({t.value for t in tags}) == len(tags)
        for tag in tags:
            assert TAG_GRAMMAR.fullmatch(tag.value), (git, tag)
            reference = parse_reference(f"127.0.0.1:5000/demo/app:{tag.value}")
            assert reference.tag == tag.value
            if git.dirty:
                assert tag.value != "latest"
