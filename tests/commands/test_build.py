"""bkrun build against the fake docker: it runs exactly the plan, and reports failures."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from buildkit_runner.plan import digest_placeholder
from buildkit_runner.redact import MASK
from tests.conftest import Invoke
from tests.fakes import FakeDocker, commit_all, init_repo, write_project

THREE = """\
[project]
name = "trio"
default-branch = "main"

[registries.local]
host = "127.0.0.1:5000"

[defaults]
registry = "local"
platforms = ["linux/amd64", "linux/arm64"]

[images.base]
repository = "trio/base"
context = "base"

[images.app]
repository = "trio/app"
context = "app"
depends-on = ["base"]

[images.worker]
repository = "trio/worker"
context = "worker"
depends-on = ["base", "app"]
"""


@pytest.fixture
def trio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A committed checkout: base, then app on base, then worker on both; cwd is it."""
    root = init_repo(tmp_path / "trio")
    write_project(root, THREE, ("base", "app", "worker"))
    commit_all(root)
    monkeypatch.chdir(root)
    return root


def expected_argvs(plan: dict[str, Any], calls: list[dict[str, Any]]) -> list[list[str]]:
    """The plan's argv per step, with each ${IMAGE.digest} replaced by what the fake reported."""
    digests = {call["image"]: call["digest"] for call in calls}
    result = []
    for step in plan["steps"]:
        argv = step["argv"][1:]  # the runner calls the docker binary by path
        for image, digest in digests.items():
            argv = [arg.replace(digest_placeholder(image), digest) for arg in argv]
        result.append(argv)
    return result


@pytest.mark.parametrize("push", [True, False])
def test_build_runs_exactly_the_plan(
    trio: Path, cli: Invoke, fake_docker: FakeDocker, push: bool
) -> None:
    flags = ["--push"] if push else []
    planned = cli("plan", "--json", *flags)
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.stdout)

    built = cli("build", *flags)
    assert built.exit_code == 0, built.output

    calls = fake_docker.calls()
    assert [call["image"] for call in calls] == ["base", "app", "worker"]
    assert [call["argv"] for call in calls] == expected_argvs(plan, calls)
    assert all(call["cwd"] == str(trio) for call in calls)
    assert not any("${" in arg for call in calls for arg in call["argv"])
    # The dependency really was pinned to the digest the fake reported for it.
    base_digest = calls[0]["digest"]
    assert any(base_digest in arg for arg in calls[1]["argv"])
    assert any(base_digest in arg for arg in calls[2]["argv"])


def test_build_output_goes_to_stderr_and_the_summary_to_stdout(
    trio: Path, cli: Invoke, fake_docker: FakeDocker
) -> None:
    result = cli("build", "--push")
    assert result.exit_code == 0, result.output
    calls = fake_docker.calls()
    assert "[base] " in result.stderr
    assert "[base] " not in result.stdout
    assert "event=build_started" in result.stderr  # logs: stderr only
    assert "event=" not in result.stdout and "level=" not in result.stdout
    assert "bkrun summary" in result.stdout
    assert "  base: pushed in " in result.stdout
    assert f"    digest     {calls[0]['digest']}" in result.stdout
    sha = json.loads(cli("plan", "--json").stdout)["git"]["sha"]
    assert f"    tag        127.0.0.1:5000/trio/app:sha-{sha[:7]}" in result.stdout
    assert "Traceback" not in result.output


def test_a_failing_second_image_stops_the_run(
    trio: Path, cli: Invoke, fake_docker: FakeDocker
) -> None:
    fake_docker.script(
        "app",
        1,
        "#7 [app 2/3] RUN make",
        '#7 ERROR: process "/bin/sh -c make" did not complete successfully: exit code: 2',
        'ERROR: failed to solve: process "/bin/sh -c make" did not complete successfully',
    )
    result = cli("build", "--push")
    assert result.exit_code == 1
    assert [call["image"] for call in fake_docker.calls()] == ["base", "app"]

    # No partial publish: base built and was pushed by digest, but no tag moved.
    assert "  base: ok in " in result.stdout
    assert "  app: FAILED in " in result.stdout
    assert "  worker: not run" in result.stdout
    assert "  published: none; not published: base, app, worker" in result.stdout
    assert fake_docker.published() == []

    stderr = result.stderr
    assert "bkrun: build failed: image 'app' failed to build (buildx exit 1)\n" in stderr
    assert "  last " in stderr and " lines of the build log:\n" in stderr
    tail = stderr.split(" lines of the build log:\n", 1)[1]
    assert '  ERROR: failed to solve: process "/bin/sh -c make"' in tail
    assert "Traceback" not in result.output


def test_engine_unreachable_exits_4(trio: Path, cli: Invoke, fake_docker: FakeDocker) -> None:
    fake_docker.script(
        "base",
        1,
        "ERROR: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
        "Is the docker daemon running?",
    )
    result = cli("build")
    assert result.exit_code == 4
    assert "bkrun: engine unavailable: image 'base': docker or buildx could not reach" in (
        result.stderr
    )
    assert "Cannot connect to the Docker daemon" in result.stderr  # the tail is shown


def test_failed_push_exits_5(trio: Path, cli: Invoke, fake_docker: FakeDocker) -> None:
    fake_docker.script(
        "base",
        1,
        "#12 pushing layers",
        "ERROR: failed to push 127.0.0.1:5000/trio/base:main: unexpected status: 401",
    )
    result = cli("build", "--push")
    assert result.exit_code == 5
    assert (
        "bkrun: push failed: image 'base' built but pushing to 127.0.0.1:5000/trio/base "
        "failed (exit 1); check the registry is reachable and you are logged in"
    ) in result.stderr


def test_push_failure_text_without_push_is_a_build_failure(
    trio: Path, cli: Invoke, fake_docker: FakeDocker
) -> None:
    fake_docker.script("base", 1, "ERROR: failed to push something")
    assert cli("build").exit_code == 1


def test_docker_missing_exits_4(trio: Path, cli: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = trio / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no docker (and no git: plan without tags)
    result = cli("build")
    assert result.exit_code == 4
    assert "bkrun: engine unavailable: " in result.stderr
    assert "the docker command is not on PATH" in result.stderr
    unchecked = cli("build", "--no-preflight")
    assert unchecked.exit_code == 4
    assert unchecked.stderr.splitlines()[-1] == (
        "bkrun: engine unavailable: the docker command is not on PATH; install the docker "
        "client with the buildx plugin (scripts/engine.sh up does it on Debian)"
    )


def test_engine_down_before_the_build_exits_4_and_builds_nothing(
    trio: Path, cli: Invoke, fake_docker: FakeDocker
) -> None:
    fake_docker.script("inspect", 1, "ERROR: Cannot connect to the Docker daemon at unix:///x")
    result = cli("build", "--push")
    assert result.exit_code == 4
    assert "Cannot connect to the Docker daemon" in result.stderr
    assert fake_docker.calls() == []


SECRET_PROJECT = """\
[registries.local]
host = "127.0.0.1:5000"

[images.web]
repository = "canary/web"
registry = "local"
context = "web"
secrets = [{ id = "npm", env = "NPM_TOKEN" }]
"""


@pytest.fixture
def canary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_docker: FakeDocker) -> str:
    """NPM_TOKEN holds a random canary the fake docker echoes; returns it."""
    value = f"canary-{secrets.token_hex(12)}"
    root = init_repo(tmp_path / "canary")
    write_project(root, SECRET_PROJECT, ("web",))
    commit_all(root)
    monkeypatch.chdir(root)
    monkeypatch.setenv("NPM_TOKEN", value)
    monkeypatch.setenv("FAKE_DOCKER_ECHO", "NPM_TOKEN")
    return value


def test_secret_value_never_reaches_output_or_argv(
    canary: str, cli: Invoke, fake_docker: FakeDocker
) -> None:
    outputs = []
    for args in (["plan"], ["plan", "--json", "--push"], ["-v", "build", "--push"]):
        result = cli(*args)
        assert result.exit_code == 0, result.output
        outputs.append(result)

    fake_docker.script("web", 1, "ERROR: failed to solve: exit code: 1")
    failed = cli("-v", "--log-format", "json", "build", "--push")
    assert failed.exit_code == 1
    outputs.append(failed)

    for result in outputs:
        assert canary not in result.stdout
        assert canary not in result.stderr
    [call, _] = fake_docker.calls()
    assert canary not in json.dumps(call)
    assert "id=npm,env=NPM_TOKEN" in call["argv"]
    # The fake did echo it (inside the progress stream and on its own line): it was masked.
    build_output = outputs[2].stderr
    assert f"npm token is {MASK}" in build_output
    assert f"NPM_TOKEN={MASK}" in build_output
    assert f"npm token is {MASK}" in failed.stderr  # the tail shown after the failure
