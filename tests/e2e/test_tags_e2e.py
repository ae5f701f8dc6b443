"""Tags and OCI metadata on the real engine: a release pushed to two repositories.

The index and manifest annotations and the image labels are read back through the registry's
HTTP API, so what is checked is what a registry client sees.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.helpers import INDEX_TYPES, Project, Run, make_project, manifest, registry_get
from tests.e2e.helpers import registry_tags as tags_of

OCI = "org.opencontainers.image."
CANARY = "ghp_E2ECANARY0123456789abcdef"
REMOTE = f"https://ci-bot:{CANARY}@git.example.com/org/example.git"
SOURCE = "https://git.example.com/org/example"


@pytest.fixture(scope="module")
def release(
    engine: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Project, Run]]:
    """The example at an annotated v1.2.3, app also published to <namespace>/app-mirror."""
    project = make_project(tmp_path_factory.mktemp("release"))
    config = project.path / "bkrun.toml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + f'repositories = ["{project.namespace}/app-mirror"]\n'
        + 'tags = ["sha", "branch", "semver", "latest"]\n'
        + 'labels = { "com.example.built-from" = "{{short_sha}}" }\n'
        + 'metadata = { licenses = "MIT" }\n',
        encoding="utf-8",
    )
    project.git("commit", "-q", "-am", "release config")
    project.git("tag", "-a", "v1.2.3", "-m", "release 1.2.3")
    project.git("remote", "add", "origin", REMOTE)

    run = project.bkrun("build", "--push")
    assert run.code == 0, run.output[-4000:]
    yield project, run


def test_both_repositories_get_every_tag(release: tuple[Project, Run]) -> None:
    project, _ = release
    sha = project.git("rev-parse", "HEAD")
    expected = {f"sha-{sha[:7]}", "main", "1.2.3", "1.2", "1", "latest"}

    primary = tags_of(project.repository("app"))
    mirror = tags_of(f"{project.namespace}/app-mirror")
    assert expected <= primary
    assert expected <= mirror
    digest_primary, _ = manifest(project.repository("app"), "1.2.3")
    digest_mirror, _ = manifest(f"{project.namespace}/app-mirror", "1.2.3")
    assert digest_primary == digest_mirror


def test_index_and_manifest_annotations(release: tuple[Project, Run]) -> None:
    project, _ = release
    sha = project.git("rev-parse", "HEAD")
    commit_time = project.git("log", "-1", "--format=%cI", "HEAD")

    _, index = manifest(project.repository("app"), "1.2.3")
    assert index["mediaType"] in INDEX_TYPES
    annotations = index.get("annotations", {})
    assert annotations[OCI + "revision"] == sha
    assert annotations[OCI + "version"] == "1.2.3"
    assert annotations[OCI + "source"] == SOURCE
    assert annotations[OCI + "licenses"] == "MIT"
    assert annotations[OCI + "created"].startswith(commit_time[:10])
    # No key carries a level prefix: buildx got one level per flag.
    assert not any("," in key or ":" in key for key in annotations)

    for entry in index["manifests"]:
        _, image = manifest(project.repository("app"), entry["digest"])
        assert image["annotations"][OCI + "revision"] == sha


def test_labels_in_the_image_config(release: tuple[Project, Run]) -> None:
    project, _ = release
    sha = project.git("rev-parse", "HEAD")
    repository = project.repository("app")
    _, index = manifest(repository, "1.2.3")
    _, image = manifest(repository, index["manifests"][0]["digest"])
    _, config = registry_get(f"{repository}/blobs/{image['config']['digest']}")
    labels = config["config"]["Labels"]

    assert labels[OCI + "revision"] == sha
    assert labels[OCI + "title"] == "app"
    assert labels["com.example.built-from"] == sha[:7]
    base_digest, _ = manifest(project.repository("base"), f"sha-{sha[:7]}")
    assert labels[OCI + "base.digest"] == base_digest
    assert labels[OCI + "base.name"].endswith(f"{project.repository('base')}:sha-{sha[:7]}")


def test_the_remote_credentials_never_leak(release: tuple[Project, Run]) -> None:
    project, run = release
    assert CANARY not in run.output
    plan = project.bkrun("plan", "--push", "--json", "--offline")
    tags = project.bkrun("tags", "--json")
    assert CANARY not in plan.output + tags.output
    _, index = manifest(project.repository("app"), "1.2.3")
    assert CANARY not in str(index)
