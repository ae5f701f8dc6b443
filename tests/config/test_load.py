"""config.load: discovery, reading, and one line per problem with its key path and a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildkit_runner.config import discover, load, models
from buildkit_runner.config.load import key_path
from buildkit_runner.errors import ConfigError
from tests.fakes import write_project

MINIMAL = """\
[registries.local]
host = "127.0.0.1:5000"

[images.web]
repository = "demo/web"
registry = "local"
context = "web"
"""


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path is a repository root and the working directory, so labels are short."""
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def problems(root: Path, toml: str, contexts: tuple[str, ...] = ("web",)) -> list[str]:
    path = write_project(root, toml, contexts)
    with pytest.raises(ConfigError) as caught:
        load(path)
    return list(caught.value.problems)


def one_problem(root: Path, toml: str, contexts: tuple[str, ...] = ("web",)) -> str:
    found = problems(root, toml, contexts)
    assert len(found) == 1, found
    return found[0]


def test_minimal_config_loads(in_tmp: Path) -> None:
    config = load(write_project(in_tmp, MINIMAL, ("web",)))
    assert list(config.images) == ["web"]
    assert config.images["web"].repository == "127.0.0.1:5000/demo/web"
    assert config.root == in_tmp
    assert config.project_name == in_tmp.name


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            MINIMAL + '[cache]\nmod = "min"\n',
            "bkrun.toml: cache.mod: unknown key 'mod'; did you mean 'mode'?",
        ),
        (
            MINIMAL.replace('context = "web"', 'contxt = "web"'),
            "bkrun.toml: images.web.contxt: unknown key 'contxt'; did you mean 'context'?",
        ),
        (
            '[project]\ndefault_branch = "main"\n' + MINIMAL,
            "bkrun.toml: project.default_branch: unknown key 'default_branch'; "
            "did you mean 'default-branch'?",
        ),
        (
            MINIMAL + "depends_on = []\n",
            "bkrun.toml: images.web.depends_on: unknown key 'depends_on'; "
            "did you mean 'depends-on'?",
        ),
        (
            MINIMAL + 'tags = [{ type = "sha", lenght = 8 }]\n',
            "bkrun.toml: images.web.tags[0].lenght: unknown key 'lenght'; did you mean 'length'?",
        ),
        (
            MINIMAL + 'secrets = [{ id = "npm", environment = "NPM_TOKEN" }]\n',
            "bkrun.toml: images.web.secrets[0].environment: unknown key 'environment'; "
            "expected one of: env, id, src",
        ),
    ],
)
def test_unknown_keys_name_the_key_path_and_the_closest_key(
    in_tmp: Path, toml: str, message: str
) -> None:
    assert one_problem(in_tmp, toml) == message


def test_unknown_key_without_a_close_match_lists_the_keys(in_tmp: Path) -> None:
    keys = ", ".join(sorted(models.kebab(name) for name in models.CacheOverride.model_fields))
    assert one_problem(in_tmp, MINIMAL + "[images.web.cache]\nzzz = 1\n") == (
        f"bkrun.toml: images.web.cache.zzz: unknown key 'zzz'; expected one of: {keys}"
    )


def test_misspelt_required_key_is_reported_once(in_tmp: Path) -> None:
    # The missing 'images' is implied by the did-you-mean line; one problem, one line.
    assert problems(in_tmp, MINIMAL.replace("[images.web]", "[image.web]")) == [
        "bkrun.toml: image: unknown key 'image'; did you mean 'images'?",
    ]
    assert problems(in_tmp, MINIMAL.replace("host =", "hots =")) == [
        "bkrun.toml: registries.local.hots: unknown key 'hots'; did you mean 'host'?",
    ]


@pytest.mark.parametrize(
    ("platform", "message"),
    [
        (
            "linux/amd65",
            "bkrun.toml: images.web.platforms[1]: unknown platform 'linux/amd65': unknown "
            "architecture 'amd65' (e.g. linux/amd64, linux/arm64, linux/arm/v7)",
        ),
        (
            "linux/x86_64",
            "bkrun.toml: images.web.platforms[1]: unknown platform 'linux/x86_64': "
            "write 'amd64' instead of 'x86_64', e.g. linux/amd64",
        ),
    ],
)
def test_bad_platform(in_tmp: Path, platform: str, message: str) -> None:
    toml = MINIMAL + f'platforms = ["linux/arm64", "{platform}"]\n'
    assert one_problem(in_tmp, toml) == message


def test_bad_platform_in_defaults(in_tmp: Path) -> None:
    toml = '[defaults]\nplatforms = ["linux/amd65"]\n' + MINIMAL
    assert one_problem(in_tmp, toml).startswith(
        "bkrun.toml: defaults.platforms[0]: unknown platform 'linux/amd65'"
    )


def test_bad_tag_rule_type(in_tmp: Path) -> None:
    toml = MINIMAL + 'tags = ["sha", "nightly"]\n'
    assert one_problem(in_tmp, toml) == (
        "bkrun.toml: images.web.tags[1]: unknown rule type; "
        "expected one of 'sha', 'branch', 'tag', 'pr', 'ref', 'semver', 'pep440', 'edge', "
        "'schedule', 'latest', 'raw'"
    )


def test_tag_rule_without_type(in_tmp: Path) -> None:
    toml = MINIMAL + 'tags = [{ value = "dev" }]\n'
    assert one_problem(in_tmp, toml) == (
        "bkrun.toml: images.web.tags[0]: a tag rule needs a type, "
        'e.g. { type = "sha" } or the shorthand "sha"'
    )


def test_raw_tag_value_must_be_a_valid_tag(in_tmp: Path) -> None:
    toml = MINIMAL + 'tags = [{ type = "raw", value = "café" }]\n'
    assert one_problem(in_tmp, toml) == (
        "bkrun.toml: images.web.tags[0].value: invalid tag 'café': "
        "a tag may only contain letters, digits, '_', '.' and '-'"
    )


def test_dotted_label_key_is_quoted_in_the_key_path(in_tmp: Path) -> None:
    toml = MINIMAL + 'labels = { "org.opencontainers.image.version" = 2 }\n'
    assert one_problem(in_tmp, toml) == (
        'bkrun.toml: images.web.labels."org.opencontainers.image.version": '
        "Input should be a valid string"
    )


def test_sha_length_bounds(in_tmp: Path) -> None:
    toml = MINIMAL + 'tags = [{ type = "sha", length = 41 }]\n'
    assert one_problem(in_tmp, toml) == (
        "bkrun.toml: images.web.tags[0].length: Input should be less than or equal to 40"
    )


def test_invalid_image_name(in_tmp: Path) -> None:
    toml = MINIMAL.replace("[images.web]", "[images.Web]")
    assert one_problem(in_tmp, toml) == (
        "bkrun.toml: images.Web: invalid name 'Web': use lowercase letters, digits, "
        "'-' and '_', starting with a letter or digit"
    )


def test_registry_host_with_a_scheme(in_tmp: Path) -> None:
    toml = MINIMAL.replace('"127.0.0.1:5000"', '"https://ghcr.io"')
    assert one_problem(in_tmp, toml) == (
        "bkrun.toml: registries.local.host: invalid registry host 'https://ghcr.io' "
        "(expected host[:port], e.g. 127.0.0.1:5000 or ghcr.io, without a scheme or path)"
    )


def test_missing_images_table(in_tmp: Path) -> None:
    assert one_problem(in_tmp, '[project]\nname = "x"\n') == (
        "bkrun.toml: images: missing required key 'images'"
    )


def test_rejected_values_are_not_echoed(in_tmp: Path) -> None:
    # A wrong type under a secret-ish key must not print the value (it may be a secret).
    toml = MINIMAL + 'secrets = [{ id = "npm", env = "hunter2-secret-value!" }]\n'
    message = one_problem(in_tmp, toml)
    assert message.startswith("bkrun.toml: images.web.secrets[0].env: String should match")
    assert "hunter2" not in message


def test_invalid_toml(in_tmp: Path) -> None:
    message = one_problem(in_tmp, "[images.web\nrepository = 1\n")
    assert message.startswith("bkrun.toml: not valid TOML: ")
    assert "line 1" in message
    assert "\n" not in message


def test_several_problems_are_reported_at_once(in_tmp: Path) -> None:
    toml = """\
        [project]
        default_branch = "main"

        [cache]
        mod = "min"

        [images.web]
        repository = "demo/web"
        contxt = "web"
        platforms = ["linux/x86_64"]
        tags = ["nightly"]
        """
    assert problems(in_tmp, toml) == [
        "bkrun.toml: project.default_branch: unknown key 'default_branch'; "
        "did you mean 'default-branch'?",
        "bkrun.toml: cache.mod: unknown key 'mod'; did you mean 'mode'?",
        "bkrun.toml: images.web.platforms[0]: unknown platform 'linux/x86_64': "
        "write 'amd64' instead of 'x86_64', e.g. linux/amd64",
        "bkrun.toml: images.web.tags[0]: unknown rule type; "
        "expected one of 'sha', 'branch', 'tag', 'pr', 'ref', 'semver', 'pep440', 'edge', "
        "'schedule', 'latest', 'raw'",
        "bkrun.toml: images.web.contxt: unknown key 'contxt'; did you mean 'context'?",
    ]


def test_error_message_counts_the_problems(in_tmp: Path) -> None:
    path = write_project(in_tmp, MINIMAL + "mode = 1\nfoo = 2\n", ("web",))
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert caught.value.message == "2 problems in the configuration"
    assert caught.value.exit_code == 2


def test_missing_explicit_config_file(in_tmp: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(in_tmp / "nope.toml")
    # Called without the CLI, where the path came from is unknown.
    assert caught.value.problems == ("nope.toml: file not found; check the config path",)


def test_discovery_walks_up_to_the_config(in_tmp: Path) -> None:
    path = write_project(in_tmp, MINIMAL, ("web",))
    deep = in_tmp / "web" / "src" / "deeper"
    deep.mkdir(parents=True)
    assert discover(deep) == path
    assert load(start=deep).path == path


def test_discovery_stops_at_the_repository_root(tmp_path: Path) -> None:
    write_project(tmp_path, MINIMAL, ("web",))  # above the checkout: never picked up
    checkout = tmp_path / "checkout"
    (checkout / ".git").mkdir(parents=True)
    (checkout / "sub").mkdir()
    with pytest.raises(ConfigError) as caught:
        discover(checkout / "sub")
    assert caught.value.problems == (
        f"no bkrun.toml (or pyproject.toml with a [tool.bkrun] table) in {checkout / 'sub'} "
        "or its parents up to the repository root; create one with the images to build, "
        "or pass -c/--config PATH",
    )


def test_discovery_checks_the_repository_root_itself(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    path = write_project(tmp_path, MINIMAL, ("web",))
    (tmp_path / "sub").mkdir()
    assert discover(tmp_path / "sub") == path


def test_pyproject_with_a_bkrun_table_is_discovered(in_tmp: Path) -> None:
    (in_tmp / "web").mkdir()
    (in_tmp / "web" / "Dockerfile").write_text("FROM scratch\n")
    body = MINIMAL.replace("[registries", "[tool.bkrun.registries").replace(
        "[images", "[tool.bkrun.images"
    )
    (in_tmp / "pyproject.toml").write_text('[project]\nname = "py"\n\n' + body)
    (in_tmp / "web" / "src").mkdir()
    assert discover(in_tmp / "web" / "src") == in_tmp / "pyproject.toml"
    config = load(start=in_tmp / "web" / "src")
    assert list(config.images) == ["web"]
    assert config.path == in_tmp / "pyproject.toml"


def test_pyproject_problems_are_labelled_with_the_file(in_tmp: Path) -> None:
    (in_tmp / "pyproject.toml").write_text(
        '[tool.bkrun.images.web]\nrepository = "demo/web"\ncontxt = "."\n'
    )
    with pytest.raises(ConfigError) as caught:
        load(start=in_tmp)
    assert caught.value.problems == (
        "pyproject.toml: tool.bkrun.images.web.contxt: unknown key 'contxt'; "
        "did you mean 'context'?",
    )


def test_pyproject_without_a_bkrun_table_is_skipped(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\n')
    with pytest.raises(ConfigError) as caught:
        discover(tmp_path)
    assert caught.value.problems[0].startswith(
        f"no bkrun.toml (or pyproject.toml with a [tool.bkrun] table) in {tmp_path} "
    )


def test_bkrun_toml_wins_over_pyproject_in_the_same_directory(in_tmp: Path) -> None:
    (in_tmp / "pyproject.toml").write_text('[tool.bkrun.images.x]\nrepository = "a.io/x"\n')
    path = write_project(in_tmp, MINIMAL, ("web",))
    assert discover(in_tmp) == path


def test_explicit_pyproject_without_a_table(in_tmp: Path) -> None:
    (in_tmp / "pyproject.toml").write_text('[project]\nname = "other"\n')
    with pytest.raises(ConfigError) as caught:
        load(in_tmp / "pyproject.toml")
    assert caught.value.problems == (
        "pyproject.toml: no [tool.bkrun] table; add one or use bkrun.toml",
    )


@pytest.mark.parametrize(
    ("loc", "text"),
    [
        ((), "(top level)"),
        (("images",), "images"),
        (("images", "web", "platforms", 1), "images.web.platforms[1]"),
        (("images", "web", "tags", 0, "length"), "images.web.tags[0].length"),
        (("images", "Web", "[key]"), "images.Web"),
        (("defaults", "labels", "org.example.title"), 'defaults.labels."org.example.title"'),
        (("images", "web", "labels", "a b"), 'images.web.labels."a b"'),
    ],
)
def test_key_path(loc: tuple[int | str, ...], text: str) -> None:
    assert key_path(loc) == text
