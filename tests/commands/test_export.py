"""bkrun export bake: the plan as a docker-bake.json."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Invoke


def test_bake_file_mirrors_the_plan(project: Path, cli: Invoke) -> None:
    plan = json.loads(cli("plan", "--push", "--json").stdout)

    result = cli("export", "bake", "--push")

    assert result.exit_code == 0, result.stderr
    bake = json.loads((project / "docker-bake.json").read_text())
    assert bake["group"]["default"]["targets"] == ["base", "app"]
    app = bake["target"]["app"]
    step = plan["steps"][1]
    assert app["tags"] == [t["ref"] for t in step["tags"]]
    assert app["platforms"] == step["platforms"]
    assert app["contexts"] == {"base": "target:base"}
    assert app["args"] == {"GREETING": "hello"}
    assert app["dockerfile"] == "Dockerfile" and app["context"] == "app"
    assert app["cache-from"] == step["cache"]["from"] and app["cache-to"] == step["cache"]["to"]
    assert app["output"] == ["type=registry"]
    assert app["attest"] == ["type=provenance,disabled=true"]


def test_existing_file_needs_force_and_dash_prints(project: Path, cli: Invoke) -> None:
    (project / "docker-bake.json").write_text("{}")

    assert cli("export", "bake").exit_code == 2
    assert (project / "docker-bake.json").read_text() == "{}"
    printed = cli("export", "bake", "-o", "-", "base")
    assert list(json.loads(printed.stdout)["target"]) == ["base"]


def test_the_follow_up_names_the_file_written_and_the_dirty_tree(
    project: Path, cli: Invoke, tmp_path: Path
) -> None:
    # The user's report: -o /tmp/x/bake.json printed `docker buildx bake -f bake.json`.
    elsewhere = tmp_path / "x"
    elsewhere.mkdir()
    outside = cli("export", "bake", "-o", str(elsewhere / "bake.json"))
    assert outside.exit_code == 0, outside.stderr
    assert outside.stdout == (
        f"wrote {elsewhere / 'bake.json'}; build with: docker buildx bake -f "
        f"{elsewhere / 'bake.json'}\n"
    )

    inside = cli("export", "bake")
    assert inside.stdout.splitlines() == [
        f"wrote {project / 'docker-bake.json'}; build with: docker buildx bake -f docker-bake.json",
        "note: docker-bake.json is a new file in the work tree: commit it (or add it to "
        ".gitignore), or the next bkrun build sees a dirty tree and marks its tags -dirty",
    ]
