"""Workspace charts: drag-zoom refetches finer buckets (double-click resets), a tooltip with every
run's value at the cursor, and the x-axis choice (step, relative time, wall time, a metric) in the URL."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.test_workspace import _entity, _sign_in

LONG_RUNS = """
import math, tracklet
for name in ("alpha", "beta"):
    run = tracklet.init(project="charts", name=name)
    for step in range(4000):
        run.log({"loss": math.exp(-step / 1000) + 0.1 * math.sin(step), "acc": step / 4000})
    run.finish()
"""

PANEL = "[data-testid=panel][data-key='loss']"


def _density(page) -> float:  # type: ignore[no-untyped-def]
    """Drawn points per unit of x: it grows when finer buckets come in."""
    return page.locator(PANEL).evaluate(
        "el => Number(el.dataset.points) / (Number(el.dataset.xMax) - Number(el.dataset.xMin))")


def _drag(page, start: float, end: float) -> None:  # type: ignore[no-untyped-def]
    box = page.locator(f"{PANEL} .u-over").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * start, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * (start + end) / 2, y, steps=4)
    page.mouse.move(box["x"] + box["width"] * end, y, steps=4)
    page.mouse.up()


def test_zoom_tooltip_and_x_axis(server, run_script, page) -> None:  # type: ignore[no-untyped-def]
    result = run_script(LONG_RUNS)
    assert result.returncode == 0, result.stderr
    entity = _entity(server)
    _sign_in(page, server, f"/{entity}/charts")
    panel = page.locator(PANEL)
    expect(panel).to_have_attribute("data-state", "ready")
    expect(panel).to_have_attribute("data-run-count", "2")
    expect(panel).to_have_attribute("data-downsampled", "true")
    before_density = _density(page)
    before_requests = int(panel.get_attribute("data-requests") or "0")

    # Dragging over a quarter of the chart asks for that step range, with finer buckets.
    with page.expect_request(lambda r: "/series?" in r.url and "key=loss" in r.url and "min_step=" in r.url):
        _drag(page, 0.4, 0.6)
    expect(panel).to_have_attribute("data-zoom", re.compile(r"^\d+-\d+$"))
    expect(panel).to_have_attribute("data-state", "ready")
    assert int(panel.get_attribute("data-requests") or "0") > before_requests
    assert _density(page) > 2 * before_density
    x_min, x_max = float(panel.get_attribute("data-x-min") or 0), float(panel.get_attribute("data-x-max") or 0)
    assert 1000 < x_min < x_max < 3000

    # Double-click: the whole series again.
    page.locator(f"{PANEL} .u-over").dblclick()
    expect(panel).to_have_attribute("data-zoom", "")
    expect(panel).to_have_attribute("data-downsampled", "true")

    # The tooltip names every shown run with its value at the cursor.
    box = page.locator(f"{PANEL} .u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    tooltip = panel.get_by_test_id("chart-tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip.get_by_test_id("tooltip-name")).to_have_count(2)
    names = sorted(tooltip.get_by_test_id("tooltip-name").all_inner_texts())
    assert names == ["alpha", "beta"]
    expect(tooltip.get_by_test_id("tooltip-row").first).not_to_contain_text("–")

    # The x axis: relative time, then a metric; the choice is in the URL and survives a reload.
    page.get_by_test_id("x-axis").select_option("_runtime")
    expect(panel).to_have_attribute("data-x-label", "relative time (s)")
    expect(panel).to_have_attribute("data-state", "ready")
    expect(page).to_have_url(f"{server.url}/{entity}/charts?x=_runtime")
    page.get_by_test_id("x-axis").select_option("acc")
    expect(panel).to_have_attribute("data-x-label", "acc")
    expect(panel).to_have_attribute("data-state", "ready")
    assert float(panel.get_attribute("data-x-max") or 9) <= 1.0
    expect(page).to_have_url(f"{server.url}/{entity}/charts?x=acc")
    page.reload()
    expect(page.get_by_test_id("x-axis")).to_have_value("acc")
    expect(panel).to_have_attribute("data-x-label", "acc")

    # Zooming on a metric axis refetches that part of the steps.
    expect(panel).to_have_attribute("data-state", "ready")
    with page.expect_request(lambda r: "/series?" in r.url and "key=loss" in r.url and "min_step=" in r.url):
        _drag(page, 0.2, 0.4)
    expect(panel).to_have_attribute("data-zoom", re.compile(r"^\d+-\d+$"))


GROUPED_RUNS = """
import tracklet
for name, group, offset in (("a1", "ga", 0.0), ("a2", "ga", 1.0), ("b1", "gb", 5.0)):
    run = tracklet.init(project="grouped", name=name, group=group)
    for step in range(50):
        run.log({"loss": offset + step / 50})
    run.finish()
"""


def test_grouped_runs_draw_a_mean_line_per_group(server, run_script, page) -> None:  # type: ignore[no-untyped-def]
    result = run_script(GROUPED_RUNS)
    assert result.returncode == 0, result.stderr
    entity = _entity(server)
    _sign_in(page, server, f"/{entity}/grouped")
    panel = page.locator(PANEL)
    expect(panel).to_have_attribute("data-lines", "3")
    page.get_by_test_id("group-by").select_option("group")
    expect(panel).to_have_attribute("data-lines", "2")
    box = page.locator(f"{PANEL} .u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    names = panel.get_by_test_id("chart-tooltip").get_by_test_id("tooltip-name")
    expect(names).to_have_count(2)
    assert sorted(names.all_inner_texts()) == ["ga (2)", "gb (1)"]
    # Each group's header in the table has the colour of its line in the chart.
    swatches = page.get_by_test_id("group-header").locator(".swatch").evaluate_all(
        "els => els.map((e) => getComputedStyle(e).backgroundColor)")
    lines = panel.get_attribute("data-colors").split(",")
    as_rgb = page.evaluate("hexes => hexes.map((h) => { const d = document.createElement('i'); d.style.color = h; "
                           "document.body.append(d); const c = getComputedStyle(d).color; d.remove(); return c; })", lines)
    assert len(swatches) == 2 and sorted(swatches) == sorted(as_rgb), (swatches, as_rgb)
