"""Write docs/bkrun.schema.json from the config models; run it after changing them.

    .venv/bin/python scripts/gen_schema.py

tests/test_schema.py fails while the committed file differs from what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "bkrun.schema.json"


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from buildkit_runner import schema

    TARGET.write_text(schema.text(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
