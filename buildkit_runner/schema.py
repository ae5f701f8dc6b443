"""The JSON Schema of bkrun.toml, generated from the pydantic models.

``scripts/gen_schema.py`` writes it to docs/bkrun.schema.json and a test fails when that
file is stale; ``bkrun schema`` prints it. Editors (taplo, Even Better TOML) validate
bkrun.toml against it with a ``#:schema`` comment or their own settings.
"""

from __future__ import annotations

import json
from typing import Any

from buildkit_runner.config import models

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema() -> dict[str, Any]:
    data = models.ConfigFile.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "bkrun.toml",
        "description": "Images, registries, platforms and cache of a bkrun project; "
        "see docs/config.md.",
        **{key: value for key, value in data.items() if key not in ("title", "description")},
    }


def text() -> str:
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"
