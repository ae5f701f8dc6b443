"""cache, cachespec, kinds: every cache-spec translation and its error messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildkit_runner import cache, cachespec, kinds
from buildkit_runner.cache import Facts, WriteProbe
from buildkit_runner.config import Config
from buildkit_runner.errors import ConfigError
from tests.fakes import git_context, load_project, write_project

REPO = "127.0.0.1:5000/demo/web"
HEAD = '[registries.local]\nhost = "127.0.0.1:5000"\n\n[defaults]\nregistry = "local"\n\n'
WEB = '[images.web]\nrepository = "demo/web"\ncontext = "web"\n'
MULTI = "FROM scratch AS build\nFROM scratch\n"


def config_for(root: Path, extra: str = "", dockerfile: str = "FROM scratch\n") -> Config:
    write_project(root, HEAD + extra + "\n" + WEB, ("web",))
    (root / "web" / "Dockerfile").write_text(dockerfile)
    return load_project(root, HEAD + extra + "\n" + WEB)


def _problems(error: ConfigError) -> tuple[str, ...]:
    return tuple(p.split("bkrun.toml: ", 1)[1] for p in error.problems)


def specs(config: Config, push: bool = True, facts: Facts | None = None, **git: object):  # type: ignore[no-untyped-def]
    plan = cache.plan_for(config.images["web"], git_context(**git), push, None, facts or Facts())
    return [s.text for s in plan.cache_from], [s.text for s in plan.cache_to], list(plan.notes)


def test_default_branch_reads_and_writes_one_ref(tmp_path: Path) -> None:
    assert specs(config_for(tmp_path)) == (
        [f"type=registry,ref={REPO}:buildcache"],
        [f"type=registry,ref={REPO}:buildcache,mode=max,ignore-error=true"],
        [],
    )


def test_branch_reads_own_then_default_and_writes_own(tmp_path: Path) -> None:
    read, write, _ = specs(config_for(tmp_path), branch="feature/Login#2")
    assert read == [
        f"type=registry,ref={REPO}:buildcache-feature-Login-2",
        f"type=registry,ref={REPO}:buildcache",
    ]
    assert write == [
        f"type=registry,ref={REPO}:buildcache-feature-Login-2,mode=max,ignore-error=true"
    ]


def test_pull_request_writes_pr_ref(tmp_path: Path) -> None:
    read, write, _ = specs(
        config_for(tmp_path), branch="feature", trigger="pull_request", pr_number="7"
    )
    assert read == [
        f"type=registry,ref={REPO}:buildcache-pr-7",
        f"type=registry,ref={REPO}:buildcache",
    ]
    assert write[0].startswith(f"type=registry,ref={REPO}:buildcache-pr-7,")


def test_unknown_branch_reads_default_and_writes_nothing(tmp_path: Path) -> None:
    read, write, notes = specs(config_for(tmp_path), branch=None)
    assert read == [f"type=registry,ref={REPO}:buildcache"]
    assert write == []
    assert notes == [
        "cache export dropped: branch unknown: reads the default branch's cache "
        "only; --cache-from kept"
    ]


def test_shared_cache_when_not_per_branch(tmp_path: Path) -> None:
    read, write, _ = specs(config_for(tmp_path, "[cache]\nper-branch = false\n"), branch="x")
    assert read == [f"type=registry,ref={REPO}:buildcache"]
    assert write[0].startswith(f"type=registry,ref={REPO}:buildcache,")


def test_local_build_reads_only_without_notice(tmp_path: Path) -> None:
    assert specs(config_for(tmp_path), push=False) == (
        [f"type=registry,ref={REPO}:buildcache"],
        [],
        [],
    )


@pytest.mark.parametrize(
    ("table", "why"),
    [('[cache]\nwrite = "never"\n', 'write = "never"')],
)
def test_write_never(tmp_path: Path, table: str, why: str) -> None:
    _, write, notes = specs(config_for(tmp_path, table))
    assert write == []
    assert notes == [f"cache export dropped: {why}; --cache-from kept"]


def test_write_always_exports_without_push(tmp_path: Path) -> None:
    _, write, _ = specs(config_for(tmp_path, '[cache]\nwrite = "always"\n'), push=False)
    assert len(write) == 1


def test_cli_override_beats_config(tmp_path: Path) -> None:
    config = config_for(tmp_path, '[cache]\nwrite = "always"\n')
    plan = cache.plan_for(config.images["web"], git_context(), True, False, Facts())
    assert plan.cache_to == ()
    assert plan.notes == ("cache export dropped: --no-cache-export; --cache-from kept",)


def test_probe_read_only_drops_cache_to(tmp_path: Path) -> None:
    facts = Facts(
        probed=True, writes=(WriteProbe(REPO, False, "HTTP 405: the registry is read-only"),)
    )
    read, write, notes = specs(config_for(tmp_path), facts=facts)
    assert read and write == []
    assert notes == [
        f"cache export dropped: cannot write to {REPO} (HTTP 405: the registry is read-only); "
        "--cache-from kept"
    ]


def test_probe_unknown_keeps_cache_to(tmp_path: Path) -> None:
    facts = Facts(probed=True, writes=(WriteProbe(REPO, None, "unreachable"),))
    assert specs(config_for(tmp_path), facts=facts)[1]


def test_builder_without_cache_export_drops_it(tmp_path: Path) -> None:
    facts = Facts(probed=True, driver="docker", cache_export=False)
    _, write, notes = specs(config_for(tmp_path), facts=facts)
    assert write == [] and "cannot export cache" in notes[0]


@pytest.mark.parametrize("kind", ["ecr", "harbor", "gitea", "forgejo", "gitlab"])
def test_kinds_that_need_image_manifest(tmp_path: Path, kind: str) -> None:
    config = config_for(
        tmp_path,
        f'[registries.other]\nhost = "reg.example"\nkind = "{kind}"\n'
        '[cache]\nrepository = "reg.example/cache/web"\n',
    )
    _, write, _ = specs(config)
    assert write == [
        "type=registry,ref=reg.example/cache/web:buildcache,mode=max,"
        "image-manifest=true,oci-mediatypes=true,ignore-error=true"
    ]


@pytest.mark.parametrize("kind", ["distribution", "ghcr", "dockerhub"])
def test_kinds_that_take_index_cache(tmp_path: Path, kind: str) -> None:
    config = config_for(
        tmp_path,
        f'[registries.local2]\nhost = "reg.example"\nkind = "{kind}"\n'
        '[cache]\nrepository = "reg.example/cache/web"\n',
    )
    assert "image-manifest" not in specs(config)[1][0]


def test_image_manifest_unsupported_by_builder_drops_export(tmp_path: Path) -> None:
    config = config_for(
        tmp_path,
        '[registries.e]\nhost = "1.dkr.ecr.x"\nkind = "ecr"\n'
        '[cache]\nrepository = "1.dkr.ecr.x/web"\n',
    )
    _, write, notes = specs(config, facts=Facts(probed=True, image_manifest=False))
    assert write == []
    assert "ECR refuses index-style cache" in notes[0] and "BuildKit < 0.12" in notes[0]


def test_kind_inferred_from_host() -> None:
    assert kinds.infer("123456789012.dkr.ecr.eu-west-1.amazonaws.com") == "ecr"
    assert kinds.infer("ghcr.io") == "ghcr"
    assert kinds.infer("docker.io") == "dockerhub"
    assert kinds.infer("registry.gitlab.com") == "gitlab"
    assert kinds.infer("codeberg.org") == "forgejo"
    assert kinds.infer("127.0.0.1:5000") == "distribution"


def test_inline_backend(tmp_path: Path) -> None:
    config = config_for(tmp_path, '[cache]\nbackend = "inline"\nmode = "min"\n')
    read, write, notes = specs(config, branch="feat")
    assert read == [f"type=registry,ref={REPO}:feat", f"type=registry,ref={REPO}:main"]
    assert write == ["type=inline"]
    assert notes == []


def test_inline_with_max_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        config_for(tmp_path, '[cache]\nbackend = "inline"\n')
    assert _problems(error.value) == (
        "cache.backend: inline cache holds mode=min only (it lives in the image, "
        'which has no intermediate stages), but mode is "max" (the default); set mode = "min", '
        'or keep mode=max with backend = "registry"',
    )


def test_multi_stage_with_min_warns(tmp_path: Path) -> None:
    config = config_for(tmp_path, '[cache]\nmode = "min"\n', dockerfile=MULTI)
    _, write, notes = specs(config)
    assert "mode=min" in write[0]
    assert notes == [
        "mode=min keeps only the final stage's layers: the Dockerfile's other 1 stage(s) "
        "rebuild on a fresh builder; mode=max keeps them"
    ]


def test_multi_stage_with_max_does_not_warn(tmp_path: Path) -> None:
    assert specs(config_for(tmp_path, dockerfile=MULTI))[2] == []


def test_local_backend(tmp_path: Path) -> None:
    read, write, _ = specs(config_for(tmp_path, '[cache]\nbackend = "local"\n'), branch="b")
    assert read == [
        "type=local,src=.bkrun/cache/web/buildcache-b",
        "type=local,src=.bkrun/cache/web/buildcache",
    ]
    assert write == ["type=local,dest=.bkrun/cache/web/buildcache-b,mode=max,ignore-error=true"]


def test_gha_backend(tmp_path: Path) -> None:
    read, write, _ = specs(config_for(tmp_path, '[cache]\nbackend = "gha"\n'))
    assert read == ["type=gha,scope=web-buildcache"]
    assert write == ["type=gha,scope=web-buildcache,mode=max,ignore-error=true"]


def test_s3_backend(tmp_path: Path) -> None:
    table = '[cache]\nbackend = "s3"\ns3 = { bucket = "b", region = "r", use-path-style = true }\n'
    read, write, _ = specs(config_for(tmp_path, table))
    assert read == ["type=s3,bucket=b,region=r,use_path_style=true,name=web-buildcache"]
    assert write == [
        "type=s3,bucket=b,region=r,use_path_style=true,name=web-buildcache,mode=max,"
        "ignore-error=true"
    ]


def test_s3_without_table_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        config_for(tmp_path, '[cache]\nbackend = "s3"\n')
    assert _problems(error.value)[0].startswith('cache.backend: backend "s3" needs an s3 table')


def test_raw_specs_are_appended(tmp_path: Path) -> None:
    table = '[cache]\ncache-from = ["type=local,src=/c"]\ncache-to = ["type=local,dest=/c"]\n'
    read, write, _ = specs(config_for(tmp_path, table))
    assert read[-1] == "type=local,src=/c" and write[-1] == "type=local,dest=/c"


def test_misspelled_raw_key_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        config_for(tmp_path, '[cache]\ncache-to = ["type=registry,ref=x/y:c,mod=max"]\n')
    assert _problems(error.value) == (
        "cache.cache-to[0]: unknown key 'mod' for type=registry in cache-to; did you mean 'mode'?",
    )


@pytest.mark.parametrize(
    ("text", "direction", "problem"),
    [
        ("type=registry,ref=a/b:c", "cache-from", None),
        ("a/b:c", "cache-from", None),
        (
            "type=registry,ref=a/b:c,mode=max",
            "cache-from",
            "unknown key 'mode' for type=registry in cache-from; BuildKit accepts: ref",
        ),
        (
            "type=regsitry,ref=a",
            "cache-to",
            "unknown cache type 'regsitry'; did you mean 'registry'?",
        ),
        (
            "type=registry,ref=a,mode=maximum",
            "cache-to",
            "mode='maximum': expected one of min, max",
        ),
        (
            "type=registry,ref=a,ignore-error=yes",
            "cache-to",
            "ignore-error='yes': expected true or false",
        ),
        ("type=registry,mode=max", "cache-to", "type=registry needs ref=... in cache-to"),
        (
            "type=local,dest=d,bogus=1",
            "cache-to",
            "unknown key 'bogus' for type=local in cache-to; BuildKit accepts: compression, "
            "compression-level, dest, force-compression, ignore-error, image-manifest, mode, "
            "oci-mediatypes, tag",
        ),
        (
            "type=s3,bucket=b,region=r,secret_access_key=x",
            "cache-to",
            "secret_access_key would put a credential into argv and plans; leave it out, buildx "
            "reads it from the environment",
        ),
        (
            "type=inline",
            "cache-from",
            "type=inline cannot be imported as such; read the image itself with "
            '"type=registry,ref=<image>:<tag>"',
        ),
        ("type=gha,scope=x,mode=max", "cache-to", None),
        (
            "type=registry,ref",
            "cache-to",
            "cannot parse 'type=registry,ref': field 'ref' has no '=' (expected key=value)",
        ),
    ],
)
def test_spec_problems(text: str, direction: str, problem: str | None) -> None:
    assert cachespec.problems(text, direction) == ([problem] if problem else [])


def test_format_round_trip_quotes_commas() -> None:
    attrs = {"type": "local", "dest": "a,b"}
    text = cachespec.format_spec(attrs)
    assert text == 'type=local,"dest=a,b"'
    assert cachespec.parse(text) == attrs


def test_not_found_line() -> None:
    line = "#4 ERROR: failed to configure registry cache importer: r:5000/a:b: not found"
    assert cache.not_found_ref(line) == "r:5000/a:b"
    assert (
        cache.not_found_ref("#4 ERROR: failed to configure registry cache importer: x: 401") is None
    )


def test_registry_refs() -> None:
    assert cache.registry_refs(("type=registry,ref=a/b:c,mode=max", "type=gha,scope=x")) == [
        "a/b:c"
    ]


def test_every_registry_kind_has_its_cache_export_settings() -> None:
    # The config's list of kinds and kinds.py's table are one fact written twice.
    import typing

    from buildkit_runner import kinds
    from buildkit_runner.config.models import RegistryKind

    assert set(typing.get_args(RegistryKind)) == set(kinds.EXPORT_ATTRS)
