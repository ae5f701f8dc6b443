"""The JSON Schema of bkrun.toml: current, and every sample and docs block validates."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import tomllib

from buildkit_runner import schema
from tests.conftest import Invoke

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_FILE = ROOT / "docs" / "bkrun.schema.json"
SAMPLES = sorted((ROOT / "configs").glob("**/bkrun.toml"))
DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]


def _blocks() -> list[tuple[str, str]]:
    return [
        (f"{path.name}#{index}", block)
        for path in DOCS
        for index, block in enumerate(re.findall(r"```toml\n(.*?)```", path.read_text(), re.S))
    ]


def test_committed_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema.text(), (
        "docs/bkrun.schema.json is stale: run .venv/bin/python scripts/gen_schema.py"
    )


def test_schema_command_prints_it(cli: Invoke) -> None:
    result = cli("schema")

    assert result.exit_code == 0
    assert json.loads(result.stdout)["$schema"] == schema.SCHEMA_DIALECT


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_sample_configs_match_the_schema(path: Path) -> None:
    jsonschema.validate(tomllib.loads(path.read_text()), schema.schema())


@pytest.mark.parametrize(("where", "block"), _blocks(), ids=lambda v: str(v)[:40])
def test_docs_blocks_match_the_schema(where: str, block: str) -> None:
    data = tomllib.loads(block)
    data.setdefault("images", {"example": {"repository": "127.0.0.1:5000/example"}})

    jsonschema.validate(data, schema.schema())


def test_schema_rejects_what_the_models_reject() -> None:
    good = {
        "images": {"web": {"repository": "x/web", "tags": ["sha", {"type": "raw", "value": "v1"}]}}
    }
    jsonschema.validate(good, schema.schema())
    for bad in (
        {"images": {"web": {"repository": "x/web", "platfroms": []}}},
        {"images": {"web": {"repository": "x/web", "tags": ["raw"]}}},
        {"cache": {"mode": "maximum"}, "images": {}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema.schema())
