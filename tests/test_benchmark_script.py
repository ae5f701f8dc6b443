"""scripts/benchmark.py --smoke for the plan suite: it runs, and its JSON report has the shape
docs/benchmarks.md describes. No timing is asserted: figures are for reading, not for tests.

The plan suite builds nothing: it runs ``bkrun plan`` and ``docker buildx bake --print``, which
needs the buildx plugin but no engine, so this test is not marked ``engine``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "benchmark.py"
STATS_KEYS = {"median", "min", "max", "runs"}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if shutil.which("docker") is None:
        pytest.fail("the docker client with the buildx plugin is needed (scripts/engine.sh up)")
    out = tmp_path_factory.mktemp("bench") / "report.json"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--suite", "plan", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "## plan (1 run(s)" in result.stdout
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def assert_stats(value: Any, runs: int = 1) -> None:
    assert set(value) == STATS_KEYS
    assert value["runs"] == runs
    assert value["min"] <= value["median"] <= value["max"]


def test_meta_states_date_machine_commit_and_smoke(report: dict[str, Any]) -> None:
    meta = report["meta"]

    assert report["version"] == 1
    assert meta["date"][:4].isdigit() and "T" in meta["date"]
    assert meta["machine"]["cores"] >= 1
    assert meta["machine"]["memory_gib"] > 0
    assert meta["commit"] == "uncommitted" or meta["commit"] == meta["head"]
    assert meta["smoke"] is True
    assert set(report["suites"]) == {"plan"}


def test_plan_suite_measures_the_smallest_size_once(report: dict[str, Any]) -> None:
    suite = report["suites"]["plan"]

    assert suite["status"] == "ok", suite.get("error")
    assert suite["runs"] == 1
    assert suite["sizes"] == [1]
    assert len(suite["load"]) == 2
    # One row as users run it, and one with --offline when bkrun has that option.
    variants = [result["variant"] for result in suite["results"]]
    assert variants in (["default"], ["default", "offline"])
    for result in suite["results"]:
        assert result["size"] == 1
        for key in ("bkrun_s", "bake_s", "ratio", "bkrun_rss_mib", "bake_rss_mib"):
            assert_stats(result[key])
        assert result["bkrun_rss_mib"]["median"] > 0
        assert result["verdict"] is None
    # The target is judged at 100 images only, which a smoke run does not reach.
    assert suite["verdict"] is None
    assert "profile" not in suite


def test_plan_suite_reports_cold_start_and_import_time(report: dict[str, Any]) -> None:
    suite = report["suites"]["plan"]

    assert_stats(suite["cold_start"]["bkrun_version_s"])
    assert_stats(suite["cold_start"]["python_bare_s"])
    imports = suite["import_time"]
    assert imports["total_ms"] > 0
    assert "buildkit_runner" in imports["by_package_ms"]
    assert imports["top_cumulative_ms"]
