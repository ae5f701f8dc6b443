"""Fixtures for the end-to-end tests: the real engine and example projects.

These tests need `scripts/engine.sh up`. A missing engine is a failure, never a skip: the
README's test command starts it, so its absence means the set-up is broken.
"""

from __future__ import annotations

import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import REGISTRY, Project, Run, make_project, wipe_builder


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.engine)

    # Unit tests first: they fail in seconds, the real-engine tests take minutes.
    items.sort(key=lambda item: item.get_closest_marker("engine") is not None)


@pytest.fixture(scope="session")
def engine() -> None:
    """Fail (not skip) unless dockerd, buildx and the registry answer."""
    problems = []
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if info.returncode != 0:
        problems.append(f"docker info failed: {info.stderr.strip()[:200]}")
    buildx = subprocess.run(
        ["docker", "buildx", "version"], capture_output=True, text=True, check=False
    )
    if buildx.returncode != 0:
        problems.append("docker buildx is not installed")
    try:
        urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=5).close()
    except OSError as exc:
        problems.append(f"registry {REGISTRY} does not answer: {exc}")
    if problems:
        pytest.fail("real engine unavailable (run scripts/engine.sh up): " + "; ".join(problems))


@pytest.fixture
def project(engine: None, tmp_path: Path) -> Project:
    return make_project(tmp_path)


@pytest.fixture(scope="module")
def pushed(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, Run]]:
    """The example, built and pushed once for a whole test module."""
    project = make_project(tmp_path_factory.mktemp("pushed"))
    # Cold: nothing from earlier builds may serve this one.
    wipe_builder()
    run = project.bkrun("build", "--push")
    assert run.code == 0, run.output[-4000:]
    yield project, run


@pytest.fixture
def project_dir(engine: None, tmp_path: Path) -> Path:
    return tmp_path
