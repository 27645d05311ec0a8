"""The runs table with thousands of runs (only a window of rows in the document, scrolling shows
later runs, sorting still works) and comparing selected runs side by side."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import screenshot

RUNS = 2000


def create_runs(url: str, key: str, project: str, count: int,
                config: Any = lambda i: {"lr": round(0.001 * (i + 1), 6), "seed": i % 7, "arch": "mlp"},
                summary: Any = lambda i: {"loss": 1.0 / (i + 1)}) -> str:
    """`count` finished runs (`{project}-00000`, …) with a config and a summary, made through the
    HTTP API (a handshake and one record batch each, several at a time); returns their entity."""
    from tracklet.api.transport import Transport
    from tracklet.protocol import RecordBatch, RunHandshake
    from tracklet.runlog.records import RecordType, encode

    with Transport(url, key) as api:
        entity = api.call("POST", "/runs", RunHandshake(project=project, run_id=f"{project}-00000"))["entity"]

        def one(i: int) -> None:
            run_id = f"{project}-{i:05d}"
            if i:
                api.call("POST", "/runs", RunHandshake(project=project, run_id=run_id))
            start = {"run_id": run_id, "project": project, "entity": entity, "mode": "online", "name": run_id,
                     "notes": None, "tags": [], "group": "", "job_type": "", "start_time": 1.7e9 + i,
                     "starting_step": 0, "runtime_offset": 0.0, "resumed": False, "resume": None, "branch": None,
                     "restore": None}
            records = [encode(RecordType.START, start), encode(RecordType.CONFIG, {"set": config(i)}),
                       encode(RecordType.SUMMARY, {"set": [[[k], v] for k, v in summary(i).items()], "remove": []}),
                       encode(RecordType.EXIT, {"exit_code": 0, "timestamp": 1.7e9 + i + 10, "runtime": 10.0})]
            api.send_records(f"/runs/{entity}/{project}/{run_id}/records", RecordBatch(first_seq=1, records=records))

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(one, range(count)))
    return entity


def _sign_in(page, server, path: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url + path)
    page.get_by_test_id("api-key").fill(server.admin_key)
    page.get_by_test_id("signin-submit").click()


def _row_ids(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.get_by_test_id("runs").locator("tr[data-testid=run-row]").evaluate_all(
        "rows => rows.map(r => r.dataset.runId)")


def test_thousands_of_runs_render_a_window_and_scroll(server, page) -> None:  # type: ignore[no-untyped-def]
    entity = create_runs(server.url, server.admin_key, "big", RUNS)
    _sign_in(page, server, f"/{entity}/big")
    runs = page.get_by_test_id("runs")
    expect(page.get_by_test_id("runs-shown")).to_have_text(f"{RUNS} of {RUNS} runs", timeout=30_000)
    expect(runs).to_have_attribute("data-rows", str(RUNS))
    rows = runs.locator("tr[data-testid=run-row]")
    expect(rows.first).to_be_visible()
    # Only a window of rows is in the document.
    rendered = rows.count()
    assert 10 <= rendered <= 100, rendered

    # Sorting by a config column sorts all the runs, not just the window.
    header = runs.get_by_test_id("col-config.lr")
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    expect(rows.first).to_have_attribute("data-run-id", "big-00000")
    ids = _row_ids(page)
    assert ids[:3] == ["big-00000", "big-00001", "big-00002"]
    assert f"big-{RUNS - 1:05d}" not in ids

    # Scrolling to the end shows the last runs (and still only a window of rows).
    page.get_by_test_id("runs-scroll").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    expect(runs.locator(f"tr[data-run-id='big-{RUNS - 1:05d}']")).to_be_visible()
    assert rows.count() <= 100
    assert "big-00000" not in _row_ids(page)

    page.get_by_test_id("runs-scroll").evaluate("el => { el.scrollTop = 0; }")
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(rows.first).to_have_attribute("data-run-id", f"big-{RUNS - 1:05d}")

    # The filter and grouping work over every run.
    page.get_by_test_id("run-filter").fill("big-01234")
    expect(rows).to_have_count(1)
    page.get_by_test_id("run-filter").fill("")
    page.get_by_test_id("group-by").select_option("config.seed")
    # (Groups are rows too: only those in the window are in the document.)
    headers = runs.get_by_test_id("group-header")
    expect(headers.first).to_contain_text("(286)")
    expect(headers).to_have_count(1)
    headers.first.get_by_role("button").click()
    expect(headers).to_have_count(2)
    expect(headers.nth(1)).to_contain_text("(28")
    screenshot(page, "runs-table-virtual")


def test_compare_selected_runs(server, page) -> None:  # type: ignore[no-untyped-def]
    entity = create_runs(server.url, server.admin_key, "cmp", 3,
                         config=lambda i: {"lr": [0.1, 0.2, 0.1][i], "layers": 4, "opt": {"name": "adam"}},
                         summary=lambda i: {"loss": 0.5})
    _sign_in(page, server, f"/{entity}/cmp")
    runs = page.get_by_test_id("runs")
    compare = page.get_by_test_id("compare-runs")
    expect(compare).to_be_disabled()
    runs.locator("tr[data-run-id='cmp-00000']").get_by_test_id("run-select").check()
    expect(compare).to_be_disabled()
    runs.locator("tr[data-run-id='cmp-00001']").get_by_test_id("run-select").check()
    expect(compare).to_be_enabled()
    expect(compare).to_have_text("Compare (2)")
    compare.click()

    expect(page).to_have_url(f"{server.url}/{entity}/cmp/compare?runs=cmp-00000,cmp-00001")
    table = page.get_by_test_id("compare")
    expect(table.get_by_test_id("compare-run")).to_have_text(["cmp-00000", "cmp-00001"])
    lr = table.locator("tr[data-key='config.lr']")
    expect(lr).to_have_attribute("data-differs", "true")
    expect(lr).to_have_class("differs")
    expect(lr.locator("td")).to_have_text(["0.1", "0.2"])
    expect(table.locator("tr[data-key='config.layers']")).to_have_attribute("data-differs", "false")
    expect(table.locator("tr[data-key='config.opt.name']")).to_have_attribute("data-differs", "false")
    expect(table.locator("tr[data-key='summary.loss']")).to_have_attribute("data-differs", "false")
    page.get_by_test_id("only-differing").check()
    expect(table.locator("tr[data-key='config.layers']")).to_be_hidden()
    expect(lr).to_be_visible()
    screenshot(page, "compare")

    # The URL alone opens the page (three runs this time).
    page.goto(f"{server.url}/{entity}/cmp/compare?runs=cmp-00000,cmp-00001,cmp-00002")
    expect(page.get_by_test_id("compare").get_by_test_id("compare-run")).to_have_count(3)
