"""The workspace layout: panels use the width (≥ 3 a row at 1920 px), a density choice, panels
resized and reordered (buttons, keyboard, drag) per section, the runs sidebar collapsed, all of it
saved on the server: it survives a reload and shows the same in another browser. The runs are the
demo's sweep (examples/train_demo.py, shortened); screenshots in test-artifacts/screenshots/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

from tests.browser.conftest import screenshot

DEMO = Path(__file__).resolve().parents[2] / "examples" / "train_demo.py"
WIDE = {"width": 1920, "height": 1080}
TRAIN_KEYS = ["train/accuracy", "train/grad_norm", "train/learning_rate", "train/loss"]


def _demo_runs(workdir: Path) -> None:
    """The demo's sweep, 4 runs of about 2 s, uploaded to the test's server."""
    done = subprocess.run([sys.executable, str(DEMO), "--seconds", "2"], cwd=workdir, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def _entity(server) -> str:  # type: ignore[no-untyped-def]
    from tests.conftest import api

    with api(server) as client:
        return client.get("/viewer").json()["default_entity"]


def _open(page, server, path: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url + path)
    page.get_by_test_id("api-key").fill(server.admin_key)
    page.get_by_test_id("signin-submit").click()
    expect(page.locator("[data-testid=panel][data-key='train/loss']")).to_have_attribute("data-state", "ready")


def _order(page, section: str) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator(f"[data-testid=panel-grid][data-section='{section}'] > [data-testid=panel]").evaluate_all(
        "els => els.map(e => e.dataset.key)")


def _per_row(page, section: str) -> int:  # type: ignore[no-untyped-def]
    """How many panels share the first row of a section's grid (by where they are drawn)."""
    tops = page.locator(f"[data-testid=panel-grid][data-section='{section}'] > [data-testid=panel]").evaluate_all(
        "els => els.map(e => Math.round(e.getBoundingClientRect().top))")
    return sum(1 for top in tops if top == tops[0])


def _panel(page, key: str):  # type: ignore[no-untyped-def]
    return page.locator(f"[data-testid=panel][data-key='{key}']")


def _drawn(page) -> None:  # type: ignore[no-untyped-def]
    """Every panel drawn (they load as they come into view): for a screenshot of the whole page."""
    for panel in page.locator("[data-testid=panel], [data-testid=media-panel]").all():
        panel.scroll_into_view_if_needed()
        expect(panel).to_have_attribute("data-state", "ready")
    page.mouse.move(0, 0)  # no panel hovered: no layout controls, no tooltip
    page.evaluate("window.scrollTo(0, 0)")


def _saved(page) -> None:  # type: ignore[no-untyped-def]
    expect(page.get_by_test_id("layout-status")).to_have_attribute("data-state", "saved")


def _guarded_context(browser):  # type: ignore[no-untyped-def]
    """A second browser (its own storage) that, like the page fixture's, reaches no other host."""
    context = browser.new_context(viewport=WIDE)
    context.set_default_timeout(15_000)
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        ("http://127.0.0.1:", "data:", "blob:")) else route.abort())
    return context


def test_the_grid_uses_the_width_and_asks_for_one_bucket_per_pixel(server, workdir, page) -> None:  # type: ignore[no-untyped-def]
    _demo_runs(workdir)
    page.set_viewport_size(WIDE)
    buckets: dict[str, int] = {}
    page.on("request", lambda r: buckets.update({
        parse_qs(urlparse(r.url).query)["key"][0]: int(parse_qs(urlparse(r.url).query)["buckets"][0])})
        if "/series?" in r.url else None)
    _open(page, server, f"/{_entity(server)}/tracklet-demo")
    assert _per_row(page, "train") >= 3
    assert int(page.locator("[data-testid=panel-grid][data-section='train']").get_attribute("data-columns")) >= 3
    # A chart is as wide as its panel, and asked for that many buckets.
    loss = _panel(page, "train/loss")
    inner = loss.evaluate("e => e.clientWidth - 24")
    canvas = loss.locator("canvas").first.evaluate("c => c.getBoundingClientRect().width")
    assert abs(canvas - inner) <= 4, (canvas, inner)
    assert abs(buckets["train/loss"] - inner) <= 4, (buckets, inner)
    _drawn(page)
    screenshot(page, "workspace-demo-1920")

    # Compact fits more a row, large fewer; the chart follows and asks for its new width's buckets.
    page.get_by_test_id("density").select_option("compact")
    expect(page.locator("[data-testid=panel-grid][data-section='train']")).to_have_attribute("data-columns", "4")
    assert _per_row(page, "train") == 4
    page.get_by_test_id("density").select_option("large")
    expect(page.locator("[data-testid=panel-grid][data-section='train']")).to_have_attribute("data-columns", "2")
    expect(loss).to_have_attribute("data-state", "ready")
    wide = loss.evaluate("e => e.clientWidth - 24")
    assert wide > inner * 1.3
    for _ in range(50):  # the request event reaches this process after the page has it
        if abs(buckets["train/loss"] - wide) <= 4:
            break
        page.wait_for_timeout(100)
    assert abs(buckets["train/loss"] - wide) <= 4, (buckets, wide)
    page.get_by_test_id("density").select_option("comfortable")
    _saved(page)


def test_resize_reorder_and_sidebar_survive_a_reload_and_another_browser(  # type: ignore[no-untyped-def]
        server, workdir, page, browser) -> None:
    _demo_runs(workdir)
    page.set_viewport_size(WIDE)
    path = f"/{_entity(server)}/tracklet-demo"
    _open(page, server, path)
    assert _order(page, "train") == TRAIN_KEYS

    # Resize with the buttons: two columns wide, two steps taller.
    loss = _panel(page, "train/loss")
    loss.hover()
    loss.get_by_test_id("panel-wider").click()
    loss.get_by_test_id("panel-taller").click()
    loss.get_by_test_id("panel-taller").click()
    expect(loss).to_have_attribute("data-columns", "2")
    expect(loss).to_have_attribute("data-height", "320")
    assert loss.locator("canvas").first.evaluate("c => c.getBoundingClientRect().height") > 300
    # Reorder from the keyboard: focus train/loss's "Move earlier" and press Enter three times.
    loss.get_by_test_id("panel-move-earlier").focus()
    for _ in range(3):
        page.keyboard.press("Enter")
    assert _order(page, "train") == ["train/loss", "train/accuracy", "train/grad_norm", "train/learning_rate"]
    # And by dragging: train/learning_rate dropped on train/accuracy takes its place.
    _panel(page, "train/learning_rate").hover()
    _panel(page, "train/learning_rate").get_by_test_id("panel-drag").drag_to(_panel(page, "train/accuracy"))
    expected = ["train/loss", "train/learning_rate", "train/accuracy", "train/grad_norm"]
    assert _order(page, "train") == expected
    # A panel of another section is not a drop target: nothing moves.
    _panel(page, "val/loss").hover()
    _panel(page, "val/loss").get_by_test_id("panel-drag").drag_to(_panel(page, "train/loss"))
    assert _order(page, "train") == expected
    # The sidebar collapses, and the charts take its width.
    columns = int(page.locator("[data-testid=panel-grid][data-section='train']").get_attribute("data-columns"))
    page.get_by_test_id("sidebar-toggle").click()
    expect(page.get_by_test_id("run-sidebar")).to_have_attribute("data-collapsed", "true")
    expect(page.get_by_test_id("runs")).to_be_hidden()
    expect(page.locator("[data-testid=panel-grid][data-section='train']")).to_have_attribute(
        "data-columns", str(columns + 1))
    _saved(page)
    _drawn(page)
    screenshot(page, "workspace-demo-1920-sidebar-collapsed")

    def check(view) -> None:  # type: ignore[no-untyped-def]
        expect(view.locator("[data-testid=panel][data-key='train/loss']")).to_have_attribute("data-state", "ready")
        assert _order(view, "train") == expected
        panel = _panel(view, "train/loss")
        expect(panel).to_have_attribute("data-columns", "2")
        expect(panel).to_have_attribute("data-height", "320")
        expect(view.get_by_test_id("run-sidebar")).to_have_attribute("data-collapsed", "true")
        expect(view.get_by_test_id("runs")).to_be_hidden()

    page.reload()
    check(page)
    other = _guarded_context(browser)
    try:
        second = other.new_page()
        _open(second, server, path)
        check(second)
        # Opened again there, the sidebar shows the runs; the first browser sees it after a reload.
        second.get_by_test_id("sidebar-toggle").click()
        expect(second.get_by_test_id("runs")).to_be_visible()
        _saved(second)
    finally:
        other.close()
    page.reload()
    expect(page.get_by_test_id("run-sidebar")).to_have_attribute("data-collapsed", "false")
    expect(page.get_by_test_id("runs")).to_be_visible()
    assert _order(page, "train") == expected


def test_a_panel_resized_by_dragging_its_corner(server, workdir, page) -> None:  # type: ignore[no-untyped-def]
    _demo_runs(workdir)
    page.set_viewport_size({"width": 1440, "height": 1000})
    _open(page, server, f"/{_entity(server)}/tracklet-demo")
    panel = _panel(page, "val/loss")
    panel.scroll_into_view_if_needed()
    panel.hover()
    grip = panel.get_by_test_id("panel-resize").bounding_box()
    assert grip is not None
    x, y = grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    box = panel.bounding_box()
    page.mouse.move(x + box["width"] * 0.9, y + 120, steps=8)  # about one column wider, 120 px taller
    page.mouse.up()
    expect(panel).to_have_attribute("data-columns", "2")
    expect(panel).to_have_attribute("data-height", "360")
    _saved(page)
    page.reload()
    expect(_panel(page, "val/loss")).to_have_attribute("data-columns", "2")
    expect(_panel(page, "val/loss")).to_have_attribute("data-height", "360")
    _drawn(page)
    screenshot(page, "workspace-demo-1440-resized")
