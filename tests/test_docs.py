"""The documentation and sample configs stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from buildkit_runner import config
from buildkit_runner.config import models
from buildkit_runner.config.load import tomllib
from buildkit_runner.errors import EXIT_CODES

ROOT = Path(__file__).resolve().parents[1]
DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
SAMPLE_CONFIGS = sorted((ROOT / "configs").glob("**/bkrun.toml"))


def _toml_blocks() -> list[tuple[str, str]]:
    blocks = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for index, block in enumerate(re.findall(r"```toml\n(.*?)```", text, re.S)):
            blocks.append((f"{path.name}#{index}", block))
    return blocks


def test_exit_code_table_matches_errors() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| (\d+) \| (.+?) \|$", text, re.M))

    assert {int(code): meaning for code, meaning in table.items()} == EXIT_CODES


@pytest.mark.parametrize("path", SAMPLE_CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_sample_configs_load(path: Path) -> None:
    loaded = config.load(path)

    assert loaded.images


@pytest.mark.parametrize(("where", "block"), _toml_blocks(), ids=lambda v: str(v)[:40])
def test_config_blocks_in_docs_are_valid(where: str, block: str) -> None:
    data = tomllib.loads(block)
    # A fragment (just a [cache] table, say) is checked as part of a minimal config.
    data.setdefault("images", {"example": {"repository": "127.0.0.1:5000/example"}})

    models.ConfigFile.model_validate(data)


def test_sample_configs_exist() -> None:
    assert SAMPLE_CONFIGS, "configs/ holds the example project"


def _options(command: Any) -> list[Any]:
    return [p for p in command.params if p.param_type_name == "option" and p.name != "help"]


def test_every_option_has_a_bkrun_variable_shown_in_help() -> None:
    import typer.main

    from buildkit_runner.cli import app

    root = typer.main.get_command(app)
    commands: list[tuple[str, Any]] = [("bkrun", root)]
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        if subcommands:
            commands += [(f"{name} {sub}", c) for sub, c in subcommands.items()]
        else:
            commands.append((name, command))
    missing = [
        f"{name} {option.opts[0]}"
        for name, command in commands
        for option in _options(command)
        if option.name != "version"
        and not (isinstance(option.envvar, str) and option.envvar.startswith("BKRUN_"))
    ]
    assert missing == []


def test_help_shows_the_variables(cli: Any) -> None:
    result = cli("build", "--help")

    for variable in ("BKRUN_REPORT", "BKRUN_JUNIT", "BKRUN_SUMMARY", "BKRUN_PREFLIGHT"):
        assert variable in result.stdout
    assert "BKRUN_COLOR" in cli("--help").stdout


def _commands() -> list[tuple[str, Any]]:
    import typer.main

    from buildkit_runner.cli import app

    root = typer.main.get_command(app)
    found: list[tuple[str, Any]] = [("bkrun", root)]
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        if subcommands:
            found += [(f"{name} {sub}", c) for sub, c in subcommands.items()]
        else:
            found.append((name, command))
    return found


def test_every_command_option_and_variable_is_in_cli_md() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = []
    for name, command in _commands():
        if name != "bkrun" and f"`bkrun {name}" not in text:
            missing.append(f"section for bkrun {name}")
        for option in _options(command):
            for flag in [*option.opts, *option.secondary_opts]:
                if f"`{flag}" not in text and f" {flag}" not in text:
                    missing.append(f"bkrun {name} {flag}")
            if isinstance(option.envvar, str) and f"`{option.envvar}" not in text:
                missing.append(f"bkrun {name} {option.envvar}")
    assert missing == []


def test_help_shows_readable_metavars(cli: Any) -> None:
    for name, _ in _commands():
        words = [] if name == "bkrun" else name.split()
        result = cli(*words, "--help")
        assert result.exit_code == 0, name
        assert "<" not in result.stdout, (name, result.stdout)
