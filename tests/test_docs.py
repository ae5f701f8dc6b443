"""The documentation and sample configs stay true to the code."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from buildkit_runner import config
from buildkit_runner.config import models
from buildkit_runner.errors import EXIT_CODES

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
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
