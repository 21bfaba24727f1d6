"""Golden files: with `UPDATE_GOLDEN=1` write what was rendered, otherwise it must match exactly."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["golden", "golden_json"]


def golden(path: Path, rendered: str) -> None:
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with UPDATE_GOLDEN=1"
    assert path.read_text(encoding="utf-8") == rendered


def golden_json(path: Path, data: Any) -> None:
    """`data` as indented JSON (non-ASCII kept as is) with a final newline."""
    golden(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
