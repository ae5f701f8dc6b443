"""Cache policy against the real engine: branch fallback, mode=max, refused and failed writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.e2e.cachehelpers import (
    EXPENSIVE,
    change_source,
    free_port,
    small_project,
    throwaway_registry,
)
from tests.e2e.helpers import _clean_env, executed, manifest, registry_tags, wipe_builder

REPO = "127.0.0.1:5000/{}/app"


def test_branch_reads_default_branch_cache_and_writes_its_own(engine: None, tmp_path: Path) -> None:
    project = small_project(tmp_path)
    main = project.bkrun("build", "--push")
    assert main.code == 0, main.output[-3000:]
    assert executed(main.stderr, "app", EXPENSIVE)
    # The first build of main finds no cache yet: one info event, no ERROR line.
    assert "event=cache_not_found" in main.stderr
    assert "failed to configure registry cache importer" not in main.stderr
    main_cache, _ = manifest(project.repository("app"), "buildcache")

    project.git("checkout", "-q", "-b", "feature/Login#2")
    change_source(project, "two\n")
    wipe_builder(project.repository("app"))
    plan = project.bkrun("plan", "--push", "--json")
    branch = project.bkrun("build", "--push")

    assert branch.code == 0, branch.output[-3000:]
    repo = REPO.format(project.namespace)
    step = json.loads(plan.stdout)["steps"][0]
    assert step["cache"]["from"] == [
        f"type=registry,ref={repo}:buildcache-feature-Login-2",
        f"type=registry,ref={repo}:buildcache",
    ]
    assert step["cache"]["to"] == [
        f"type=registry,ref={repo}:buildcache-feature-Login-2,mode=max,ignore-error=true"
    ]
    # Served from main's cache on a wiped builder: the expensive step printed nothing.
    assert not executed(branch.stderr, "app", EXPENSIVE), "builder stage re-ran"
    tags = registry_tags(project.repository("app"))
    assert "buildcache-feature-Login-2" in tags
    # Written only its own: main's cache is untouched.
    assert manifest(project.repository("app"), "buildcache")[0] == main_cache


def test_mode_max_serves_intermediate_stage_after_wipe(engine: None, tmp_path: Path) -> None:
    project = small_project(tmp_path)
    first = project.bkrun("build", "--push")
    assert first.code == 0, first.output[-3000:]

    change_source(project, "changed\n")
    wipe_builder(project.repository("app"))
    second = project.bkrun("build", "--push")

    assert second.code == 0, second.output[-3000:]
    assert executed(first.stderr, "app", EXPENSIVE)
    assert not executed(second.stderr, "app", EXPENSIVE), "mode=max lost the builder stage"


def test_read_only_cache_registry_drops_cache_to_with_notice(engine: None, tmp_path: Path) -> None:
    # :5001 serves :5000's storage read-only: reads work, writes get 405.
    project = small_project(tmp_path, cache='repository = "127.0.0.1:5001/{ns}/cache"')
    text = (project.path / "bkrun.toml").read_text(encoding="utf-8")
    (project.path / "bkrun.toml").write_text(
        text.replace("{ns}", project.namespace), encoding="utf-8"
    )
    project.git("commit", "-q", "-am", "cache on the read-only registry")

    plan = project.bkrun("plan", "--push")
    offline = project.bkrun("plan", "--push", "--offline")
    build = project.bkrun("build", "--push")

    assert plan.code == 0, plan.output
    cache_ref = f"127.0.0.1:5001/{project.namespace}/cache:buildcache"
    assert f"--cache-from type=registry,ref={cache_ref}" in plan.stdout
    assert "--cache-to" not in plan.stdout
    assert "# cache: cache export dropped: cannot write to" in plan.stdout
    assert "HTTP 405" in plan.stdout
    # Without probes the plan cannot know, and keeps the export.
    assert "--cache-to" in offline.stdout
    assert build.code == 0, build.output[-3000:]
    assert "exporting cache" not in build.stderr
    assert "main" in registry_tags(project.repository("app"))


def test_cache_registry_stopped_mid_build_is_not_fatal(engine: None, tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    registry_dir = tmp_path / "registry"
    registry_dir.mkdir()
    with throwaway_registry(registry_dir, address) as registry:
        project = small_project(tmp_path, cache=f'repository = "{address}/stale/cache"')
        wipe_builder(project.repository("app"))
        process = subprocess.Popen(
            [sys.executable, "-m", "buildkit_runner", "build", "--push"],
            cwd=project.path,
            env=_clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        lines = []
        for line in process.stderr:
            lines.append(line)
            # The builder stage's header: the probe and cache import are done, the export
            # (after the push) is seconds away.
            if EXPENSIVE in line:
                # The probe found the registry writable; now it goes away mid-build.
                registry.terminate()
                registry.wait(timeout=10)
                break
        rest_err = process.stderr.read()
        stdout = process.stdout.read() if process.stdout else ""
        code = process.wait(timeout=300)

    stderr = "".join(lines) + rest_err
    assert code == 0, stderr[-3000:]
    assert stderr.count("event=cache_export_failed") == 1, stderr[-3000:]
    assert "cache      stale: export failed" in stdout
    assert "main" in registry_tags(project.repository("app"))


def test_pull_request_reads_default_branch_and_writes_its_own(engine: None, tmp_path: Path) -> None:
    project = small_project(tmp_path)
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_REF": "refs/pull/42/merge",
        "GITHUB_HEAD_REF": "feature",
        "GITHUB_SHA": project.git("rev-parse", "HEAD"),
    }
    plan = project.bkrun("plan", "--push", "--json", env=env)
    never = project.bkrun("plan", "--push", "--json", env={**env, "BKRUN_CACHE_EXPORT": "false"})

    assert plan.code == 0, plan.output
    repo = REPO.format(project.namespace)
    step = json.loads(plan.stdout)["steps"][0]
    assert step["cache"]["from"] == [
        f"type=registry,ref={repo}:buildcache-pr-42",
        f"type=registry,ref={repo}:buildcache",
    ]
    assert step["cache"]["to"][0].startswith(f"type=registry,ref={repo}:buildcache-pr-42,")
    assert json.loads(never.stdout)["steps"][0]["cache"]["to"] == []
