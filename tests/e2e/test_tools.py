"""doctor, preflight, reports and the bake export against the real engine and registry."""

from __future__ import annotations

import json
import subprocess
import time

from buildkit_runner import checks
from tests.e2e.helpers import Project, wipe_builder


def test_doctor_finds_this_machine_ready(project: Project) -> None:
    run = project.bkrun("doctor", "--json")

    assert run.code == 0, run.output
    found = {c["name"]: c for c in json.loads(run.stdout)["checks"]}
    assert found["cache export"]["ok"] and found["image store"]["ok"]
    assert found["emulator linux/arm64"]["ok"]
    assert found["registry local"]["detail"].startswith("127.0.0.1:5000 answers")


def test_preflight_is_fast() -> None:
    started = time.monotonic()
    found = checks.preflight(["linux/amd64", "linux/arm64"], cache_export=True)
    elapsed = time.monotonic() - started

    assert not checks.failed(found), found
    # One docker buildx inspect and a read under /proc: well under a second here.
    assert elapsed < 1.5, elapsed


def test_report_counts_registry_cache_hits_on_a_wiped_builder(project: Project) -> None:
    args = ("build", "base", "--push", "--platform", "linux/amd64", "--report", "r.json")
    first = project.bkrun(*args)
    assert first.code == 0, first.output[-3000:]
    cold = json.loads((project.path / "r.json").read_text())["images"][0]
    assert cold["cache"]["imports"][0]["status"] == "missing"
    assert cold["cache"]["exports"][0]["status"] == "exported"

    wipe_builder(project.repository("base"))
    second = project.bkrun(*args)

    assert second.code == 0, second.output[-3000:]
    report = json.loads((project.path / "r.json").read_text())
    base = report["images"][0]
    assert base["status"] == "pushed" and base["published"]
    assert base["cache"]["imports"][0]["status"] == "imported"
    assert base["steps"]["total"] == 3 and base["cache_hit_ratio"] == 1.0
    assert report["published"] == base["refs"]


def test_bake_export_is_accepted_and_builds(project: Project) -> None:
    export = project.bkrun("export", "bake", "--platform", "linux/amd64")
    assert export.code == 0, export.output

    printed = subprocess.run(
        ["docker", "buildx", "bake", "--print", "-f", "docker-bake.json"],
        cwd=project.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout)["target"]["app"]["contexts"] == {"base": "target:base"}

    built = subprocess.run(
        ["docker", "buildx", "bake", "-f", "docker-bake.json", "--progress=plain"],
        cwd=project.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    assert "example: building the app" in built.stderr or "[app" in built.stderr
