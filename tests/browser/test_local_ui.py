"""``tracklet ui`` pointed at a folder with no runs says on its home page which folder it searched."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.integration.test_cli_dirs import tracklet_ui


def test_home_page_names_the_empty_folder(page, workdir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "no-runs-here"
    empty.mkdir()
    with tracklet_ui(empty, workdir) as (client, _lines):
        page.goto(str(client.base_url).removesuffix("/api/v1/"))
        expect(page.locator("main")).to_contain_text(f"No runs in {empty / 'tracklet'}")
        screenshot(page, "local-ui-no-runs")
