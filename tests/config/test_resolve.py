"""config.resolve: defaults, registries, paths, dependencies and their one-line problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildkit_runner.config import load
from buildkit_runner.config.resolve import DEFAULT_TAGS, CacheSettings
from buildkit_runner.errors import ConfigError
from tests.fakes import load_project, write_project

REGISTRY = '[registries.local]\nhost = "127.0.0.1:5000"\n\n'


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def problems(root: Path, toml: str, contexts: tuple[str, ...] = ("web",)) -> list[str]:
    path = write_project(root, toml, contexts)
    with pytest.raises(ConfigError) as caught:
        load(path)
    return list(caught.value.problems)


def cache_basics(cache: CacheSettings) -> tuple[bool, str, str, bool]:
    return (cache.enabled, cache.mode, cache.ref, cache.ignore_error)


def test_defaults_apply_and_images_override_them(root: Path) -> None:
    (root / "api").mkdir()
    (root / "api" / "Containerfile").touch()
    config = load_project(
        root,
        REGISTRY
        + """\
        [project]
        name = "shop"
        default-branch = "trunk"

        [defaults]
        registry = "local"
        platforms = ["linux/amd64", "linux/arm64"]
        build-args = { A = "1", B = "2" }
        labels = { "org.opencontainers.image.vendor" = "shop" }
        tags = ["sha"]
        provenance = true

        [images.web]
        repository = "shop/web"
        context = "web"
        platforms = ["linux/amd64"]
        build-args = { B = "two", C = "3" }
        target = "runtime"

        [images.api]
        repository = "ghcr.io/shop/api"
        context = "api"
        dockerfile = "api/Containerfile"
        tags = ["branch"]
        provenance = false
        """,
        ("web",),
    )
    assert (config.project_name, config.default_branch) == ("shop", "trunk")
    web, api = config.images["web"], config.images["api"]
    assert web.repository == "127.0.0.1:5000/shop/web"
    assert web.platforms == ("linux/amd64",)
    assert web.build_args == (("A", "1"), ("B", "two"), ("C", "3"))
    assert web.labels == (("org.opencontainers.image.vendor", "shop"),)
    assert web.target == "runtime"
    assert (web.context, web.dockerfile) == ("web", "web/Dockerfile")
    assert [rule.type for rule in web.tags] == ["sha"]
    assert web.provenance is True
    assert api.repository == "ghcr.io/shop/api"  # a host in the repository wins
    assert api.platforms == ("linux/amd64", "linux/arm64")
    assert api.dockerfile == "api/Containerfile"
    assert [rule.type for rule in api.tags] == ["branch"]
    assert api.provenance is False


def test_builtin_defaults(root: Path) -> None:
    config = load_project(
        root, '[images.web]\nrepository = "a.io/web"\ncontext = "web"\n', ("web",)
    )
    web = config.images["web"]
    assert config.project_name == root.name
    assert config.default_branch is None
    assert web.platforms == ()
    assert web.tags == DEFAULT_TAGS
    assert web.provenance is False
    assert web.secrets == ()
    assert cache_basics(web.cache) == (True, "max", "a.io/web:buildcache", True)


def test_context_defaults_to_the_config_directory(root: Path) -> None:
    (root / "Dockerfile").write_text("FROM scratch\n")
    config = load_project(root, '[images.web]\nrepository = "a.io/web"\n')
    assert (config.images["web"].context, config.images["web"].dockerfile) == (".", "Dockerfile")


def test_cache_settings_per_image(root: Path) -> None:
    config = load_project(
        root,
        REGISTRY
        + """\
        [defaults]
        registry = "local"

        [cache]
        mode = "min"
        tag = "cache"
        ignore-error = false

        [images.web]
        repository = "shop/web"
        context = "web"

        [images.api]
        repository = "shop/api"
        context = "api"
        cache = { repository = "shop/cache", mode = "max" }

        [images.off]
        repository = "shop/off"
        context = "off"
        cache = { enabled = false }
        """,
        ("web", "api", "off"),
    )
    images = config.images
    assert cache_basics(images["web"].cache) == (
        True,
        "min",
        "127.0.0.1:5000/shop/web:cache",
        False,
    )
    assert cache_basics(images["api"].cache) == (
        True,
        "max",
        "127.0.0.1:5000/shop/cache:cache",
        False,
    )
    assert images["off"].cache.enabled is False


def test_repository_without_host_and_without_registry_is_never_docker_hub(root: Path) -> None:
    assert problems(root, '[images.web]\nrepository = "library/web"\ncontext = "web"\n') == [
        "bkrun.toml: images.web.repository: 'library/web' names no registry host and no "
        "registry is set; bkrun never sends images to Docker Hub implicitly. Set registry = "
        '"<name>" with a [registries.<name>] table, or write the host, e.g. '
        '"127.0.0.1:5000/library/web" or "docker.io/library/web"'
    ]


def test_explicit_docker_hub_is_accepted(root: Path) -> None:
    config = load_project(
        root, '[images.web]\nrepository = "docker.io/me/web"\ncontext = "web"\n', ("web",)
    )
    assert config.images["web"].repository == "docker.io/me/web"


def test_unknown_registry_on_an_image(root: Path) -> None:
    toml = REGISTRY + '[images.web]\nrepository = "w"\nregistry = "lcoal"\ncontext = "web"\n'
    assert problems(root, toml) == [
        "bkrun.toml: images.web.registry: unknown registry 'lcoal' (known: local); "
        "add a [registries.lcoal] table with a host"
    ]


def test_unknown_registry_without_any_registries(root: Path) -> None:
    toml = '[images.web]\nrepository = "w"\nregistry = "ghcr"\ncontext = "web"\n'
    assert problems(root, toml) == [
        "bkrun.toml: images.web.registry: unknown registry 'ghcr' (known: none are defined); "
        "add a [registries.ghcr] table with a host"
    ]


def test_unknown_registry_in_defaults_is_reported_once_where_it_is_written(root: Path) -> None:
    toml = (
        REGISTRY
        + '[defaults]\nregistry = "lcoal"\n\n[cache]\nrepository = "shared/cache"\n\n'
        + '[images.web]\nrepository = "w"\ncontext = "web"\n\n'
        + '[images.api]\nrepository = "a"\ncontext = "api"\n'
    )
    assert problems(root, toml, ("web", "api")) == [
        "bkrun.toml: defaults.registry: unknown registry 'lcoal' (known: local); "
        "add a [registries.lcoal] table with a host"
    ]


def test_uppercase_repository(root: Path) -> None:
    toml = REGISTRY + '[images.web]\nrepository = "Shop/Web"\nregistry = "local"\n'
    toml += 'context = "web"\n'
    assert problems(root, toml) == [
        "bkrun.toml: images.web.repository: repository path 'Shop/Web' must be lowercase "
        "('shop/web')"
    ]


def test_repository_with_a_tag(root: Path) -> None:
    toml = '[images.web]\nrepository = "ghcr.io/shop/web:1.0"\ncontext = "web"\n'
    assert problems(root, toml) == [
        "bkrun.toml: images.web.repository: 'ghcr.io/shop/web:1.0' carries a tag or digest; "
        "give the repository alone and set tags with the tags key"
    ]


def test_context_directory_missing(root: Path) -> None:
    toml = '[images.web]\nrepository = "a.io/web"\ncontext = "wbe"\n'
    assert problems(root, toml) == [
        "bkrun.toml: images.web.context: directory 'wbe' does not exist "
        "(paths are relative to the directory holding the config file)"
    ]


def test_dockerfile_missing_in_the_context(root: Path) -> None:
    (root / "web").mkdir()
    toml = '[images.web]\nrepository = "a.io/web"\ncontext = "web"\n'
    assert problems(root, toml, contexts=()) == [
        "bkrun.toml: images.web.context: no Dockerfile at 'web/Dockerfile'; "
        'set dockerfile = "<path>" relative to the directory holding the config file'
    ]


def test_explicit_dockerfile_missing(root: Path) -> None:
    toml = '[images.web]\nrepository = "a.io/web"\ncontext = "web"\ndockerfile = "web/Nope"\n'
    assert problems(root, toml) == [
        "bkrun.toml: images.web.dockerfile: no Dockerfile at 'web/Nope'; "
        'set dockerfile = "<path>" relative to the directory holding the config file'
    ]


def _images(*specs: str) -> str:
    blocks = []
    for spec in specs:
        name, _, deps = spec.partition(":")
        depends = ", ".join(f'"{d}"' for d in deps.split(",") if d)
        blocks.append(
            f'[images.{name}]\nrepository = "a.io/{name}"\ncontext = "c"\n'
            f"depends-on = [{depends}]\n"
        )
    return "\n".join(blocks)


def test_depends_on_unknown_image(root: Path) -> None:
    assert problems(root, _images("web:bsae", "base"), ("c",)) == [
        "bkrun.toml: images.web.depends-on[0]: unknown image 'bsae' (images: base, web)"
    ]


def test_depends_on_itself(root: Path) -> None:
    assert problems(root, _images("web:base,web", "base"), ("c",)) == [
        "bkrun.toml: images.web.depends-on[1]: an image cannot depend on itself"
    ]


def test_dependency_cycle_names_the_cycle(root: Path) -> None:
    found = problems(root, _images("a:b", "b:c", "c:a", "d"), ("c",))
    assert found == [
        "bkrun.toml: images: depends-on forms a cycle: a -> b -> c -> a "
        '(read -> as "depends on"); remove one of these dependencies'
    ]


def test_cycle_is_reported_alongside_other_problems(root: Path) -> None:
    toml = _images("a:b", "b:a") + '\n[images.web]\nrepository = "a.io/web"\ncontext = "gone"\n'
    assert problems(root, toml, ("c",)) == [
        "bkrun.toml: images.web.context: directory 'gone' does not exist "
        "(paths are relative to the directory holding the config file)",
        "bkrun.toml: images: depends-on forms a cycle: a -> b -> a "
        '(read -> as "depends on"); remove one of these dependencies',
    ]


def test_two_image_cycle(root: Path) -> None:
    [message] = problems(root, _images("web:api", "api:web"), ("c",))
    assert "depends-on forms a cycle: " in message
    cycle = message.split("cycle: ")[1].split(" (")[0].split(" -> ")
    assert cycle[0] == cycle[-1]
    assert set(cycle) == {"web", "api"}


def test_order_puts_dependencies_first_and_keeps_file_order(root: Path) -> None:
    config = load_project(root, _images("app:lib,base", "tool", "lib:base", "base"), ("c",))
    assert config.order == ("tool", "base", "lib", "app")


@pytest.mark.parametrize(
    "name",
    [
        "NPM_TOKEN",
        "GITHUB_TOKEN",
        "DB_PASSWORD",
        "API_KEY",
        "AUTH",
        # The user's report: PAT, PASS and KEY as the last word.
        "GITHUB_PAT",
        "DB_PASS",
        "SSH_KEY",
        "PASS",
        "gitlab_pat",
    ],
)
def test_credential_looking_build_arg_points_to_secrets(root: Path, name: str) -> None:
    toml = '[images.web]\nrepository = "a.io/web"\ncontext = "web"\n'
    toml += f'build-args = {{ {name} = "value" }}\n'
    assert problems(root, toml) == [
        f"bkrun.toml: images.web.build-args.{name}: looks like a credential; build args are "
        "recorded in the image and in plans. Use secrets = "
        f'[{{ id = "{name.lower()}", env = "{name}" }}] and RUN --mount=type=secret instead'
    ]


@pytest.mark.parametrize(
    "name",
    [
        "TOKENIZER_MODEL",
        "AUTHOR",
        "NODE_ENV",
        "KEYBOARD",
        "PASSTHROUGH",
        "PATH_PREFIX",
        "PATCH_LEVEL",
        "BYPASS",
        "MONKEY",
        "KEY_ID",
        "SSH_PUBLIC_KEY",
    ],
)
def test_ordinary_build_args_are_fine(root: Path, name: str) -> None:
    toml = '[images.web]\nrepository = "a.io/web"\ncontext = "web"\n'
    toml += f'build-args = {{ {name} = "value" }}\n'
    config = load(write_project(root, toml, ("web",)))
    assert config.images["web"].build_args == ((name, "value"),)


def test_credential_build_arg_in_defaults_is_reported_once_where_it_is_written(
    root: Path,
) -> None:
    toml = '[defaults]\nbuild-args = { NPM_TOKEN = "x" }\n\n' + _images("web", "api")
    assert problems(root, toml, ("c",)) == [
        "bkrun.toml: defaults.build-args.NPM_TOKEN: looks like a credential; build args are "
        'recorded in the image and in plans. Use secrets = [{ id = "npm_token", '
        'env = "NPM_TOKEN" }] and RUN --mount=type=secret instead'
    ]


def test_secrets_are_kept_by_reference(root: Path) -> None:
    toml = '[images.web]\nrepository = "a.io/web"\ncontext = "web"\n'
    toml += 'secrets = [{ id = "npm", env = "NPM_TOKEN" }, { id = "pip", src = "pip.conf" }]\n'
    (root / "pip.conf").write_text("[global]\n")
    secrets = load_project(root, toml, ("web",)).images["web"].secrets
    # A relative src names a file next to the config, wherever bkrun runs: made absolute.
    assert [(s.id, s.env, s.src) for s in secrets] == [
        ("npm", "NPM_TOKEN", None),
        ("pip", None, str(root / "pip.conf")),
    ]


WEB = '[images.web]\nrepository = "a.io/web"\ncontext = "web"\n'


def test_a_secret_with_both_env_and_src_is_a_config_error(root: Path) -> None:
    toml = WEB + 'secrets = [{ id = "a", env = "A", src = "/x" }]\n'
    assert problems(root, toml) == [
        "bkrun.toml: images.web.secrets[0]: secret 'a' sets both env and src; keep one: env "
        "(a variable read at build time) or src (a file)"
    ]


def test_a_secret_without_a_source_is_a_config_error_with_a_hint(root: Path) -> None:
    toml = WEB + 'secrets = [{ id = "b" }]\n'
    assert problems(root, toml) == [
        "bkrun.toml: images.web.secrets[0]: secret 'b' has no source; add env = "
        '"<VARIABLE>" (read at build time) or src = "<file>" (relative to the config file), '
        'e.g. { id = "b", env = "B" }'
    ]


def test_a_secret_file_that_does_not_exist_is_a_config_error(root: Path) -> None:
    toml = '[defaults]\nsecrets = [{ id = "pip", src = "missing/pip.conf" }]\n\n' + WEB
    assert problems(root, toml) == [
        "bkrun.toml: defaults.secrets[0].src: secret 'pip': file 'missing/pip.conf' does not "
        "exist (relative paths are relative to the directory holding the config file); "
        'create it, or use env = "<VARIABLE>" instead of src'
    ]
    (root / "dir").mkdir()
    toml = WEB + 'secrets = [{ id = "pip", src = "dir" }]\n'
    assert "file 'dir' is a directory" in problems(root, toml)[0]


def test_secret_src_is_relative_to_the_config_not_the_working_directory(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = WEB + 'secrets = [{ id = "pip", src = "pip.conf" }]\n'
    path = write_project(root, toml, ("web",))
    (root / "pip.conf").write_text("x\n")
    (root / "web" / "sub").mkdir()
    monkeypatch.chdir(root / "web" / "sub")
    assert load(path).images["web"].secrets[0].src == str(root / "pip.conf")


def test_duplicate_secret_ids_are_a_config_error(root: Path) -> None:
    toml = WEB + 'secrets = [{ id = "npm", env = "A" }, { id = "npm", env = "B" }]\n'
    assert problems(root, toml) == [
        "bkrun.toml: images.web.secrets: secret id(s) 'npm' appear more than once; each id "
        "names one mount (RUN --mount=type=secret,id=...): rename or remove one"
    ]


@pytest.mark.parametrize(
    ("table", "key", "expected"),
    [
        ("build-args", '""', 'images.web.build-args."": empty key'),
        ("build-args", '"A=B"', "images.web.build-args.\"A=B\": key 'A=B' contains '='"),
        ("labels", '"org.x=y"', "images.web.labels.\"org.x=y\": key 'org.x=y' contains '='"),
        ("annotations", '" "', 'images.web.annotations." ": empty key'),
    ],
)
def test_build_arg_and_label_keys_are_checked(
    root: Path, table: str, key: str, expected: str
) -> None:
    [problem] = problems(root, WEB + f'{table} = {{ {key} = "v" }}\n')
    assert problem.startswith(f"bkrun.toml: {expected}"), problem


@pytest.mark.parametrize("value", ['"yes"', '"true"', "1", '"false"'])
def test_booleans_are_strict(root: Path, value: str) -> None:
    assert problems(root, WEB + f"provenance = {value}\n") == [
        "bkrun.toml: images.web.provenance: expected true or false (a TOML boolean, without quotes)"
    ]


def test_resolve_problems_come_together(root: Path) -> None:
    toml = (
        '[images.web]\nrepository = "web"\ncontext = "nope"\n'
        'build-args = { SECRET = "x" }\ndepends-on = ["ghost"]\n'
    )
    found = problems(root, toml)
    assert [line.split(":")[1].strip() for line in found] == [
        "images.web.repository",
        "images.web.context",
        "images.web.build-args.SECRET",
        "images.web.depends-on[0]",
    ]
