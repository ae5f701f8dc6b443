"""metadata: OCI labels and annotations, templates in build args, several repositories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from buildkit_runner.config import Config
from buildkit_runner.errors import ConfigError
from buildkit_runner.plan import BuildStep, Options, make_plan
from tests.fakes import SHA, git_context, load_project

HOST = "127.0.0.1:5000"
OCI = "org.opencontainers.image."
HEAD = '[registries.local]\nhost = "127.0.0.1:5000"\n\n[defaults]\nregistry = "local"\n\n'
WEB = '[images.web]\nrepository = "demo/web"\ncontext = "web"\n'
SOURCE = "https://git.example.com/org/app"
RELEASE = {"tags": ("v1.2.3",), "all_tags": ("v1.2.3",), "source": SOURCE}


def config_for(root: Path, text: str, contexts: tuple[str, ...] = ("web",)) -> Config:
    return load_project(root, HEAD + text, contexts)


def step_for(config: Config, **git: object) -> BuildStep:
    plan = make_plan(config, git_context(**git), Options(offline=True))
    return plan.steps[-1]


def args(step: BuildStep, flag: str) -> list[str]:
    return [p.args[1] for p in step.parts if p.args[0] == flag]


def test_oci_labels_and_annotations_of_a_release(tmp_path: Path) -> None:
    text = WEB + (
        'description = "The web app"\n'
        'tags = ["semver", "sha"]\n'
        'metadata = { licenses = "MIT", title = "{{project}} {{image}}" }\n'
        'platforms = ["linux/amd64", "linux/arm64"]\n'
    )
    step = step_for(config_for(tmp_path, text), **RELEASE)
    assert dict(step.labels) == {
        OCI + "created": "2024-01-02T03:04:05Z",
        OCI + "source": SOURCE,
        OCI + "url": SOURCE,
        OCI + "revision": SHA,
        OCI + "version": "1.2.3",
        OCI + "ref.name": "1.2.3",
        OCI + "title": f"{tmp_path.name} web",
        OCI + "description": "The web app",
        OCI + "licenses": "MIT",
    }
    assert step.annotations == step.labels
    annotations = args(step, "--annotation")
    # Multi-platform: one flag per level (buildx 0.13 does not read "index,manifest:").
    assert f"index:{OCI}revision={SHA}" in annotations
    assert f"manifest:{OCI}revision={SHA}" in annotations
    assert not any(a.startswith("index,") for a in annotations)
    assert len(annotations) == 2 * len(step.annotations)


def test_single_platform_annotations_are_manifest_level_only(tmp_path: Path) -> None:
    step = step_for(config_for(tmp_path, WEB + 'platforms = ["linux/amd64"]\n'))
    assert args(step, "--annotation")
    assert all(a.startswith("manifest:") for a in args(step, "--annotation"))
    provenance = step_for(config_for(tmp_path, WEB + "provenance = true\n"))
    assert any(a.startswith("index:") for a in args(provenance, "--annotation"))


def test_created_is_the_commit_time_so_rebuilds_match(tmp_path: Path) -> None:
    config = config_for(tmp_path, WEB)
    first = step_for(config, now=git_context().now.replace(year=2030))
    second = step_for(config)
    assert first.argv == second.argv
    now = step_for(config_for(tmp_path, WEB + 'metadata = { created = "now" }\n'))
    assert dict(now.labels)[OCI + "created"] == "2024-01-02T03:04:05Z"  # fakes: now = commit


def test_switches_turn_automatic_metadata_off(tmp_path: Path) -> None:
    text = (
        "[defaults.metadata]\nlabels = false\n\n"
        + WEB
        + 'annotations = { "com.example.team" = "web" }\n'
        + "metadata = { annotations = false }\n"
    )
    step = step_for(config_for(tmp_path, text))
    assert step.labels == ()
    assert step.annotations == (("com.example.team", "web"),)


def test_config_labels_override_automatic_ones_and_use_templates(tmp_path: Path) -> None:
    text = WEB + (
        'labels = { "org.opencontainers.image.title" = "Web", "git.sha" = "{{short_sha}}" }\n'
        'build-args = { VERSION = "{{version}}", GIT_SHA = "{{sha}}", BRANCH = "{{branch}}" }\n'
        'tags = ["semver"]\n'
    )
    step = step_for(config_for(tmp_path, text), **RELEASE)
    labels = dict(step.labels)
    assert labels[OCI + "title"] == "Web"
    assert labels["git.sha"] == SHA[:7]
    assert args(step, "--build-arg") == ["VERSION=1.2.3", f"GIT_SHA={SHA}", "BRANCH=main"]

    # No version tag: version is the first tag; no branch: that build arg is left out, saying so.
    detached = step_for(config_for(tmp_path, text.replace('["semver"]', '["sha"]')), branch=None)
    assert args(detached, "--build-arg") == [f"VERSION=sha-{SHA[:7]}", f"GIT_SHA={SHA}"]
    assert "build-args.BRANCH: no value for branch in this build" in detached.metadata_skipped


def test_unknown_template_variables_are_config_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    text = WEB + (
        'build-args = { GIT_SHA = "{{shaa}}" }\n'
        'labels = { x = "{{ nope }}", y = "{{sha" }\n'
        'tags = [{ type = "raw", value = "b-{{brnch}}" },\n'
        '        { type = "raw", value = "{{version}}" }]\n'
    )
    with pytest.raises(ConfigError) as caught:
        config_for(tmp_path, text)
    assert caught.value.problems == (
        "bkrun.toml: images.web.build-args.GIT_SHA: unknown template variable 'shaa'; "
        "did you mean 'sha'?",
        "bkrun.toml: images.web.labels.x: unknown template variable 'nope'; known: sha, "
        "short_sha, branch, tag, pr, trigger, commit_date, commit_time, date, source, major, "
        "minor, patch, project, image, repository, version",
        "bkrun.toml: images.web.labels.y: unbalanced braces in '{{sha': a variable is written "
        "{{name}} (letters, digits and _), e.g. {{sha}}",
        "bkrun.toml: images.web.tags[0].value: unknown template variable 'brnch'; "
        "did you mean 'branch'?",
        "bkrun.toml: images.web.tags[1].value: {{version}} comes from the tags themselves; use "
        'a semver rule with a suffix instead, e.g. { type = "semver", suffix = "-alpine" }',
    )


def test_base_name_and_digest_only_for_a_depends_on_base(tmp_path: Path) -> None:
    text = (
        '[images.base]\nrepository = "demo/base"\ncontext = "base"\ntags = ["sha"]\n\n'
        '[images.app]\nrepository = "demo/app"\ncontext = "app"\ndepends-on = ["base"]\n'
    )
    config = config_for(tmp_path, text, ("base", "app"))
    (tmp_path / "app" / "Dockerfile").write_text("FROM base AS build\nFROM --platform=x base\n")
    config = config_for(tmp_path, text, ())
    labels = dict(step_for(config).labels)
    assert labels[OCI + "base.name"] == f"{HOST}/demo/base:sha-{SHA[:7]}"
    assert labels[OCI + "base.digest"] == "${base.digest}"

    (tmp_path / "app" / "Dockerfile").write_text("FROM base AS build\nFROM alpine:3\n")
    labels = dict(step_for(config_for(tmp_path, text, ())).labels)
    assert OCI + "base.name" not in labels


def test_source_never_carries_credentials(tmp_path: Path) -> None:
    # GitContext.source is made by git.source_url; a plan built on it holds no secret.
    from buildkit_runner.git import source_url

    canary = "glpat-CANARY-4242"
    source = source_url(f"https://oauth2:{canary}@gitlab.example.com/g/app.git")
    step = step_for(config_for(tmp_path, WEB), source=source)
    plan_text = json.dumps(make_plan(config_for(tmp_path, WEB), git_context(source=source),
                                     Options(offline=True)).to_json())  # fmt: skip
    assert canary not in plan_text and canary not in " ".join(step.argv)
    assert dict(step.labels)[OCI + "source"] == "https://gitlab.example.com/g/app"


def test_missing_facts_are_listed(tmp_path: Path) -> None:
    step = step_for(config_for(tmp_path, WEB + 'tags = ["branch"]\n'), sha=None, branch=None,
                    commit_time=None)  # fmt: skip
    assert step.metadata_skipped == (
        f"{OCI}created: no commit time (no git commit)",
        f"{OCI}source: no git remote with a web address and no CI repository variable",
        f"{OCI}url: no git remote with a web address and no CI repository variable",
        f"{OCI}revision: no commit sha",
        f"{OCI}version: no tag",
        f"{OCI}ref.name: no tag",
    )


def test_several_repositories_get_the_same_tags(tmp_path: Path) -> None:
    text = WEB + ('repositories = ["mirror/web", "ghcr.io/org/web"]\ntags = ["sha", "branch"]\n')
    step = step_for(config_for(tmp_path, text))
    repos = (f"{HOST}/demo/web", f"{HOST}/mirror/web", "ghcr.io/org/web")
    assert step.repositories == repos
    assert args(step, "--tag") == [
        f"{repo}:{tag}" for tag in (f"sha-{SHA[:7]}", "main") for repo in repos
    ]
    assert len(step.refs) == 6


def test_repositories_are_validated_with_their_key_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        config_for(tmp_path, WEB + 'repositories = ["Demo/Web"]\n')
    [problem] = caught.value.problems
    assert problem.startswith("bkrun.toml: images.web.repositories[0]: ")


def test_two_images_claiming_one_repository_tag_is_a_config_error(tmp_path: Path) -> None:
    text = (
        WEB
        + 'tags = ["sha", "latest"]\n\n'
        + '[images.worker]\nrepository = "demo/worker"\ncontext = "web"\n'
        + 'repositories = ["demo/web"]\ntags = [{ type = "sha", suffix = "-worker" }, "latest"]\n'
    )
    config = config_for(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        make_plan(config, git_context(), Options(images=("web",), offline=True))
    assert caught.value.problems == (
        f"bkrun.toml: images.web and images.worker both publish {HOST}/demo/web:latest; "
        'give one its own repository, or a suffix on its tag rules (suffix = "-worker")',
    )
    assert caught.value.exit_code == 2
