"""bkrun init: Dockerfiles, a build script or a compose file → a bkrun.toml that loads."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from buildkit_runner import config
from tests.conftest import Invoke

BUILD_SH = """\
#!/bin/sh
set -eu
REGISTRY=ghcr.io/acme
TAG=${TAG:-latest}
docker buildx build --platform linux/amd64,linux/arm64 \\
    -t $REGISTRY/api:$TAG -t "$REGISTRY/api:1.4.2" \\
    --build-arg PYTHON=3.12 --build-arg NPM_TOKEN=$NPM_TOKEN \\
    --label org.opencontainers.image.source=https://example.com/acme \\
    --cache-from type=registry,ref=$REGISTRY/api:cache \\
    --cache-to type=registry,ref=$REGISTRY/api:cache,mode=min \\
    --push -f services/api/Dockerfile services/api
docker build -t $REGISTRY/worker:$TAG --target runtime --squash worker \
    && docker push $REGISTRY/worker:$TAG
"""

COMPOSE = """\
services:
  base:
    image: registry.example.com/acme/base:1.0
    build: ./base
  web:
    image: registry.example.com/acme/web
    build:
      context: web
      dockerfile: web.Dockerfile
      args: [MODE=prod]
      additional_contexts:
        base: service:base
      platforms: [linux/amd64]
  db:
    image: postgres:16
"""


def _files(root: Path, *paths: str) -> None:
    for path in paths:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("FROM scratch\n")


def test_build_script_is_translated(tmp_path: Path, cli: Invoke) -> None:
    _files(tmp_path, "services/api/Dockerfile", "worker/Dockerfile")
    (tmp_path / "build.sh").write_text(BUILD_SH)

    result = cli("init", str(tmp_path), "--from", str(tmp_path / "build.sh"))

    assert result.exit_code == 0, result.stderr
    text = (tmp_path / "bkrun.toml").read_text()
    loaded = config.load(tmp_path / "bkrun.toml")
    api, worker = loaded.images["api"], loaded.images["worker"]
    assert api.repository == "ghcr.io/acme/api"
    assert api.platforms == ("linux/amd64", "linux/arm64")
    assert dict(api.build_args) == {"PYTHON": "3.12"}
    assert [s.env for s in api.secrets] == ["NPM_TOKEN"]
    assert api.cache.mode == "min" and api.cache.ref == "ghcr.io/acme/api:cache"
    assert worker.target == "runtime" and worker.context == "worker"
    assert "# from build.sh:5" in text and "option --squash not translated" in text
    assert '{ type = "raw", value = "1.4.2" }' in text
    assert "# the old build tagged: latest, 1.4.2" in text


def test_compose_build_sections(tmp_path: Path, cli: Invoke) -> None:
    _files(tmp_path, "base/Dockerfile", "web/web.Dockerfile")
    (tmp_path / "compose.yaml").write_text(COMPOSE)

    result = cli("init", str(tmp_path), "--from", str(tmp_path / "compose.yaml"))

    assert result.exit_code == 0, result.stderr
    loaded = config.load(tmp_path / "bkrun.toml")
    assert list(loaded.images) == ["base", "web"]  # db has no build section
    web = loaded.images["web"]
    assert web.depends_on == ("base",) and web.dockerfile == "web/web.Dockerfile"
    assert web.repository == "registry.example.com/acme/web"
    assert dict(web.build_args) == {"MODE": "prod"}


def test_dockerfiles_found_without_a_source(tmp_path: Path, cli: Invoke) -> None:
    root = tmp_path / "shop"
    _files(
        root,
        "Dockerfile",
        "frontend/Dockerfile",
        "tools/lint.Dockerfile",
        "node_modules/x/Dockerfile",
    )

    result = cli("init", str(root), "--registry", "ghcr.io")

    assert result.exit_code == 0, result.stderr
    loaded = config.load(root / "bkrun.toml")
    assert sorted(loaded.images) == ["frontend", "lint", "shop"]
    assert loaded.images["lint"].dockerfile == "tools/lint.Dockerfile"
    assert loaded.images["frontend"].repository == "ghcr.io/frontend"


def test_never_overwrites_without_force(tmp_path: Path, cli: Invoke) -> None:
    _files(tmp_path, "Dockerfile")
    (tmp_path / "bkrun.toml").write_text("# mine\n")

    refused = cli("init", str(tmp_path))
    assert refused.exit_code == 2 and "pass --force" in refused.stderr
    assert (tmp_path / "bkrun.toml").read_text() == "# mine\n"

    assert cli("init", str(tmp_path), "--force").exit_code == 0
    assert "[images." in (tmp_path / "bkrun.toml").read_text()


def test_stdout_and_nothing_found(tmp_path: Path, cli: Invoke) -> None:
    empty = cli("init", str(tmp_path))
    assert empty.exit_code == 3

    _files(tmp_path, "Dockerfile")
    printed = cli("init", str(tmp_path), "-o", "-")
    assert printed.stdout.startswith("# bkrun.toml for ")
    assert not (tmp_path / "bkrun.toml").exists()


@pytest.mark.parametrize("text", ["services: [", "just: text\n"])
def test_bad_compose_is_a_usage_error(tmp_path: Path, cli: Invoke, text: str) -> None:
    (tmp_path / "docker-compose.yml").write_text(textwrap.dedent(text))

    result = cli("init", str(tmp_path), "--from", str(tmp_path / "docker-compose.yml"))

    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("given", "host", "repository"),
    [
        # The user's reports: a namespace and a scheme.
        ("ghcr.io/acme", "ghcr.io", "ghcr.io/acme/app"),
        ("https://ghcr.io", "ghcr.io", "ghcr.io/app"),
        ("https://ghcr.io/acme/team/", "ghcr.io", "ghcr.io/acme/team/app"),
        ("127.0.0.1:5000", "127.0.0.1:5000", "127.0.0.1:5000/app"),
    ],
)
def test_registry_is_split_into_host_and_namespace(
    tmp_path: Path, cli: Invoke, given: str, host: str, repository: str
) -> None:
    root = tmp_path / "app"
    _files(root, "Dockerfile")

    result = cli("init", str(root), "--registry", given)

    assert result.exit_code == 0, result.stderr
    loaded = config.load(root / "bkrun.toml")
    assert [r.host for r in loaded.registries.values()] == [host]
    assert loaded.images["app"].repository == repository
    assert "placeholder" not in result.stderr


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("ghcr", "'ghcr' is not a registry host"),
        ("https://", "'https://' is not a registry host"),
        ("ghcr.io/Acme", "namespace 'Acme' is not a repository path"),
    ],
)
def test_a_bad_registry_is_refused_before_writing(
    tmp_path: Path, cli: Invoke, given: str, why: str
) -> None:
    _files(tmp_path, "Dockerfile")

    result = cli("init", str(tmp_path), "--registry", given)

    assert result.exit_code == 2
    assert result.stderr.startswith(f"bkrun: usage error: --registry {given!r}: {why}")
    assert not (tmp_path / "bkrun.toml").exists()


def test_without_a_registry_the_placeholder_is_commented_and_announced(
    tmp_path: Path, cli: Invoke
) -> None:
    root = tmp_path / "app"
    _files(root, "Dockerfile")

    result = cli("init", str(root))

    assert result.exit_code == 0, result.stderr
    assert "no --registry given" in result.stderr
    assert "(1 image: app)" in result.stdout
    text = (root / "bkrun.toml").read_text()
    assert "# PLACEHOLDER: no --registry was given" in text
    assert config.load(root / "bkrun.toml").images["app"].repository == "127.0.0.1:5000/app"
