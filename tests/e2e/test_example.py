"""The example project against the real engine and registry: push, tags, index, cache."""

from __future__ import annotations

import subprocess

from tests.e2e.helpers import (
    INDEX_TYPES,
    Project,
    Run,
    executed,
    manifest,
    registry_tags,
    wipe_builder,
)

TOOLCHAIN_MARKER = "example: preparing the toolchain"
APP_MARKER = "example: building the app"


def test_push_publishes_every_git_tag(pushed: tuple[Project, Run]) -> None:
    project, _ = pushed
    sha = project.git("rev-parse", "HEAD")

    for image in ("base", "app"):
        tags = registry_tags(project.repository(image))
        assert {f"sha-{sha[:7]}", f"sha-{sha}", "main", "latest"} <= tags, tags


def test_pushed_image_is_an_index_of_both_platforms(pushed: tuple[Project, Run]) -> None:
    project, run = pushed

    for image in ("base", "app"):
        digest, body = manifest(project.repository(image), "latest")
        assert body["mediaType"] in INDEX_TYPES
        platforms = {
            f"{m['platform']['os']}/{m['platform']['architecture']}" for m in body["manifests"]
        }
        # --provenance=false: a plain index of platforms, no unknown/unknown attestations.
        assert platforms == {"linux/amd64", "linux/arm64"}
        # The summary reports the digest the registry serves.
        assert digest in run.stdout


def test_cache_ref_is_exported_with_mode_max(pushed: tuple[Project, Run]) -> None:
    project, _ = pushed

    _, body = manifest(project.repository("base"), "buildcache")
    layers = body.get("manifests") or body.get("layers") or []
    # mode=max keeps the toolchain stage: the cache holds more layers than the final image.
    _, image = manifest(project.repository("base"), "latest")
    _, amd64 = manifest(project.repository("base"), image["manifests"][0]["digest"])
    assert len(layers) > len(amd64["layers"])


def test_dependency_is_pinned_by_digest(pushed: tuple[Project, Run]) -> None:
    project, run = pushed
    base_digest, _ = manifest(project.repository("base"), "latest")

    plan = project.bkrun("plan", "--push")
    assert plan.code == 0, plan.output
    assert f"docker-image://127.0.0.1:5000/{project.repository('base')}@${{base.digest}}" in (
        plan.stdout
    )
    assert base_digest in run.stdout


def test_rebuild_on_wiped_builder_comes_from_registry_cache(
    pushed: tuple[Project, Run],
) -> None:
    project, first = pushed
    assert executed(first.stderr, "base", TOOLCHAIN_MARKER), "the first build ran the step"

    # A source change in app only, then a runner with nothing local.
    script = project.path / "app" / "src" / "app.sh"
    script.write_text(script.read_text(encoding="utf-8") + "# changed\n", encoding="utf-8")
    project.git("commit", "-q", "-am", "change app")
    wipe_builder(project.repository("base"), project.repository("app"))

    second = project.bkrun("build", "--push")

    assert second.code == 0, second.output[-4000:]
    assert not executed(second.stderr, "base", TOOLCHAIN_MARKER), "toolchain stage re-ran"
    assert executed(second.stderr, "app", APP_MARKER), "the changed app must rebuild"
    sha = project.git("rev-parse", "HEAD")
    assert f"sha-{sha[:7]}" in registry_tags(project.repository("app"))


def test_branch_build_moves_branch_tag_not_latest(project: Project) -> None:
    project.git("checkout", "-q", "-b", "Feature/Login#2")

    plan = project.bkrun("plan", "--push", "base")
    run = project.bkrun("build", "--push", "base")

    skipped = "# tag skipped: latest: branch 'Feature/Login#2' is not the default branch 'main'"
    assert skipped in plan.stdout
    assert run.code == 0, run.output[-4000:]
    tags = registry_tags(project.repository("base"))
    assert "Feature-Login-2" in tags
    assert "latest" not in tags


def test_load_builds_the_dependent_on_the_loaded_dependency(project: Project) -> None:
    # Once failed: the dependent named base by digest, which the docker driver looked up in
    # the registry, where a loaded-only image is not.
    run = project.bkrun("build", "--load", "--platform", "linux/amd64")

    assert run.code == 0, run.output[-4000:]
    app = f"127.0.0.1:5000/{project.repository('app')}:main"
    output = subprocess.run(
        ["docker", "run", "--rm", app], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "hello from bkrun on x86_64"
