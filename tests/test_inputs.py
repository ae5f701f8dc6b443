"""Input digests: stable across runs, sensitive to each input; Dockerfile bases; decisions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from buildkit_runner import changes, dockerfile, inputs
from buildkit_runner.changes import ImageInputs, Published
from tests.fakes import git_context, load_project

TOML = """\
[registries.local]
host = "127.0.0.1:5000"

[defaults]
registry = "local"

[images.base]
repository = "demo/base"
context = "base"

[images.app]
repository = "demo/app"
context = "app"
depends-on = ["base"]
build-args = { GREETING = "hello" }
"""


def _digests(root: Path) -> dict[str, str]:
    config = load_project(root, TOML)
    found = inputs.gather(config, git_context(), ("app",), (), False, os.environ)
    return {name: i.digest for name, i in found.images.items()}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for name in ("base", "app"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "Dockerfile").write_text("FROM scratch\nCOPY . /\n")
    (tmp_path / "app" / "main.sh").write_text("echo hi\n")
    return tmp_path


def test_input_digests_are_stable_across_runs(root: Path) -> None:
    assert _digests(root) == _digests(root)


@pytest.mark.parametrize(
    ("change", "moved"),
    [
        (lambda r: (r / "app" / "main.sh").write_text("echo bye\n"), {"app"}),
        (lambda r: (r / "app" / "new.txt").write_text("x"), {"app"}),
        (lambda r: (r / "app" / "main.sh").chmod(0o755), {"app"}),
        (lambda r: (r / "app" / "Dockerfile").write_text("FROM scratch\n"), {"app"}),
        # A dependency's change reaches its dependents.
        (lambda r: (r / "base" / "extra").write_text("x"), {"base", "app"}),
    ],
)
def test_each_input_moves_the_digest(root: Path, change: object, moved: set[str]) -> None:
    before = _digests(root)
    change(root)  # type: ignore[operator]
    after = _digests(root)
    assert {name for name in before if before[name] != after[name]} == moved


def test_ignored_files_do_not_count(root: Path) -> None:
    (root / "app" / ".dockerignore").write_text("*.log\n!keep.log\n")
    before = _digests(root)
    (root / "app" / "debug.log").write_text("noise")
    assert _digests(root) == before
    (root / "app" / "keep.log").write_text("kept")
    assert _digests(root)["app"] != before["app"]


def test_a_dockerfile_specific_ignore_file_wins(root: Path) -> None:
    (root / "app" / ".dockerignore").write_text("*.txt\n")
    (root / "app" / "Dockerfile.dockerignore").write_text("*.md\n")
    before = _digests(root)
    (root / "app" / "notes.md").write_text("ignored")
    assert _digests(root) == before
    (root / "app" / "notes.txt").write_text("counted")
    assert _digests(root) != before


def test_build_args_target_and_platforms_are_inputs(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")
    base = '[images.app]\nrepository = "127.0.0.1:5000/demo/app"\ncontext = "app"\n'
    seen = set()
    for extra in (
        "",
        'build-args = { A = "1" }\n',
        'target = "x"\n',
        'platforms = ["linux/arm64"]\n',
    ):
        config = load_project(tmp_path, base + extra)
        found = inputs.gather(config, git_context(), ("app",), (), False, os.environ)
        seen.add(found.images["app"].digest)
    assert len(seen) == 4


def test_from_lines_with_args_stages_and_scratch() -> None:
    text = (
        "# syntax comment\n"
        "ARG BASE=127.0.0.1:5000/base/busybox\n"
        "ARG TAG\n"
        "FROM --platform=$BUILDPLATFORM ${BASE}:${TAG:-latest} AS build\n"
        "RUN echo \\\n  continued\n"
        "FROM build AS test\n"
        "FROM scratch\n"
        "COPY --from=build /x /x\n"
        "COPY --from=127.0.0.1:5000/tools/jq:1 /jq /jq\n"
        "FROM $UNKNOWN\n"
        "FROM base\n"
    )
    found = dockerfile.bases(text, {"TAG": "1.36"}, skip=("base",))

    assert found.images == ("127.0.0.1:5000/base/busybox:1.36", "127.0.0.1:5000/tools/jq:1")
    assert found.unresolved == ("$UNKNOWN",)


def test_a_from_naming_another_images_repository_is_reported(tmp_path: Path) -> None:
    toml = (
        '[images.base]\nrepository = "127.0.0.1:5000/demo/base"\ncontext = "base"\n\n'
        '[images.app]\nrepository = "127.0.0.1:5000/demo/app"\ncontext = "app"\n'
    )
    config = load_project(tmp_path, toml, ("base", "app"))
    (tmp_path / "app" / "Dockerfile").write_text("FROM 127.0.0.1:5000/demo/base:latest\n")

    [note] = inputs.undeclared_notes(config, ("base", "app"), git_context())
    assert note.startswith("images.app: its Dockerfile builds FROM 127.0.0.1:5000/demo/base")
    assert 'without depends-on = ["base"]' in note


PARTS = {"context": "sha256:a", "dockerfile": "sha256:b", "base:x/y:1": "sha256:c"}


def _inputs(parts: dict[str, str], published: Published | None) -> ImageInputs:
    return ImageInputs(changes.combine(parts), parts, published)


def test_decide_skips_only_on_an_equal_input_digest() -> None:
    same = _inputs(PARTS, Published("r:main", "sha256:d", changes.combine(PARTS), PARTS))
    assert changes.decide("app", same, []).build is False

    new_base = {**PARTS, "base:x/y:1": "sha256:new"}
    moved = _inputs(new_base, Published("r:main", "sha256:d", changes.combine(PARTS), PARTS))
    decision = changes.decide("app", moved, [])
    assert decision == changes.Decision(True, "changed: base image x/y:1 has a new digest")


@pytest.mark.parametrize(
    ("published", "reason"),
    [
        (None, "no stable tag (branch, latest, edge or raw) to compare with"),
        (Published("r:main"), "r:main does not exist yet"),
        (Published("r:main", "sha256:d"), "r:main carries no dev.bkrun.input-digest label"),
        (Published("r:main", error="HTTP 500"), "cannot read r:main: HTTP 500"),
    ],
)
def test_decide_builds_when_nothing_to_compare(published: Published | None, reason: str) -> None:
    assert changes.decide("app", _inputs(PARTS, published), []) == changes.Decision(True, reason)


def test_a_rebuilding_dependency_rebuilds_its_dependents() -> None:
    same = _inputs(PARTS, Published("r:main", "sha256:d", changes.combine(PARTS), PARTS))
    decision = changes.decide("app", same, ["base"])
    assert decision == changes.Decision(True, "depends on base, which this run rebuilds")
