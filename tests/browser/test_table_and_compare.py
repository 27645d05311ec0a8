"""The runs table with thousands of runs (only a window of rows in the document, scrolling shows
later runs, sorting still works), comparing selected runs side by side, and the table's column
conditions, tag grouping, notes column, hidden and selected runs, all kept in the URL."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

from tests.browser.conftest import screenshot

RUNS = 2000


def create_runs(url: str, key: str, project: str, count: int,
                config: Any = lambda i: {"lr": round(0.001 * (i + 1), 6), "seed": i % 7, "arch": "mlp"},
                summary: Any = lambda i: {"loss": 1.0 / (i + 1)}) -> str:
    """`count` finished runs (`{project}-00000`, …) with a config and a summary logged as one history
    row, made through the HTTP API (a handshake and one record batch each, several at a time); returns
    their entity."""
    from tracklet.api.transport import Transport
    from tracklet.protocol import RecordBatch, RunHandshake
    from tracklet.runlog.records import RecordType, encode, encode_history

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
                       encode_history(0, 1.7e9 + i + 1, True, summary(i)),
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
    series: list[str] = []
    page.on("request", lambda r: series.append(r.url) if "/series?" in r.url else None)
    _sign_in(page, server, f"/{entity}/big")
    runs = page.get_by_test_id("runs")
    expect(page.get_by_test_id("runs-shown")).to_have_text(f"{RUNS} of {RUNS} runs", timeout=30_000)
    expect(runs).to_have_attribute("data-rows", str(RUNS))
    rows = runs.locator("tr[data-testid=run-row]")
    expect(rows.first).to_be_visible()
    # Only a window of rows is in the document.
    rendered = rows.count()
    assert 10 <= rendered <= 100, rendered

    # The charts draw the first 100 runs the table shows, and say so.
    expect(page.get_by_test_id("runs-capped")).to_have_text(
        f"Charts draw the first 100 of the {RUNS} runs shown, in table order.")
    panel = page.locator("[data-testid=panel][data-key='loss']")
    panel.scroll_into_view_if_needed()
    expect(panel).to_have_attribute("data-state", "ready")
    asked = [parse_qs(urlparse(u).query)["runs"][0].split(",") for u in series if "key=loss" in u]
    assert asked and all(len(a) == 100 for a in asked)
    assert asked[0][:3] == _row_ids(page)[:3]  # in table order
    page.get_by_test_id("runs-scroll").scroll_into_view_if_needed()

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


def test_conditions_narrow_the_listing_on_the_server(server, page) -> None:  # type: ignore[no-untyped-def]
    """The free-text filter and the conditions go to the server as a filter document, so the listing
    answers only the runs that pass (found among all of a project's runs, not only the newest the page
    holds), and never leaves out a run the table shows: a number in a column of text, NaN."""
    from urllib.parse import quote

    opts = ["adam", "sgd", 4]
    entity = create_runs(server.url, server.admin_key, "srv", 30,
                         config=lambda i: {"lr": round(0.001 * (i + 1), 6), "opt": opts[i % 3]},
                         summary=lambda i: {"loss": float("nan") if i % 5 == 0 else 1.0 / (i + 1)})
    _sign_in(page, server, f"/{entity}/srv")
    expect(page.get_by_test_id("runs-shown")).to_have_text("30 of 30 runs")

    def listed(query: str, expected: list[int], exact: bool = True) -> None:
        with page.expect_response(lambda r: f"/runs/{entity}/srv?" in r.url and "filters=" in r.url) as answer:
            page.goto(f"{server.url}/{entity}/srv?{query}")
        found = {run["run_id"] for run in answer.value.json()}
        wanted = [f"srv-{i:05d}" for i in expected]
        assert found >= set(wanted), (query, sorted(set(wanted) - found))
        if exact:
            assert found == set(wanted), (query, sorted(found - set(wanted)))
        else:
            assert len(found) < 30, query  # wider than the table, but still narrowed
        expect(page.get_by_test_id("runs-shown")).to_have_text(f"{len(wanted)} of 30 runs")
        assert sorted(_row_ids(page)) == wanted, query

    listed("f=" + quote("config.opt~eq~adam"), [i for i in range(30) if i % 3 == 0])
    listed("f=" + quote("config.opt~eq~4"), [i for i in range(30) if i % 3 == 2])
    # "contains" also reads a number's text in the table: the server keeps the numbers for it to judge.
    listed("f=" + quote("config.opt~contains~AD"), [i for i in range(30) if i % 3 == 0], exact=False)
    listed("f=" + quote("summary.loss~eq~NaN"), [i for i in range(30) if i % 5 == 0])
    listed("f=" + quote("summary.loss~gt~0.05"), [i for i in range(30) if i % 5 and 1 / (i + 1) > 0.05])
    listed("q=srv-0001&f=" + quote("config.lr~ge~0.016"), [15, 16, 17, 18, 19])

    # Typing a condition narrows the listing a moment later; removing it lists every run again.
    page.goto(f"{server.url}/{entity}/srv")
    expect(page.get_by_test_id("runs-shown")).to_have_text("30 of 30 runs")
    with page.expect_response(lambda r: "filters=" in r.url) as answer:
        page.get_by_test_id("run-filter").fill("srv-00007")
    assert [run["run_id"] for run in answer.value.json()] == ["srv-00007"]
    expect(page.get_by_test_id("runs-shown")).to_have_text("1 of 30 runs")
    with page.expect_response(lambda r: f"/runs/{entity}/srv?" in r.url and "filters=" not in r.url) as answer:
        page.get_by_test_id("run-filter").fill("")
    assert len(answer.value.json()) == 30
    expect(page.get_by_test_id("runs-shown")).to_have_text("30 of 30 runs")


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


# Four runs made by the SDK: tags, notes and a learning rate to filter on. One run id holds an
# "&", which the URL must encode (the SDK refuses commas in ids; route.test.ts covers those).
TAGGED_RUNS = """
import tracklet
for run_id, name, lr, tags, notes in (
        ("alpha-1", "alpha", 0.001, ["base"], "Baseline run\\nwith a second line"),
        ("beta&2", "beta", 0.01, ["sweep", "best"], None),
        ("gamma-3", "gamma", 0.1, ["sweep"], None),
        ("delta-4", "delta", 0.5, [], None)):
    run = tracklet.init(project="tbl", id=run_id, name=name, config={"lr": lr}, tags=tags, notes=notes)
    for step in range(5):
        run.log({"loss": lr * (5 - step)})
    run.finish()
"""


def _tagged_workspace(server, run_script, page) -> str:  # type: ignore[no-untyped-def]
    from tests.conftest import api

    result = run_script(TAGGED_RUNS)
    assert result.returncode == 0, result.stderr
    with api(server) as client:
        entity: str = client.get("/viewer").json()["default_entity"]
    _sign_in(page, server, f"/{entity}/tbl")
    expect(page.get_by_test_id("runs").get_by_test_id("run-row")).to_have_count(4)
    return entity


def _shown_names(page) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(page.get_by_test_id("runs").get_by_test_id("run-name").all_inner_texts())


def _row(page, name: str):  # type: ignore[no-untyped-def]
    return page.get_by_test_id("runs").locator("tr[data-testid=run-row]", has=page.get_by_test_id("run-name").get_by_text(name, exact=True))


def test_column_conditions_filter_rows_and_live_in_the_url(server, run_script, page) -> None:  # type: ignore[no-untyped-def]
    entity = _tagged_workspace(server, run_script, page)
    runs = page.get_by_test_id("runs")
    rows = runs.get_by_test_id("run-row")
    loss = page.locator("[data-testid=panel][data-key='loss']")
    expect(loss).to_have_attribute("data-run-count", "4")

    # config.lr > 0.005 (typed as text first: a non-number is ignored, with a hint).
    page.get_by_test_id("add-filter").click()
    first = page.get_by_test_id("filter-condition").nth(0)
    first.get_by_test_id("filter-column").select_option("config.lr")
    first.get_by_test_id("filter-op").select_option("gt")
    first.get_by_test_id("filter-value").fill("abc")
    expect(first.get_by_test_id("filter-hint")).to_contain_text("Not a number")
    expect(rows).to_have_count(4)
    first.get_by_test_id("filter-value").fill("0.005")
    expect(first.get_by_test_id("filter-hint")).to_have_text("")
    expect(rows).to_have_count(3)
    assert _shown_names(page) == ["beta", "delta", "gamma"]
    expect(page.get_by_test_id("runs-shown")).to_have_text("3 of 4 runs")

    # AND tags has sweep.
    page.get_by_test_id("add-filter").click()
    second = page.get_by_test_id("filter-condition").nth(1)
    second.get_by_test_id("filter-column").select_option("tags")
    expect(second.get_by_test_id("filter-op")).to_have_value("has")
    second.get_by_test_id("filter-value").fill("sweep")
    expect(rows).to_have_count(2)
    assert _shown_names(page) == ["beta", "gamma"]
    expect(loss).to_have_attribute("data-run-count", "2")  # the charts follow the table
    expect(page).to_have_url(f"{server.url}/{entity}/tbl?f=config.lr~gt~0.005&f=tags~has~sweep")

    # The URL alone restores the same rows and conditions.
    page.reload()
    expect(rows).to_have_count(2)
    assert _shown_names(page) == ["beta", "gamma"]
    conditions = page.get_by_test_id("filter-condition")
    expect(conditions).to_have_count(2)
    expect(conditions.nth(0).get_by_test_id("filter-column")).to_have_value("config.lr")
    expect(conditions.nth(0).get_by_test_id("filter-op")).to_have_value("gt")
    expect(conditions.nth(0).get_by_test_id("filter-value")).to_have_value("0.005")
    expect(loss).to_have_attribute("data-run-count", "2")
    screenshot(page, "runs-table-conditions")

    # Each condition is removable.
    conditions.nth(1).get_by_test_id("filter-remove").click()
    expect(rows).to_have_count(3)
    conditions.nth(0).get_by_test_id("filter-remove").click()
    expect(rows).to_have_count(4)
    expect(page).to_have_url(f"{server.url}/{entity}/tbl")

    # A condition the UI cannot apply (from an edited URL) is shown as ignored, not obeyed.
    page.goto(f"{server.url}/{entity}/tbl?f=config.lr~bogus~1&f=state~is~finished")
    expect(rows).to_have_count(4)
    expect(page.get_by_test_id("filter-condition").nth(0).get_by_test_id("filter-hint")).to_contain_text("Unknown operator")
    expect(page.get_by_test_id("filter-condition").nth(1).get_by_test_id("filter-value")).to_have_value("finished")


def test_group_by_tags_and_notes_column(server, run_script, page) -> None:  # type: ignore[no-untyped-def]
    entity = _tagged_workspace(server, run_script, page)
    runs = page.get_by_test_id("runs")

    # Notes: a column by default, one line in the cell, the whole text on hover.
    expect(runs.get_by_test_id("col-notes")).to_be_visible()
    notes = _row(page, "alpha").locator("td[data-column=notes]")
    expect(notes).to_have_text("Baseline run …")
    expect(notes).to_have_attribute("title", "Baseline run\nwith a second line")
    expect(_row(page, "gamma").locator("td[data-column=notes]")).to_have_text("–")

    # One group per tag; beta (sweep, best) is in two of them.
    page.get_by_test_id("group-by").select_option("tags")
    headers = runs.get_by_test_id("group-header")
    expect(headers).to_have_count(4)
    assert sorted(headers.all_inner_texts()) == sorted(["▾ base (1)", "▾ sweep (2)", "▾ best (1)", "▾ (none) (1)"])
    expect(runs.get_by_test_id("run-row")).to_have_count(5)
    expect(page.get_by_test_id("runs-shown")).to_have_text("4 of 4 runs")
    sweep = headers.filter(has_text="sweep")
    sweep.get_by_role("button").click()
    expect(runs.get_by_test_id("run-row")).to_have_count(3)
    sweep.get_by_role("button").click()
    # The charts draw a mean line per tag group.
    loss = page.locator("[data-testid=panel][data-key='loss']")
    expect(loss).to_have_attribute("data-lines", "4")
    # Unticking beta in one group unticks its other row too, and its only group leaves the charts.
    betas = _row(page, "beta")
    expect(betas).to_have_count(2)
    betas.nth(0).get_by_test_id("run-visible").uncheck()
    expect(betas.nth(1).get_by_test_id("run-visible")).not_to_be_checked()
    expect(loss).to_have_attribute("data-lines", "3")
    betas.nth(1).get_by_test_id("run-visible").check()
    expect(betas.nth(0).get_by_test_id("run-visible")).to_be_checked()
    expect(loss).to_have_attribute("data-lines", "4")
    expect(page).to_have_url(f"{server.url}/{entity}/tbl?group=tags")
    page.reload()
    expect(runs.get_by_test_id("group-header")).to_have_count(4)
    screenshot(page, "runs-table-tag-groups")


def test_hidden_and_selected_runs_survive_a_reload(server, run_script, page) -> None:  # type: ignore[no-untyped-def]
    entity = _tagged_workspace(server, run_script, page)
    loss = page.locator("[data-testid=panel][data-key='loss']")
    expect(loss).to_have_attribute("data-run-count", "4")
    _row(page, "beta").get_by_test_id("run-visible").uncheck()
    expect(loss).to_have_attribute("data-run-count", "3")
    _row(page, "alpha").get_by_test_id("run-select").check()
    _row(page, "beta").get_by_test_id("run-select").check()
    compare = page.get_by_test_id("compare-runs")
    expect(compare).to_have_text("Compare (2)")
    # Ids are encoded one by one: beta's "&" stays part of its id.
    expect(page).to_have_url(f"{server.url}/{entity}/tbl?hide=beta%262&sel=alpha-1,beta%262")

    # A column change is kept too (and only once it differs from the defaults).
    page.get_by_test_id("column-chooser").locator("summary").click()
    page.get_by_test_id("column-chooser").locator("input[data-column='notes']").uncheck()
    expect(page.get_by_test_id("runs").get_by_test_id("col-notes")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"[?&]cols=name,state,"))

    page.reload()
    expect(_row(page, "beta").get_by_test_id("run-visible")).not_to_be_checked()
    expect(_row(page, "beta")).to_have_class(re.compile(r"\bhidden-run\b"))
    expect(_row(page, "alpha").get_by_test_id("run-visible")).to_be_checked()
    expect(loss).to_have_attribute("data-run-count", "3")
    expect(loss).not_to_have_attribute("data-runs", re.compile(r"beta"))
    expect(_row(page, "alpha").get_by_test_id("run-select")).to_be_checked()
    expect(_row(page, "beta").get_by_test_id("run-select")).to_be_checked()
    expect(_row(page, "gamma").get_by_test_id("run-select")).not_to_be_checked()
    expect(compare).to_have_text("Compare (2)")
    expect(page.get_by_test_id("runs").get_by_test_id("col-notes")).to_have_count(0)
    expect(page.get_by_test_id("runs").get_by_test_id("col-state")).to_be_visible()

    # Ticking the notes column again goes back to the defaults: no cols= in the URL.
    page.get_by_test_id("column-chooser").locator("summary").click()
    page.get_by_test_id("column-chooser").locator("input[data-column='notes']").check()
    expect(page.get_by_test_id("runs").get_by_test_id("col-notes")).to_be_visible()
    expect(page).to_have_url(f"{server.url}/{entity}/tbl?hide=beta%262&sel=alpha-1,beta%262")
    compare.click()
    expect(page.get_by_test_id("compare").get_by_test_id("compare-run")).to_have_text(["alpha", "beta"])


def test_a_live_update_keeps_the_focus_in_a_condition(server, run_script, page) -> None:  # type: ignore[no-untyped-def]
    """A run that starts while someone types a condition value brings new columns: the typing goes on."""
    _tagged_workspace(server, run_script, page)
    page.get_by_test_id("add-filter").click()
    condition = page.get_by_test_id("filter-condition").nth(0)
    condition.get_by_test_id("filter-column").select_option("config.lr")
    condition.get_by_test_id("filter-op").select_option("gt")
    value = condition.get_by_test_id("filter-value")
    value.click()
    page.keyboard.type("0.0")
    result = run_script("""
        import tracklet
        tracklet.init(project="tbl", name="epsilon", config={"lr": 0.5, "momentum": 0.9}).finish()
        """)
    assert result.returncode == 0, result.stderr
    expect(page.get_by_test_id("runs-shown")).to_have_text("5 of 5 runs", timeout=30_000)
    expect(page.get_by_test_id("column-chooser").locator("[data-column='config.momentum']")).to_have_count(1)
    expect(value).to_be_focused()
    page.keyboard.type("05")
    expect(value).to_have_value("0.005")
    expect(page.get_by_test_id("runs-shown")).to_have_text("4 of 5 runs")
