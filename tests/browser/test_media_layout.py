"""Media panels in the workspace layout, like the chart panels: resized (columns, height) and reordered
within their section with the same controls, their content fitted to the size (images scale, the step
slider stays, a table scrolls), saved on the server in the project's layout under their own section
names: the layout survives a reload and shows the same in another browser. Images and a histogram are
logged by a real script."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.conftest import api

WIDE = {"width": 1920, "height": 1080}

# One run, three steps: two images and a histogram under "samples/", a loss chart, and a table of 40 rows.
MEDIA_RUN = """
import numpy as np, tracklet
rng = np.random.default_rng(5)
run = tracklet.init(project="media-layout", name="media")
for step in range(3):
    pixels = np.zeros((32, 48, 3), np.uint8)
    pixels[:, :, step] = 255
    run.log({"samples/color": tracklet.Image(pixels, caption=f"channel {step}"),
             "samples/inverted": tracklet.Image(255 - pixels),
             "samples/weights": tracklet.Histogram(rng.normal(loc=step, size=500), num_bins=20),
             "loss": 1 / (step + 1)})
table = tracklet.Table(columns=["id", "label"])
for i in range(40):
    table.add_data(i, f"row {i}")
run.log({"predictions": table})
run.finish()
"""

SAMPLES = ["samples/color", "samples/inverted", "samples/weights"]


def _entity(server) -> str:  # type: ignore[no-untyped-def]
    with api(server) as client:
        return client.get("/viewer").json()["default_entity"]


def _open(page, server, path: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/signin?next={path}")
    page.get_by_test_id("api-key").fill(server.admin_key)
    page.get_by_test_id("signin-submit").click()
    expect(page.locator("[data-testid=media-panel][data-key='samples/color']")).to_have_attribute("data-state", "ready")


def _panel(page, key: str):  # type: ignore[no-untyped-def]
    panel = page.locator(f"[data-testid=media-panel][data-key='{key}']")
    panel.scroll_into_view_if_needed()  # panels load as they come into view
    return panel


def _order(page, section: str) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator(f"[data-testid=media-grid][data-section='{section}'] > [data-testid=media-panel]") \
        .evaluate_all("els => els.map(e => e.dataset.key)")


def _saved(page) -> None:  # type: ignore[no-untyped-def]
    expect(page.get_by_test_id("layout-status")).to_have_attribute("data-state", "saved")


def _image_fits(panel, height: int) -> None:  # type: ignore[no-untyped-def]
    """The panel's image is scaled to the room its height leaves (taller than its 32 px), inside the panel."""
    img = panel.get_by_test_id("media-image").first
    expect(img).to_be_visible()
    img.evaluate("i => i.decode()")
    box, outer = img.bounding_box(), panel.bounding_box()
    assert box is not None and outer is not None
    assert abs(box["height"] - (height - 76)) <= 2, (box, height)
    assert box["height"] > 64 and box["width"] > 96, box
    assert box["y"] + box["height"] <= outer["y"] + outer["height"]
    assert box["x"] + box["width"] <= outer["x"] + outer["width"]


def test_media_panels_are_resized_and_reordered_and_the_layout_is_saved(  # type: ignore[no-untyped-def]
        server, run_script, page, browser) -> None:
    result = run_script(MEDIA_RUN, timeout=180)
    assert result.returncode == 0, result.stderr
    path = f"/{_entity(server)}/media-layout"
    page.set_viewport_size(WIDE)
    _open(page, server, path)
    assert _order(page, "samples") == SAMPLES
    grid = page.locator("[data-testid=media-grid][data-section='samples']")
    assert int(grid.get_attribute("data-columns")) >= 3  # the same grid as the charts: as many columns as fit
    # The table is wide until resized: the widest span the grid allows.
    table = _panel(page, "predictions")
    expect(table).to_have_attribute("data-columns", page.locator("[data-testid=media-grid][data-section='']")
                                    .get_attribute("data-columns"))

    # Resize the image panel with the buttons: two columns wide, then taller than its content.
    color = _panel(page, "samples/color")
    expect(color).to_have_attribute("data-height", "")  # never resized: as tall as what it shows
    natural = color.get_by_test_id("media-image").first.bounding_box()["height"]
    color.hover()
    color.get_by_test_id("panel-wider").click()
    color.get_by_test_id("panel-taller").click()
    color.get_by_test_id("panel-taller").click()
    expect(color).to_have_attribute("data-columns", "2")
    height = int(color.get_attribute("data-height"))
    assert height >= 240, height
    _image_fits(color, height)
    assert color.get_by_test_id("media-image").first.bounding_box()["height"] > natural
    expect(color.get_by_test_id("media-step")).to_be_visible()  # the slider stays, and still steps
    color.get_by_test_id("media-step").evaluate(
        "el => { el.value = '0'; el.dispatchEvent(new Event('input', { bubbles: true })); }")
    expect(color.get_by_test_id("media-step-value")).to_have_text("0")
    expect(color.get_by_test_id("media-caption").first).to_have_text("channel 0")

    # The other image panel resized by dragging its corner grip: 120 px taller, snapped to 40 px steps.
    inverted = _panel(page, "samples/inverted")
    start = int(inverted.get_by_test_id("media-image").first.evaluate(
        "i => i.closest('.media-view').getBoundingClientRect().height"))
    inverted.hover()
    grip = inverted.get_by_test_id("panel-resize").bounding_box()
    x, y = grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 10, y + 120, steps=6)
    page.mouse.up()
    expect(inverted).to_have_attribute("data-columns", "1")
    inverted_height = int(inverted.get_attribute("data-height"))
    assert inverted_height % 40 == 0 and abs(inverted_height - (start + 120)) <= 20, (inverted_height, start)
    _image_fits(inverted, inverted_height)

    # The histogram panel, made shorter than its heat map: it is drawn again to fit.
    weights = _panel(page, "samples/weights")
    expect(weights).to_have_attribute("data-state", "ready")
    weights.hover()
    for _ in range(2):
        weights.get_by_test_id("panel-shorter").click()
    weights_height = int(weights.get_attribute("data-height"))
    canvas = weights.get_by_test_id("media-heatmap").bounding_box()
    assert canvas["height"] <= weights_height, (canvas, weights_height)

    # The table made shorter than its page of rows: it scrolls inside the panel.
    table.hover()
    for _ in range(4):
        table.get_by_test_id("panel-shorter").click()
    table.get_by_test_id("panel-narrower").click()
    table_height = int(table.get_attribute("data-height"))
    table_columns = table.get_attribute("data-columns")
    scroller = table.locator(".media-cells")
    assert scroller.evaluate("e => e.scrollHeight > e.clientHeight + 20")
    scroller.evaluate("e => { e.scrollTop = e.scrollHeight; }")
    expect(table.get_by_test_id("media-table-row").last).to_be_in_viewport()

    # Reorder: the histogram dropped on the first image takes its place; then one place later by the keyboard.
    color.evaluate("e => e.scrollIntoView({ block: 'center' })")  # both in view: no scrolling mid-drag
    weights.hover()
    weights.get_by_test_id("panel-drag").drag_to(color)
    assert _order(page, "samples") == ["samples/weights", "samples/color", "samples/inverted"]
    _panel(page, "samples/inverted").get_by_test_id("panel-move-earlier").focus()
    page.keyboard.press("Enter")
    expected = ["samples/weights", "samples/inverted", "samples/color"]
    assert _order(page, "samples") == expected
    # A panel of another section, or a chart, is no drop target: nothing moves.
    table.hover()
    table.get_by_test_id("panel-drag").drag_to(_panel(page, "samples/inverted"))
    assert _order(page, "samples") == expected
    _saved(page)

    # Saved in the project's layout, apart from the chart sections.
    with api(server) as client:
        sections = client.get(f"/projects{path}/workspace").json()["sections"]
    assert sections["_media:samples"]["order"] == expected
    assert sections["_media:samples"]["sizes"]["samples/color"] == {"columns": 2, "height": height}
    assert sections["_media:samples"]["sizes"]["samples/inverted"] == {"height": inverted_height}  # 1 column: default
    assert "samples" not in sections and "" not in sections  # no chart was moved or resized

    def check(view) -> None:  # type: ignore[no-untyped-def]
        assert _order(view, "samples") == expected
        panel = _panel(view, "samples/color")
        expect(panel).to_have_attribute("data-state", "ready")
        expect(panel).to_have_attribute("data-columns", "2")
        expect(panel).to_have_attribute("data-height", str(height))
        _image_fits(panel, height)
        expect(_panel(view, "samples/weights")).to_have_attribute("data-height", str(weights_height))
        expect(_panel(view, "samples/inverted")).to_have_attribute("data-height", str(inverted_height))
        table = _panel(view, "predictions")
        expect(table).to_have_attribute("data-columns", table_columns)
        expect(table).to_have_attribute("data-height", str(table_height))

    page.reload()
    expect(page.locator("[data-testid=media-panel][data-key='samples/color']")).to_be_attached()
    check(page)
    other = browser.new_context(viewport=WIDE)
    other.set_default_timeout(15_000)
    other.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        ("http://127.0.0.1:", "data:", "blob:")) else route.abort())
    try:
        second = other.new_page()
        _open(second, server, path)
        check(second)
        second.mouse.move(0, 0)
        _panel(second, "samples/weights")
        screenshot(second, "workspace-media-layout-1920")
    finally:
        other.close()
