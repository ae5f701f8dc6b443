"""Fixtures for the unit tests: a clean environment, the fake docker, the CLI runner."""

from __future__ import annotations

import os
import shlex
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner, Result

from buildkit_runner import log
from buildkit_runner.cli import app
from tests.fakes import FakeDocker, commit_all, init_repo, write_project

FAKE_DOCKER_SCRIPT = Path(__file__).parent / "fake_docker" / "docker.py"

# Marker variables of every CI provider bkrun knows, plus the variables its adapters read.
CI_MARKERS = (
    "CI",
    "GITHUB_ACTIONS",
    "GITEA_ACTIONS",
    "FORGEJO_ACTIONS",
    "GITLAB_CI",
    "JENKINS_URL",
    "BUILDKITE",
    "DRONE",
)
CI_PREFIXES = ("GITHUB_", "GITEA_", "FORGEJO_", "CI_", "BUILDKITE_", "DRONE_", "BKRUN_")
CI_OTHERS = ("CHANGE_ID", "CHANGE_BRANCH", "BRANCH_NAME", "TAG_NAME", "GIT_COMMIT", "GIT_BRANCH")
# Variables that would point git somewhere else than the directory a test gives it.
GIT_REDIRECTS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CEILING_DIRECTORIES")

TEST_ENV = {
    "NO_COLOR": "1",
    "TERMINAL_WIDTH": "3000",
    "_TYPER_FORCE_DISABLE_TERMINAL": "1",
    # bkrun's own git reads must not depend on the developer's git config either.
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _ambient(name: str) -> bool:
    return (
        name in CI_MARKERS
        or name in CI_OTHERS
        or name in GIT_REDIRECTS
        or (name.startswith(CI_PREFIXES))
    )


def _snapshot() -> dict[str, str]:
    # pytest itself rewrites PYTEST_CURRENT_TEST between the phases of a test.
    return {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}


@pytest.fixture(autouse=True)
def clean_environment() -> Iterator[None]:
    """Run every test without CI or BKRUN_* variables; fail a test that leaks env changes.

    Uses its own MonkeyPatch so a test's ``monkeypatch`` is undone before the check.
    """
    patch = pytest.MonkeyPatch()
    for name in [name for name in os.environ if _ambient(name)]:
        patch.delenv(name)
    for name, value in TEST_ENV.items():
        patch.setenv(name, value)
    expected = _snapshot()
    cwd = Path.cwd()
    try:
        yield
    finally:
        actual = _snapshot()
        changed = sorted(
            name
            for name in expected.keys() | actual.keys()
            if expected.get(name) != actual.get(name)
        )
        for name in changed:  # restore, so one leaking test does not break the next ones
            if name in expected:
                os.environ[name] = expected[name]
            else:
                del os.environ[name]
        patch.undo()
        structlog.reset_defaults()
        log.reset()
        moved = Path.cwd() != cwd
        os.chdir(cwd)
    if changed:
        pytest.fail(f"the test left os.environ changed: {', '.join(changed)}")
    if moved:
        pytest.fail("the test left the working directory changed")


@pytest.fixture
def fake_docker(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> FakeDocker:
    """A fake ``docker`` first on PATH; returns its call log and script."""
    base = tmp_path_factory.mktemp("fake-docker")
    bin_dir = base / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "docker"
    command = f'exec {shlex.quote(sys.executable)} {shlex.quote(str(FAKE_DOCKER_SCRIPT))} "$@"'
    wrapper.write_text(f"#!/bin/sh\n{command}\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    fake = FakeDocker(bin_dir, base / "calls.jsonl", base / "script.json")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(fake.log_path))
    monkeypatch.setenv("FAKE_DOCKER_SCRIPT", str(fake.script_path))
    return fake


Invoke = Callable[..., Result]


@pytest.fixture
def cli() -> Invoke:
    """Invoke the bkrun app in-process; the result keeps stdout and stderr apart."""
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args))

    return invoke


EXAMPLE_TOML = """\
[project]
name = "demo"
default-branch = "main"

[registries.local]
host = "127.0.0.1:5000"

[defaults]
registry = "local"
platforms = ["linux/amd64", "linux/arm64"]

[images.base]
repository = "demo/base"
context = "base"

[images.app]
repository = "demo/app"
context = "app"
depends-on = ["base"]
build-args = { GREETING = "hello" }
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A committed git checkout on main with base and app (app depends on base); cwd is it."""
    root = init_repo(tmp_path / "demo")
    write_project(root, EXAMPLE_TOML, contexts=("base", "app"))
    commit_all(root)
    monkeypatch.chdir(root)
    return root
