"""bkrun validate: every problem plan would report, found without building anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildkit_runner import builder
from buildkit_runner.builder import BuilderInfo
from tests.conftest import Invoke
from tests.fakes import commit_all, init_repo, write_project

REGISTRY = '[registries.local]\nhost = "127.0.0.1:5000"\n\n[defaults]\nregistry = "local"\n\n'
DOCKER = BuilderInfo(name="default", driver="docker", status="running")
CONTAINER = BuilderInfo(name="ci", driver="docker-container", status="running")


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = init_repo(tmp_path / "repo")
    monkeypatch.chdir(root)
    return root


def _project(root: Path, toml: str, contexts: tuple[str, ...] = ("web",)) -> None:
    write_project(root, toml, contexts)
    commit_all(root)


def test_two_images_with_one_repository_are_one_line_per_pair(checkout: Path, cli: Invoke) -> None:
    # The user's report: validate said ok, plan refused it (once per tag).
    _project(
        checkout,
        REGISTRY
        + '[images.web]\nrepository = "demo/web"\ncontext = "web"\n\n'
        + '[images.api]\nrepository = "demo/web"\ncontext = "web"\n',
    )
    result = cli("validate", "--offline")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        "bkrun: error: bkrun.toml: images.web and images.api both publish "
        "127.0.0.1:5000/demo/web:sha-"
    )
    assert "and 3 more tag(s); give one its own repository" in lines[0]


def test_empty_images_is_nothing_to_build_like_plan(checkout: Path, cli: Invoke) -> None:
    # The user's report: validate printed "ok (0 images: )", plan exited 3.
    _project(checkout, "[images]\n", ())
    validate, plan = cli("validate", "--offline"), cli("plan", "--offline")
    assert (validate.exit_code, validate.stdout) == (3, "")
    assert (
        validate.stderr
        == plan.stderr
        == ("bkrun: nothing to build: bkrun.toml defines no images; add an [images.<name>] table\n")
    )


S3 = (
    REGISTRY
    + '[cache]\nbackend = "s3"\ns3 = { bucket = "b", region = "r" }\n\n'
    + '[images.web]\nrepository = "demo/web"\ncontext = "web"\n'
)


def test_s3_cache_on_the_docker_driver_is_reported_unless_offline(
    checkout: Path, cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(checkout, S3)
    monkeypatch.setattr(builder, "inspect", lambda: DOCKER)

    result = cli("validate")

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        'bkrun: error: bkrun.toml: cache.backend "s3" (images web) is not supported by the '
        "docker driver of builder 'default'; create a builder with docker buildx create "
        "--driver docker-container --use, or use the registry backend"
    ]
    offline = cli("validate", "--offline")
    assert offline.exit_code == 0
    assert "builder not checked (--offline)" in offline.stdout


def test_s3_cache_on_a_container_builder_is_fine(
    checkout: Path, cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(checkout, S3)
    monkeypatch.setattr(builder, "inspect", lambda: CONTAINER)
    result = cli("validate")
    assert result.exit_code == 0, result.stderr
    assert "builder 'ci' (docker-container driver) can use the cache backends" in result.stdout


def test_an_engine_that_does_not_answer_is_reported_not_an_error(
    checkout: Path, cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(checkout, S3)
    monkeypatch.setattr(builder, "inspect", lambda: BuilderInfo(error="Cannot connect"))
    result = cli("validate")
    assert result.exit_code == 0, result.stderr
    assert "builder not checked: the engine does not answer (Cannot connect)" in result.stdout


def test_doctor_flags_a_cache_backend_the_builder_cannot_use(
    checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from buildkit_runner.commands import doctor
    from buildkit_runner.config import load

    _project(checkout, S3)
    check = doctor._backend_check(load(checkout / "bkrun.toml"), DOCKER)
    assert not check.ok
    assert check.detail == (
        'cache.backend "s3" (images web) is not supported by the docker driver of builder '
        "'default'"
    )
    assert check.fix and "docker-container" in check.fix
    assert doctor._backend_check(load(checkout / "bkrun.toml"), CONTAINER).ok
