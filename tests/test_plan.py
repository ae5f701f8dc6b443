"""plan: the exact buildx argv for representative configs, selection and option checks."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from buildkit_runner.config import Config
from buildkit_runner.errors import NothingToBuild, UsageError
from buildkit_runner.plan import PLAN_FORMAT_VERSION, Options, make_plan, select
from tests.fakes import SHA, git_context, load_project

HOST = "127.0.0.1:5000"
SHORT = f"sha-{SHA[:7]}"
HEAD = (
    '[registries.local]\nhost = "127.0.0.1:5000"\n\n'
    '[defaults]\nregistry = "local"\ntags = ["sha"]\n\n'
)


def config_for(root: Path, images: str, contexts: tuple[str, ...] = ("web",)) -> Config:
    return load_project(root, HEAD + images, contexts)


WEB = '[images.web]\nrepository = "demo/web"\ncontext = "web"\n'


def argv(config: Config, **options: object) -> list[str]:
    plan = make_plan(config, git_context(), Options(**options))  # type: ignore[arg-type]
    [step] = plan.steps
    return list(step.argv)


def without_oci(config: Config, **options: object) -> list[str]:
    """The argv without the automatic OCI labels and annotations (pinned in one test)."""
    plan = make_plan(config, git_context(), Options(**options))  # type: ignore[arg-type]
    [step] = plan.steps
    kept = [part for part in step.parts if not part.why.startswith("OCI ")]
    return ["docker", "buildx", "build", *(arg for part in kept for arg in part.args)]


def test_single_image_without_push(tmp_path: Path) -> None:
    created = "org.opencontainers.image.created=2024-01-02T03:04:05Z"
    revision = f"org.opencontainers.image.revision={SHA}"
    version = f"org.opencontainers.image.version={SHORT}"
    ref_name = f"org.opencontainers.image.ref.name={SHORT}"
    title = "org.opencontainers.image.title=web"
    assert argv(config_for(tmp_path, WEB)) == [
        "docker", "buildx", "build",
        "--file", "web/Dockerfile",
        "--tag", f"{HOST}/demo/web:{SHORT}",
        "--label", created,
        "--label", revision,
        "--label", version,
        "--label", ref_name,
        "--label", title,
        "--annotation", f"manifest:{created}",
        "--annotation", f"manifest:{revision}",
        "--annotation", f"manifest:{version}",
        "--annotation", f"manifest:{ref_name}",
        "--annotation", f"manifest:{title}",
        "--cache-from", f"type=registry,ref={HOST}/demo/web:buildcache",
        "--provenance=false",
        "--metadata-file", ".bkrun/metadata/web.json",
        "--progress=rawjson",
        "web",
    ]  # fmt: skip


def test_single_image_with_push(tmp_path: Path) -> None:
    # Pushed by digest to the staging tag; the tags move in the publish step (below).
    assert without_oci(config_for(tmp_path, WEB), push=True) == [
        "docker", "buildx", "build",
        "--file", "web/Dockerfile",
        "--cache-from", f"type=registry,ref={HOST}/demo/web:buildcache",
        "--cache-to", f"type=registry,ref={HOST}/demo/web:buildcache,mode=max,ignore-error=true",
        "--provenance=false",
        "--output", f"type=image,name={HOST}/demo/web:bkrun-staging,push=true",
        "--metadata-file", ".bkrun/metadata/web.json",
        "--progress=rawjson",
        "web",
    ]  # fmt: skip


def test_everything_an_image_can_set(tmp_path: Path) -> None:
    images = WEB + (
        'platforms = ["linux/amd64", "linux/arm64"]\n'
        'target = "runtime"\n'
        'build-args = { VERSION = "1.2", GREETING = "hello world" }\n'
        'labels = { "org.opencontainers.image.title" = "web" }\n'
        "provenance = true\n"
        'secrets = [{ id = "npm", env = "NPM_TOKEN" }, { id = "pip", src = "pip.conf" }, '
        '{ id = "plain", env = "PLAIN" }]\n'
        'tags = ["sha", { type = "raw", value = "edge" }]\n'
    )
    # A secret file must exist; its path is made absolute (relative to the config file).
    (tmp_path / "pip.conf").write_text("[global]\n")
    assert without_oci(config_for(tmp_path, images), push=True) == [
        "docker", "buildx", "build",
        "--file", "web/Dockerfile",
        "--target", "runtime",
        "--platform", "linux/amd64,linux/arm64",
        "--build-arg", "VERSION=1.2",
        "--build-arg", "GREETING=hello world",
        "--label", "org.opencontainers.image.title=web",
        "--secret", "id=npm,env=NPM_TOKEN",
        "--secret", f"id=pip,src={tmp_path / 'pip.conf'}",
        "--secret", "id=plain,env=PLAIN",
        "--cache-from", f"type=registry,ref={HOST}/demo/web:buildcache",
        "--cache-to", f"type=registry,ref={HOST}/demo/web:buildcache,mode=max,ignore-error=true",
        "--provenance=mode=min",
        "--output", f"type=image,name={HOST}/demo/web:bkrun-staging,push=true",
        "--metadata-file", ".bkrun/metadata/web.json",
        "--progress=rawjson",
        "web",
    ]  # fmt: skip


def test_cache_disabled(tmp_path: Path) -> None:
    config = config_for(tmp_path, WEB + "cache = { enabled = false }\n")
    args = argv(config, push=True)
    assert not any(arg.startswith("--cache") for arg in args)


def test_cache_mode_min_and_errors_not_ignored(tmp_path: Path) -> None:
    config = config_for(tmp_path, '[cache]\nmode = "min"\nignore-error = false\n\n' + WEB)
    args = argv(config, push=True)
    assert args[args.index("--cache-to") + 1] == (
        f"type=registry,ref={HOST}/demo/web:buildcache,mode=min"
    )


def test_separate_cache_repository(tmp_path: Path) -> None:
    config = config_for(tmp_path, WEB + 'cache = { repository = "cache/web", tag = "web" }\n')
    args = argv(config, push=True)
    assert args[args.index("--cache-from") + 1] == f"type=registry,ref={HOST}/cache/web:web"
    cache_to = args[args.index("--cache-to") + 1]
    assert cache_to.startswith(f"type=registry,ref={HOST}/cache/web:web,")


def test_cache_export_follows_push_unless_asked(tmp_path: Path) -> None:
    config = config_for(tmp_path, WEB)
    assert "--cache-to" not in argv(config)
    assert "--cache-to" in argv(config, cache_export=True)
    assert "--cache-to" not in argv(config, push=True, cache_export=False)


def test_push_load_and_neither(tmp_path: Path) -> None:
    config = config_for(tmp_path, WEB)
    assert "--push" not in argv(config, push=True)  # the staging --output pushes
    assert "--load" not in argv(config, push=True)
    assert "--load" in argv(config, load=True)
    assert "--push" not in argv(config, load=True)
    neither = argv(config)
    assert "--push" not in neither and "--load" not in neither and "--output" not in neither


def test_platform_override(tmp_path: Path) -> None:
    config = config_for(tmp_path, WEB + 'platforms = ["linux/amd64", "linux/arm64"]\n')
    plan = make_plan(config, git_context(), Options(platforms=("linux/arm64",), load=True))
    [step] = plan.steps
    assert step.platforms == ("linux/arm64",)
    [part] = [part for part in step.parts if part.args[0] == "--platform"]
    assert part.args == ("--platform", "linux/arm64")
    assert part.why == "platforms from --platform"


def test_bad_platform_override(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        make_plan(config_for(tmp_path, WEB), git_context(), Options(platforms=("linux/amd65",)))
    assert caught.value.message == (
        "--platform 'linux/amd65': unknown architecture 'amd65' "
        "(e.g. linux/amd64, linux/arm64, linux/arm/v7)"
    )


def test_load_with_two_platforms_says_how_to_fix_it(tmp_path: Path) -> None:
    config = config_for(tmp_path, WEB + 'platforms = ["linux/amd64", "linux/arm64"]\n')
    with pytest.raises(UsageError) as caught:
        make_plan(config, git_context(), Options(load=True))
    assert caught.value.message == (
        "--load cannot load the multi-platform image 'web' (linux/amd64, linux/arm64); "
        "add --platform linux/amd64 to load one platform, or use --push"
    )


def test_push_and_load_together(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--push and --load together: choose one"):
        make_plan(config_for(tmp_path, WEB), git_context(), Options(push=True, load=True))


def test_push_without_a_computable_tag(tmp_path: Path) -> None:
    config = config_for(tmp_path, WEB + 'tags = ["branch", "latest"]\n')
    git = git_context(branch=None)
    assert make_plan(config, git, Options()).steps[0].tags == ()  # fine without a push
    with pytest.raises(UsageError) as caught:
        make_plan(config, git, Options(push=True))
    assert caught.value.message == (
        "image 'web' has no tag to push (branch: branch unknown (not on a branch, and no CI "
        "branch variable); latest: branch unknown, so not known to be the default branch); "
        'add a tag rule such as { type = "raw", value = "dev" } or build from a git checkout'
    )
    assert caught.value.exit_code == 2


APP_ON_BASE = (
    '[images.base]\nrepository = "demo/base"\ncontext = "base"\n\n'
    '[images.app]\nrepository = "demo/app"\ncontext = "app"\ndepends-on = ["base"]\n'
)


def test_dependency_is_pinned_by_digest_when_pushing(tmp_path: Path) -> None:
    config = config_for(tmp_path, APP_ON_BASE, ("base", "app"))
    base, app = make_plan(config, git_context(), Options(push=True)).steps
    assert (base.image, app.image) == ("base", "app")
    assert app.depends_on == ("base",)
    context = app.argv[app.argv.index("--build-context") + 1]
    assert context == f"base=docker-image://{HOST}/demo/base@${{base.digest}}"
    output = base.argv[base.argv.index("--output") + 1]
    assert output == f"type=image,name={HOST}/demo/base:bkrun-staging,push=true"


def test_dependency_goes_through_an_oci_layout_without_push(tmp_path: Path) -> None:
    config = config_for(tmp_path, APP_ON_BASE, ("base", "app"))
    base, app = make_plan(config, git_context(), Options()).steps
    assert base.argv[base.argv.index("--output") + 1] == "type=oci,dest=.bkrun/oci/base,tar=false"
    assert "--output" not in app.argv
    context = app.argv[app.argv.index("--build-context") + 1]
    assert context == "base=oci-layout://.bkrun/oci/base@${base.digest}"


def test_loaded_dependency_is_named_by_the_tag_this_run_loads(tmp_path: Path) -> None:
    # A digest reference is looked up in the registry, where a loaded image is not:
    # "127.0.0.1:5000/x/base@sha256:...: not found" on the docker driver.
    config = config_for(tmp_path, APP_ON_BASE, ("base", "app"))
    options = Options(load=True, platforms=("linux/amd64",))
    base, app = make_plan(config, git_context(), options).steps
    context = app.argv[app.argv.index("--build-context") + 1]
    assert context == f"base=docker-image://{HOST}/demo/base:{base.tags[0].value}"
    assert "--load" in base.argv and "--output" not in base.argv


def test_state_dir_option_moves_metadata_and_layouts(tmp_path: Path) -> None:
    config = config_for(tmp_path, APP_ON_BASE, ("base", "app"))
    base, app = make_plan(config, git_context(), Options(state_dir="out")).steps
    assert base.metadata_file == "out/metadata/base.json"
    assert "type=oci,dest=out/oci/base,tar=false" in base.argv
    assert "base=oci-layout://out/oci/base@${base.digest}" in app.argv


def test_selecting_an_image_pulls_in_its_dependencies_first(tmp_path: Path) -> None:
    config = config_for(tmp_path, APP_ON_BASE, ("base", "app"))
    plan = make_plan(config, git_context(), Options(images=("app",)))
    assert [step.image for step in plan.steps] == ["base", "app"]
    only_base = make_plan(config, git_context(), Options(images=("base",)))
    [step] = only_base.steps
    assert "--output" not in step.argv  # nothing selected depends on it


def test_unknown_image_has_a_did_you_mean(tmp_path: Path) -> None:
    config = config_for(tmp_path, APP_ON_BASE, ("base", "app"))
    with pytest.raises(UsageError) as caught:
        select(config, ["ap"])
    assert caught.value.message == "unknown image 'ap'; did you mean 'app'?"
    with pytest.raises(UsageError) as caught:
        select(config, ["zzz"])
    assert caught.value.message == "unknown image 'zzz'; images: base, app"


def test_no_images_at_all(tmp_path: Path) -> None:
    config = load_project(tmp_path, "[images]\n")
    with pytest.raises(NothingToBuild) as caught:
        select(config, [])
    assert caught.value.message == "bkrun.toml defines no images; add an [images.<name>] table"
    assert caught.value.exit_code == 3


def _image(name: str, *deps: str) -> str:
    depends = ", ".join(f'"{d}"' for d in deps)
    table = f'[images.{name}]\nrepository = "demo/{name}"\ncontext = "c"\n'
    return table + f"depends-on = [{depends}]\n"


def test_diamond_dependency_order(tmp_path: Path) -> None:
    images = "\n".join(
        [_image("top", "left", "right"), _image("right", "root"), _image("left", "root"),
         _image("root"), _image("other")]
    )  # fmt: skip
    config = config_for(tmp_path, images, ("c",))
    order = [step.image for step in make_plan(config, git_context(), Options()).steps]
    assert order == ["root", "other", "right", "left", "top"]
    selected = make_plan(config, git_context(), Options(images=("top",))).steps
    assert [step.image for step in selected] == ["root", "right", "left", "top"]
    root_step = selected[0]
    assert "type=oci,dest=.bkrun/oci/root,tar=false" in root_step.argv
    left = selected[2]
    assert "root=oci-layout://.bkrun/oci/root@${root.digest}" in left.argv


def test_every_part_explains_itself_and_the_command_is_the_argv(tmp_path: Path) -> None:
    images = APP_ON_BASE + 'build-args = { GREETING = "hello world; $(rm -rf /)" }\n'
    config = config_for(tmp_path, images, ("base", "app"))
    for push in (False, True):
        for step in make_plan(config, git_context(), Options(push=push)).steps:
            assert all(part.why for part in step.parts)
            command = step.command().replace(" \\\n    ", " ")
            assert shlex.split(command) == list(step.argv)


def test_plan_json(tmp_path: Path) -> None:
    config = config_for(tmp_path, APP_ON_BASE, ("base", "app"))
    plan = make_plan(config, git_context(dirty=False), Options(push=True))
    data = json.loads(json.dumps(plan.to_json()))
    assert data["version"] == PLAN_FORMAT_VERSION == 1
    assert data["project"] == tmp_path.name
    assert data["config"] == str(tmp_path / "bkrun.toml")
    assert data["git"] == {
        "sha": SHA,
        "branch": "main",
        "default_branch": "main",
        "tags": [],
        "dirty": False,
        "commit_time": "2024-01-02T03:04:05+00:00",
        "trigger": "push",
        "pr_number": None,
        "provider": "local",
        "source": None,
    }
    options = {key: data["options"][key] for key in ("push", "load", "platforms", "cache_export")}
    assert options == {"push": True, "load": False, "platforms": [], "cache_export": None}
    base, app = data["steps"]
    assert base["tags"] == [
        {"tag": SHORT, "ref": f"{HOST}/demo/base:{SHORT}", "rule": "sha (length 7)"}
    ]
    assert app["depends_on"] == ["base"]
    assert app["argv"] == list(plan.steps[1].argv)
    assert {key: app["cache"][key] for key in ("from", "to")} == {
        "from": [f"type=registry,ref={HOST}/demo/app:buildcache"],
        "to": [f"type=registry,ref={HOST}/demo/app:buildcache,mode=max,ignore-error=true"],
    }
    assert [e["args"] for e in app["explain"]] == [list(p.args) for p in plan.steps[1].parts]
    assert (app["push"], app["load"], app["metadata_file"]) == (
        True,
        False,
        ".bkrun/metadata/app.json",
    )


def test_plan_carries_git_notes_and_skipped_tags(tmp_path: Path) -> None:
    config = config_for(tmp_path, WEB + 'tags = ["sha", "branch"]\n')
    git = git_context(
        branch=None, notes=("detached HEAD and no CI variables: branch tags skipped",)
    )
    plan = make_plan(config, git, Options())
    assert plan.notes == ("detached HEAD and no CI variables: branch tags skipped",)
    assert plan.steps[0].skipped_tags == (
        "branch: branch unknown (not on a branch, and no CI branch variable)",
    )


def test_publish_steps_move_the_tags_after_the_builds(tmp_path: Path) -> None:
    config = config_for(tmp_path, APP_ON_BASE, ("base", "app"))
    plan = make_plan(config, git_context(), Options(push=True))

    assert [(p.image, p.retag) for p in plan.publish] == [("base", False), ("app", False)]
    assert plan.publish[0].argv == (
        "docker", "buildx", "imagetools", "create",
        "--tag", f"{HOST}/demo/base:{SHORT}",
        f"{HOST}/demo/base@${{base.digest}}",
    )  # fmt: skip
    assert make_plan(config, git_context(), Options()).publish == ()
