"""cli: exit codes, one-line errors without tracebacks, stdout for results, stderr for logs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from buildkit_runner import __version__
from buildkit_runner.commands import plan as plan_command
from tests.conftest import Invoke
from tests.fakes import git, write_project

BKRUN = Path(sys.executable).parent / "bkrun"


@pytest.fixture
def broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository root whose bkrun.toml has three problems; cwd is it."""
    (tmp_path / ".git").mkdir()
    write_project(
        tmp_path,
        """\
        [cache]
        mod = "min"

        [images.web]
        repository = "demo/web"
        contxt = "web"
        platforms = ["linux/amd65"]
        """,
        ("web",),
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("command", ["plan", "build", "validate"])
def test_config_errors_exit_2_with_one_line_each_and_no_traceback(
    broken: Path, cli: Invoke, command: str
) -> None:
    result = cli(command)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "bkrun: error: bkrun.toml: cache.mod: unknown key 'mod'; did you mean 'mode'?",
        "bkrun: error: bkrun.toml: images.web.platforms[0]: unknown platform 'linux/amd65': "
        "unknown architecture 'amd65' (e.g. linux/amd64, linux/arm64, linux/arm/v7)",
        "bkrun: error: bkrun.toml: images.web.contxt: unknown key 'contxt'; "
        "did you mean 'context'?",
    ]
    assert "Traceback" not in result.output


def test_invalid_toml_exits_2(tmp_path: Path, cli: Invoke) -> None:
    config = tmp_path / "bkrun.toml"
    config.write_text("[images\n")
    result = cli("-c", str(config), "validate")
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("bkrun: error: ") and "not valid TOML" in line
    assert "Traceback" not in result.output


def test_missing_config_exits_2(
    tmp_path: Path, cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    result = cli("plan")
    assert result.exit_code == 2
    assert result.stderr.startswith("bkrun: error: no bkrun.toml (or pyproject.toml")


def test_config_from_environment_variable(
    project: Path, cli: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BKRUN_CONFIG", str(project / "bkrun.toml"))
    result = cli("validate", "--offline")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("bkrun.toml: ok (2 images: base, app; tags of ")


def test_validate_ok(project: Path, cli: Invoke) -> None:
    result = cli("validate", "--offline")
    sha = git(project, "rev-parse", "--short=7", "HEAD")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        f"bkrun.toml: ok (2 images: base, app; tags of {sha} checked; "
        "builder not checked (--offline))\n",
        "",
    )


def test_version(cli: Invoke) -> None:
    result = cli("--version")
    assert (result.exit_code, result.stdout) == (0, f"bkrun {__version__}\n")


def test_load_with_two_platforms_is_a_usage_error(project: Path, cli: Invoke) -> None:
    result = cli("plan", "--load")
    assert result.exit_code == 2
    assert result.stderr == (
        "bkrun: usage error: --load cannot load the multi-platform image 'base' "
        "(linux/amd64, linux/arm64); add --platform linux/amd64 to load one platform, "
        "or use --push\n"
    )
    assert cli("plan", "--load", "--platform", "linux/amd64").exit_code == 0


def test_unknown_image_is_a_usage_error(project: Path, cli: Invoke) -> None:
    result = cli("plan", "ap")
    assert result.exit_code == 2
    assert result.stderr == "bkrun: usage error: unknown image 'ap'; did you mean 'app'?\n"


def test_push_without_tags_is_a_usage_error(
    tmp_path: Path, cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    write_project(tmp_path, '[images.web]\nrepository = "a.io/web"\ncontext = "web"\n', ("web",))
    monkeypatch.chdir(tmp_path)
    result = cli("plan", "--push")
    assert result.exit_code == 2
    assert result.stderr.startswith("bkrun: usage error: image 'web' has no tag to push (")
    assert "Traceback" not in result.output


def test_nothing_to_build_exits_3(
    tmp_path: Path, cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(tmp_path, "[images]\n")
    monkeypatch.chdir(tmp_path)
    result = cli("plan")
    assert result.exit_code == 3
    assert result.stderr == (
        "bkrun: nothing to build: bkrun.toml defines no images; add an [images.<name>] table\n"
    )


def test_bad_trigger_and_log_format(project: Path, cli: Invoke) -> None:
    trigger = cli("plan", "--trigger", "nightly")
    assert trigger.exit_code == 2
    assert trigger.stderr.startswith("bkrun: error: --trigger 'nightly': expected one of push")
    log_format = cli("--log-format", "xml", "plan")
    assert log_format.exit_code == 2
    assert log_format.stderr.startswith("bkrun: error: --log-format 'xml': expected one of")


def test_plan_text_shows_the_commands(project: Path, cli: Invoke) -> None:
    result = cli("plan")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    out = result.stdout
    assert out.startswith("# project demo: 2 step(s)\n# commit ")
    assert "# 1/2 base\n" in out
    assert "# 2/2 app (after base)\n" in out
    assert "docker buildx build \\\n    --file base/Dockerfile \\\n" in out
    assert "'base=oci-layout://.bkrun/oci/base@${base.digest}'" in out


def test_plan_json_is_one_document_on_stdout(project: Path, cli: Invoke) -> None:
    result = cli("-v", "plan", "--json", "--push")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # the whole of stdout: one document
    assert data["version"] == 1
    assert [step["image"] for step in data["steps"]] == ["base", "app"]
    assert data["options"]["push"] is True
    assert data["git"]["branch"] == "main"
    assert not result.stderr.lstrip().startswith("{")


def test_plan_options_from_environment(
    project: Path, cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BKRUN_PUSH", "1")
    monkeypatch.setenv("BKRUN_PLATFORM", "linux/arm64")
    monkeypatch.setenv("BKRUN_TRIGGER", "schedule")
    data = json.loads(cli("plan", "--json").stdout)
    assert data["options"]["push"] is True
    assert data["options"]["platforms"] == ["linux/arm64"]
    assert data["git"]["trigger"] == "schedule"
    assert all(step["platforms"] == ["linux/arm64"] for step in data["steps"])


def test_comma_separated_and_repeated_platforms(project: Path, cli: Invoke) -> None:
    result = cli(
        "plan", "--json", "--platform", "linux/amd64,linux/arm64", "--platform", "linux/arm/v7"
    )
    data = json.loads(result.stdout)
    assert data["options"]["platforms"] == ["linux/amd64", "linux/arm64", "linux/arm/v7"]


def test_bad_platform_option(project: Path, cli: Invoke) -> None:
    result = cli("plan", "--platform", "linux/x86_64")
    assert result.exit_code == 2
    assert result.stderr == (
        "bkrun: usage error: --platform 'linux/x86_64': write 'amd64' instead of 'x86_64', "
        "e.g. linux/amd64\n"
    )


def test_pull_request_trigger_skips_branch_tags(project: Path, cli: Invoke) -> None:
    data = json.loads(cli("plan", "--json", "--trigger", "pull_request").stdout)
    for step in data["steps"]:
        assert [tag["rule"] for tag in step["tags"]] == ["sha (length 7)", "sha (full)"]


def test_dirty_tree_marks_tags_and_never_moves_latest(project: Path, cli: Invoke) -> None:
    clean = json.loads(cli("plan", "--json").stdout)
    assert "latest" in [tag["tag"] for tag in clean["steps"][0]["tags"]]

    (project / "app" / "untracked.txt").write_text("work in progress\n")
    result = cli("plan")
    assert "(trigger manual, local, dirty)" in result.stdout
    dirty = json.loads(cli("plan", "--json").stdout)
    assert dirty["git"]["dirty"] is True
    sha = dirty["git"]["sha"]
    assert [tag["tag"] for tag in dirty["steps"][0]["tags"]] == [
        f"sha-{sha[:7]}-dirty",
        f"sha-{sha}-dirty",
        "main-dirty",
    ]


def test_internal_error_is_one_line_exit_70(
    project: Path, cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_args: object) -> int:
        raise RuntimeError("kaput")

    monkeypatch.setattr(plan_command, "run", boom)
    result = cli("plan")
    assert result.exit_code == 70
    assert result.stderr == (
        "bkrun: internal error: RuntimeError: kaput (a bug in bkrun; set BKRUN_DEBUG=1 for "
        "the traceback and report it)\n"
    )
    monkeypatch.setenv("BKRUN_DEBUG", "1")
    debug = cli("plan")
    assert debug.exit_code == 70
    assert "Traceback" in debug.stderr and "RuntimeError: kaput" in debug.stderr


def test_keyboard_interrupt_exits_130(
    project: Path, cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(plan_command, "run", interrupted)
    result = cli("plan")
    assert (result.exit_code, result.stderr) == (130, "bkrun: interrupted\n")


def test_real_process_streams(project: Path) -> None:
    """Through the installed script: JSON alone on stdout; config errors without traceback."""
    plan = subprocess.run(
        [str(BKRUN), "plan", "--json"], capture_output=True, text=True, check=False
    )
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout)["version"] == 1
    assert plan.stderr == ""

    (project / "bkrun.toml").write_text('[images.web]\nrepository = "web"\ncontxt = "x"\n')
    bad = subprocess.run([str(BKRUN), "validate"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr == (
        "bkrun: error: bkrun.toml: images.web.contxt: unknown key 'contxt'; "
        "did you mean 'context'?\n"
    )


def test_missing_registry_credentials_name_the_config_file(project: Path, cli: Invoke) -> None:
    # The user's report: "registries.auth: variable(s) ... not set" without the file.
    text = (project / "bkrun.toml").read_text()
    (project / "bkrun.toml").write_text(
        text + '\n[registries.auth]\nhost = "r.example.com"\n'
        'username-env = "NU_USER"\npassword-env = "NU_PASS"\n'
    )
    result = cli("login")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "bkrun: error: bkrun.toml: registries.auth: variable(s) NU_USER, NU_PASS not set; "
        "export them (a CI secret) or remove username-env/password-env"
    ]


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        # The user's reports: absolute paths shown as ../../x, a directory as unreadable.
        (
            (),
            {"BKRUN_CONFIG": "/nonexistent.toml"},
            "/nonexistent.toml: file not found; check BKRUN_CONFIG",
        ),
        (("-c", "/nonexistent.toml"), {}, "/nonexistent.toml: file not found; check -c/--config"),
        (
            ("-c", "/tmp"),
            {},
            "/tmp: is a directory, not a config file (e.g. /tmp/bkrun.toml); check -c/--config",
        ),
    ],
)
def test_a_bad_config_path_is_shown_as_given_with_its_source(
    tmp_path: Path,
    cli: Invoke,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    env: dict[str, str],
    expected: str,
) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a" / "b")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = cli(*args, "validate")
    assert result.exit_code == 2
    assert result.stderr == f"bkrun: error: {expected}\n"
