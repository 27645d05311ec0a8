"""The UI's API types (web/src/api/schema.ts) are generated from the server's OpenAPI document."""

from __future__ import annotations

import importlib.util
from importlib.machinery import SourceFileLoader
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gen-ui-types"


def test_committed_ui_types_match_the_api_schema() -> None:
    loader = SourceFileLoader("gen_ui_types", str(SCRIPT))
    spec = importlib.util.spec_from_loader("gen_ui_types", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    assert module.TARGET.read_text(encoding="utf-8") == module.current(), (
        "web/src/api/schema.ts is stale: run scripts/gen-ui-types"
    )
