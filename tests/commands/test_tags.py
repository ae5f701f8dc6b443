"""bkrun tags: each image's tags with their rules, skipped rules with why, and --json."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Invoke
from tests.fakes import git

HOST = "127.0.0.1:5000"


def test_lists_tags_with_rules_and_skipped_rules(project: Path, cli: Invoke) -> None:
    sha = git(project, "rev-parse", "HEAD")
    git(project, "checkout", "-q", "-b", "feature/Login#2")

    result = cli("tags", "app")

    assert result.exit_code == 0, result.stderr
    width = len(f"sha-{sha}")
    rows = [
        f"  {f'sha-{sha[:7]}':<{width}}  sha (length 7)",
        f"  sha-{sha}  sha (full)",
        f"  {'feature-Login-2':<{width}}  branch",
        "  skipped latest: branch 'feature/Login#2' is not the default branch 'main'",
    ]
    assert result.stdout.splitlines() == [
        f"# commit {sha} on feature/Login#2 (trigger manual, local)",
        "",
        f"base: {HOST}/demo/base",
        *rows,
        "",
        f"app: {HOST}/demo/app",
        *rows,
    ]


def test_json_for_a_release_from_cron(project: Path, cli: Invoke) -> None:
    config = project / "bkrun.toml"
    config.write_text(
        config.read_text()
        + 'tags = ["semver", "latest", { type = "schedule", pattern = "nightly-{{date}}" }]\n'
    )
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "tags")
    git(project, "tag", "v2.0.0-rc.1")

    result = cli("tags", "--json", "--trigger", "schedule", "app")

    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["version"] == 1
    assert data["git"]["trigger"] == "schedule"
    [app] = [image for image in data["images"] if image["image"] == "app"]
    values = [t["tag"] for t in app["tags"]]
    assert values[0] == "2.0.0-rc.1"
    assert values[1].startswith("nightly-")
    assert app["tags"][0] == {
        "tag": "2.0.0-rc.1",
        "rule": "semver {{version}}",
        "refs": [f"{HOST}/demo/app:2.0.0-rc.1"],
    }
    assert app["version"] == "2.0.0-rc.1"
    assert "latest: pre-release v2.0.0-rc.1 never moves latest" in app["skipped"]


def test_unknown_image_and_bad_trigger(project: Path, cli: Invoke) -> None:
    result = cli("tags", "ap")
    assert result.exit_code == 2
    assert "unknown image 'ap'; did you mean 'app'?" in result.stderr
    assert cli("tags", "--trigger", "cron").exit_code == 2
