"""gc: retention decisions, and the refs the current plan protects."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from buildkit_runner import retention
from buildkit_runner.commands import gc
from buildkit_runner.config.models import GcRule
from tests.fakes import git_context, load_project

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
REPO = "127.0.0.1:5000/demo/web"


def tag(name: str, days: float | None, digest: str | None = None) -> retention.TagInfo:
    created = None if days is None else NOW - timedelta(days=days)
    return retention.TagInfo(REPO, name, digest or f"sha256:{name}", created)


def rule(**values: object) -> GcRule:
    return GcRule.model_validate({k.replace("_", "-"): v for k, v in values.items()})


def verdicts(
    tags: list[retention.TagInfo], rules: list[GcRule], protected: frozenset[str] = frozenset()
):  # type: ignore[no-untyped-def]
    return {
        d.tag.tag: (d.delete, d.why) for d in retention.decide(tags, rules, set(protected), NOW)
    }


def test_keep_newest_n() -> None:
    found = verdicts(
        [tag("nightly-1", 3), tag("nightly-2", 2), tag("nightly-3", 1)],
        [rule(pattern="nightly-*", keep=2)],
    )
    assert found == {
        "nightly-1": (True, "pattern 'nightly-*', keep 2: beyond the newest 2"),
        "nightly-2": (False, "pattern 'nightly-*', keep 2: recent enough"),
        "nightly-3": (False, "pattern 'nightly-*', keep 2: recent enough"),
    }


def test_max_age() -> None:
    found = verdicts(
        [tag("buildcache-old", 40), tag("buildcache-new", 1)],
        [rule(pattern="buildcache-*", max_age_days=30)],
    )
    assert found["buildcache-old"] == (
        True,
        "pattern 'buildcache-*', max-age-days 30: 40.0 days old",
    )
    assert found["buildcache-new"][0] is False


def test_first_matching_rule_decides_and_unmatched_are_kept() -> None:
    rules = [
        rule(pattern="buildcache-pr-*", max_age_days=7),
        rule(pattern="buildcache-*", max_age_days=30),
    ]
    found = verdicts(
        [tag("buildcache-pr-1", 10), tag("buildcache-x", 10), tag("latest", 900)], rules
    )
    assert found["buildcache-pr-1"][0] is True
    assert found["buildcache-x"][0] is False
    assert found["latest"] == (False, "no rule matches")


def test_protected_and_unknown_age_are_kept() -> None:
    found = verdicts(
        [tag("buildcache-main", 99), tag("buildcache-y", None)],
        [rule(pattern="buildcache-*", keep=0)],
        {f"{REPO}:buildcache-main"},
    )
    assert found["buildcache-main"] == (False, "referenced by the current plan")
    assert found["buildcache-y"] == (False, "pattern 'buildcache-*', keep 0: age unknown, kept")


def test_shared_manifest_with_kept_tag_is_not_deleted() -> None:
    found = verdicts(
        [tag("nightly-1", 50, "sha256:same"), tag("latest", 50, "sha256:same")],
        [rule(pattern="nightly-*", keep=0)],
    )
    assert found["nightly-1"] == (False, "shares its manifest with kept tag 'latest'")


def test_default_rules_never_match_the_default_branch_cache() -> None:
    found = verdicts(
        [tag("buildcache", 400)],
        list(retention.GcRule.model_validate({"pattern": "buildcache-*"}) for _ in range(1)),
    )
    assert found["buildcache"] == (False, "no rule matches")


def test_plan_references_are_protected(tmp_path: Path) -> None:
    config = load_project(
        tmp_path,
        '[registries.local]\nhost = "127.0.0.1:5000"\n[defaults]\nregistry = "local"\n'
        'tags = ["sha", "branch"]\n[images.web]\nrepository = "demo/web"\ncontext = "web"\n',
        ("web",),
    )
    protected = gc.referenced(config, git_context(branch="feature"))
    assert {
        f"{REPO}:buildcache-feature",
        f"{REPO}:buildcache",
        f"{REPO}:feature",
        f"{REPO}:sha-0123456",
    } <= protected
    assert gc.repositories(config) == [REPO]
