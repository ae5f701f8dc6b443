"""Plans with --if-changed, --no-deps, profiles, --pull and reproducible images."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildkit_runner import changes
from buildkit_runner.changes import ImageInputs, Inputs, Published
from buildkit_runner.config import load
from buildkit_runner.errors import ConfigError, UsageError
from buildkit_runner.plan import Options, make_plan
from tests.fakes import git_context, load_project, write_project

HOST = "127.0.0.1:5000"
TOML = """\
[registries.local]
host = "127.0.0.1:5000"

[defaults]
registry = "local"
tags = ["sha", "branch"]

[images.base]
repository = "demo/base"
context = "base"

[images.app]
repository = "demo/app"
context = "app"
depends-on = ["base"]

[images.solo]
repository = "demo/solo"
context = "solo"

[profiles.nightly]
pull = true
reproducible = true
trigger = "schedule"
jobs = 4
if-changed = true
"""
OLD = "sha256:" + "1" * 64


def _inputs(**changed: bool) -> Inputs:
    """Inputs where each image's digest matches the registry's unless changed[name]."""
    images = {}
    for name in ("base", "app", "solo"):
        digest = changes.combine({"name": name, "changed": str(changed.get(name, False))})
        stored = changes.combine({"name": name, "changed": "False"})
        published = Published(f"{HOST}/demo/{name}:main", OLD, stored, {})
        images[name] = ImageInputs(digest, {}, published)
    return Inputs(images)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_project(tmp_path, TOML, ("base", "app", "solo"))
    return tmp_path


def _plan(root: Path, **options: object):  # type: ignore[no-untyped-def]
    config = load(root / "bkrun.toml")
    return make_plan(config, git_context(), Options(**options))  # type: ignore[arg-type]


def test_if_changed_builds_the_changed_image_and_its_dependents(root: Path) -> None:
    plan = _plan(root, push=True, if_changed=True, inputs=_inputs(base=True))

    assert [s.image for s in plan.steps] == ["base", "app"]
    assert plan.steps[1].reason == "depends on base, which this run rebuilds"
    assert [(s.image, s.digest) for s in plan.skipped] == [("solo", OLD)]
    assert plan.skipped[0].reason.startswith("inputs unchanged")
    kinds = [(p.image, p.retag, p.source) for p in plan.publish]
    assert kinds == [
        ("base", False, f"{HOST}/demo/base@${{base.digest}}"),
        ("solo", True, f"{HOST}/demo/solo@{OLD}"),
        ("app", False, f"{HOST}/demo/app@${{app.digest}}"),
    ]


def test_a_rebuilt_image_builds_on_its_skipped_dependencys_published_digest(root: Path) -> None:
    plan = _plan(root, push=True, if_changed=True, inputs=_inputs(app=True))

    [app] = plan.steps
    context = app.argv[app.argv.index("--build-context") + 1]
    assert context == f"base=docker-image://{HOST}/demo/base@{OLD}"


def test_the_input_digest_is_a_label_of_the_image(root: Path) -> None:
    inputs = _inputs(solo=True)
    [solo] = _plan(root, push=True, if_changed=True, inputs=inputs).steps
    digest = inputs.images["solo"].digest
    assert f"{changes.LABEL}={digest}" in solo.argv


def test_no_deps_builds_on_the_published_dependency(root: Path) -> None:
    plan = _plan(root, images=("app",), no_deps=True, push=True, inputs=_inputs())

    assert [s.image for s in plan.steps] == ["app"]
    assert f"base=docker-image://{HOST}/demo/base@{OLD}" in plan.steps[0].argv


def test_no_deps_without_a_published_dependency_says_so(root: Path) -> None:
    with pytest.raises(UsageError, match="no published image of it was found"):
        _plan(root, images=("app",), no_deps=True, push=True)


def test_if_changed_and_offline_exclude_each_other(root: Path) -> None:
    with pytest.raises(UsageError, match="--if-changed compares"):
        _plan(root, if_changed=True, offline=True)


def test_a_profile_overrides_the_images(root: Path) -> None:
    config = load(root / "bkrun.toml", profile="nightly")
    assert all(i.pull and i.reproducible for i in config.images.values())
    assert (config.run.trigger, config.run.jobs, config.run.if_changed) == ("schedule", 4, True)

    [base, *_] = make_plan(config, git_context(), Options(push=True)).steps
    assert "--pull" in base.argv
    epoch = int(git_context().commit_time.timestamp())  # type: ignore[union-attr]
    assert f"SOURCE_DATE_EPOCH={epoch}" in base.argv


def test_no_pull_on_the_command_line_wins_over_the_profile(root: Path) -> None:
    config = load(root / "bkrun.toml", profile="nightly")
    [base, *_] = make_plan(config, git_context(), Options(pull=False)).steps
    assert "--pull" not in base.argv


def test_an_unknown_profile_suggests_the_closest(root: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(root / "bkrun.toml", profile="nighty")
    assert "--profile 'nighty': no [profiles.nighty] table; did you mean 'nightly'?" in str(
        caught.value.problems
    )


def test_rewrite_timestamp_when_the_builder_takes_it(tmp_path: Path) -> None:
    from buildkit_runner.cache import Facts

    toml = '[images.web]\nrepository = "127.0.0.1:5000/web"\nreproducible = true\n'
    config = load_project(tmp_path, toml, (".",))
    for supported, suffix in ((True, ",rewrite-timestamp=true"), (False, "")):
        options = Options(push=True, facts=Facts(probed=True, rewrite_timestamp=supported))
        [step] = make_plan(config, git_context(), options).steps
        output = step.argv[step.argv.index("--output") + 1]
        assert (
            output == f"{HOST}/web:bkrun-staging".join(("type=image,name=", ",push=true")) + suffix
        )
    assert any("moby/buildkit#4230" in note for note in step.notes)
