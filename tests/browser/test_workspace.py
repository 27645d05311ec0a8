"""The project workspace: runs table (config columns, sort, filter, grouping, show/hide), a chart
panel per metric in sections, smoothing, URL state, and live updates from a run still logging."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

from tests.browser.conftest import screenshot

THREE_RUNS = """
import math, tracklet
for name, lr, group, job in (("slow", 0.001, "sweep-a", "train"), ("mid", 0.01, "sweep-b", "train"),
                             ("fast", 0.1, "sweep-a", "eval")):
    run = tracklet.init(project="ws", name=name, config={"lr": lr, "layers": 4}, group=group, job_type=job,
                        tags=["ws", name])
    for step in range(60):
        noise = 0.2 * math.sin(step * 1.7)
        run.log({"train/loss": math.exp(-step * lr * 5) + noise, "train/acc": step / 60,
                 "val/loss": math.exp(-step * lr * 4)})
    run.finish()
"""

LIVE_RUN = """
import os, time, tracklet
run = tracklet.init(project="ws", name="live", config={"lr": 0.5}, group="sweep-c")
def wait_for(name):
    while not os.path.exists(name):
        time.sleep(0.05)
for step in range(10):
    run.log({"train/loss": 1.0 / (step + 1)})
wait_for("more")
for step in range(10, 30):
    run.log({"train/loss": 1.0 / (step + 1)})
wait_for("even-more")
for step in range(30, 50):
    run.log({"train/loss": 1.0 / (step + 1)})
wait_for("done")
run.finish()
"""


# The columns once config.layers is unticked (the URL holds them only once they differ from the defaults).
COLS = ("cols=name,state,created,runtime,tags,group,job_type,notes,config.lr,"
        "summary.train%2Facc,summary.train%2Floss,summary.val%2Floss")


def _names(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.get_by_test_id("runs").get_by_test_id("run-name").all_inner_texts()


def _entity(server) -> str:  # type: ignore[no-untyped-def]
    from tests.conftest import api

    with api(server) as client:
        return client.get("/viewer").json()["default_entity"]


def _sign_in(page, server, path: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url + path)
    page.get_by_test_id("api-key").fill(server.admin_key)
    page.get_by_test_id("signin-submit").click()


def _canvas(page, key: str) -> str:  # type: ignore[no-untyped-def]
    return page.locator(f"[data-testid=panel][data-key='{key}'] canvas").evaluate("c => c.toDataURL()")


def test_workspace_table_panels_and_url_state(server, run_script, page) -> None:  # type: ignore[no-untyped-def]
    result = run_script(THREE_RUNS)
    assert result.returncode == 0, result.stderr
    entity = _entity(server)
    _sign_in(page, server, f"/{entity}/ws")

    runs = page.get_by_test_id("runs")
    expect(runs.get_by_test_id("run-row")).to_have_count(3)
    # A config column by default, and sorting by it (ascending, then descending) reorders the rows.
    header = runs.get_by_test_id("col-config.lr")
    expect(header).to_be_visible()
    expect(runs.get_by_test_id("col-summary.train/loss")).to_be_visible()
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    assert _names(page) == ["slow", "mid", "fast"]
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    assert _names(page) == ["fast", "mid", "slow"]
    expect(page).to_have_url(f"{server.url}/{entity}/ws?sort=-config.lr")

    # The column chooser removes a column.
    page.get_by_test_id("column-chooser").locator("summary").click()
    page.get_by_test_id("column-chooser").locator("input[data-column='config.layers']").uncheck()
    expect(runs.get_by_test_id("col-config.layers")).to_have_count(0)

    # A panel per metric, in its section, each drawing the three runs.
    for section, key in (("train", "train/loss"), ("train", "train/acc"), ("val", "val/loss")):
        panel = page.locator(f"[data-testid=panel-section][data-section='{section}'] [data-testid=panel][data-key='{key}']")
        expect(panel).to_have_attribute("data-run-count", "3")
        expect(panel.locator("canvas")).to_have_count(1)
    expect(page.locator("[data-testid=panel][data-key^='_']")).to_have_count(0)

    # Hiding a run takes it out of the charts.
    loss = page.locator("[data-testid=panel][data-key='train/loss']")
    runs.locator("tr[data-testid=run-row]", has_text="mid").get_by_test_id("run-visible").uncheck()
    expect(loss).to_have_attribute("data-run-count", "2")
    expect(loss).not_to_have_attribute("data-runs", "mid")
    runs.locator("tr[data-testid=run-row]", has_text="mid").get_by_test_id("run-visible").check()
    expect(loss).to_have_attribute("data-run-count", "3")

    # Smoothing changes what is drawn.
    expect(loss).to_have_attribute("data-state", "ready")
    before = _canvas(page, "train/loss")
    page.get_by_test_id("smoothing").fill("0.9")
    page.wait_for_function(
        "([sel, before]) => document.querySelector(sel).toDataURL() !== before",
        arg=["[data-testid=panel][data-key='train/loss'] canvas", before])
    expect(page).to_have_url(f"{server.url}/{entity}/ws?sort=-config.lr&smooth=0.9&{COLS}")

    # Panel search.
    page.get_by_test_id("panel-search").fill("val")
    expect(loss).to_be_hidden()
    expect(page.locator("[data-testid=panel][data-key='val/loss']")).to_be_visible()
    page.get_by_test_id("panel-search").fill("")

    # The filter narrows the rows (and the charts).
    page.get_by_test_id("run-filter").fill("fast")
    expect(runs.get_by_test_id("run-row")).to_have_count(1)
    expect(loss).to_have_attribute("data-run-count", "1")
    page.get_by_test_id("run-filter").fill("")
    expect(runs.get_by_test_id("run-row")).to_have_count(3)

    # Grouping by group: a header per group with its count; a group collapses.
    page.get_by_test_id("group-by").select_option("group")
    headers = runs.get_by_test_id("group-header")
    expect(headers).to_have_count(2)
    expect(headers.nth(0)).to_contain_text("sweep-a (2)")
    expect(headers.nth(1)).to_contain_text("sweep-b (1)")
    headers.nth(0).get_by_role("button").click()
    expect(runs.get_by_test_id("run-row")).to_have_count(1)
    headers.nth(0).get_by_role("button").click()
    expect(runs.get_by_test_id("run-row")).to_have_count(3)
    page.get_by_test_id("group-by").select_option("config.lr")
    expect(headers).to_have_count(3)

    # All of it is in the URL: a reload shows the same workspace.
    expect(page).to_have_url(f"{server.url}/{entity}/ws?sort=-config.lr&group=config.lr&smooth=0.9&{COLS}")
    page.reload()
    expect(runs.get_by_test_id("group-header")).to_have_count(3)
    expect(page.get_by_test_id("smoothing")).to_have_value("0.9")
    expect(runs.get_by_test_id("col-config.lr")).to_have_attribute("aria-sort", "descending")
    expect(runs.get_by_test_id("col-config.layers")).to_have_count(0)
    expect(loss).to_have_attribute("data-run-count", "3")
    screenshot(page, "workspace")


def test_workspace_follows_a_run_that_is_still_logging(server, run_script, page, workdir) -> None:  # type: ignore[no-untyped-def]
    script = workdir / "live.py"
    script.write_text(textwrap.dedent(LIVE_RUN), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script)], cwd=workdir, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    requests: list[str] = []
    every_request: list[str] = []
    page.on("request", lambda r: (requests.append(r.url), every_request.append(r.url)))
    try:
        entity = _entity(server)
        _sign_in(page, server, f"/{entity}/ws")
        loss = page.locator("[data-testid=panel][data-key='train/loss']")
        expect(loss).to_have_attribute("data-points", "10", timeout=30_000)
        requests.clear()
        (workdir / "more").touch()
        expect(loss).to_have_attribute("data-points", "30", timeout=30_000)
        # Only what is new was fetched: runs changed since the last poll, and steps after those drawn.
        listings = [u for u in requests if re.search(r"/api/v1/runs/[^/]+/ws\?", u)]
        assert listings and all("updated_after=" in u for u in listings), listings
        tails = [parse_qs(urlparse(u).query) for u in requests if "/series?" in u and "key=train%2Floss" in u]
        assert tails and all(int(q["min_step"][0]) >= 10 for q in tails), tails
        # On another x axis the tail of the x series comes with it.
        page.get_by_test_id("x-axis").select_option("_runtime")
        expect(loss).to_have_attribute("data-x-label", "relative time (s)")
        expect(loss).to_have_attribute("data-state", "ready")
        requests.clear()
        (workdir / "even-more").touch()
        expect(loss).to_have_attribute("data-points", "50", timeout=30_000)
        tails = [parse_qs(urlparse(u).query) for u in requests if "/series?" in u]
        assert {q["key"][0] for q in tails} == {"train/loss", "_runtime"}, tails
        assert all(int(q["min_step"][0]) >= 30 for q in tails), tails
        page.get_by_test_id("x-axis").select_option("")
        expect(page.get_by_test_id("runs").get_by_test_id("run-row")).to_have_count(1)
        # A new run appears in the table without a reload.
        result = run_script(THREE_RUNS.replace("range(60)", "range(3)"))
        assert result.returncode == 0, result.stderr
        expect(page.get_by_test_id("runs").get_by_test_id("run-row")).to_have_count(4, timeout=30_000)
        expect(page.locator("[data-testid=panel][data-key='val/loss']")).to_have_attribute("data-run-count", "3")
        # Nothing logs now (the live run waits): the charts ask for nothing more.
        page.wait_for_timeout(3000)
        requests.clear()
        page.wait_for_timeout(5000)
        assert not [u for u in requests if "/series?" in u], requests
        # ...while the page still follows the project: the table asks for runs when the events
        # stream says one changed (a heartbeat every 10 s, so not necessarily in these 5 s).
        assert [u for u in every_request if "/api/v1/events" in u], every_request
    finally:
        (workdir / "done").touch()
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err


DEFINED_METRICS = """
import tracklet
run = tracklet.init(project="defined", name="d")
run.define_metric("epoch", hidden=True)
run.define_metric("val/*", step_metric="epoch")
run.define_metric("train/loss", summary="min,max")
for epoch in range(4):
    for _ in range(10):
        run.log({"train/loss": 1 / (epoch + 1), "epoch": epoch})
    run.log({"epoch": epoch, "val/acc": 0.5 + epoch / 10})
run.summary["best_epoch"] = 3
run.finish()
"""


def test_define_metric_sets_the_default_x_and_hides_metrics(server, run_script, page) -> None:  # type: ignore[no-untyped-def]
    result = run_script(DEFINED_METRICS)
    assert result.returncode == 0, result.stderr
    entity = _entity(server)
    _sign_in(page, server, f"/{entity}/defined")
    val = page.locator("[data-testid=panel][data-key='val/acc']")
    train = page.locator("[data-testid=panel][data-key='train/loss']")
    expect(val).to_have_attribute("data-state", "ready")
    expect(val).to_have_attribute("data-x-label", "epoch")
    expect(val).to_have_attribute("data-x-max", "3")
    expect(train).to_have_attribute("data-x-label", "step")
    # A panel per logged metric: not the hidden one, not define_metric's aggregates ("train/loss.min"),
    # not a value only set in the summary.
    keys = page.get_by_test_id("panel").evaluate_all("panels => panels.map((p) => p.dataset.key)")
    assert keys == ["train/loss", "val/acc"], keys
    expect(page.get_by_test_id("x-axis").locator("option[value='epoch']")).to_have_count(1)  # still an x axis
    # Choosing the step applies to every panel, and is in the URL.
    page.get_by_test_id("x-axis").select_option("_step")
    expect(val).to_have_attribute("data-x-label", "step")
    expect(val).to_have_attribute("data-x-max", "43")
    expect(page).to_have_url(f"{server.url}/{entity}/defined?x=_step")
