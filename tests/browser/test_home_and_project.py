"""Sign in, see a project's run count on Home, open it: both runs and a chart of their metric."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import screenshot

TWO_RUNS = """
import math, tracklet
for name in ("alpha", "beta"):
    run = tracklet.init(project="ui-demo", name=name, tags=["ui", name])
    for step in range(100):
        run.log({"loss": math.exp(-step / 30) + (0.1 if name == "beta" else 0.0), "acc": step / 100})
    run.finish()
"""


def test_sign_in_home_and_project_page(server, run_script, page) -> None:  # type: ignore[no-untyped-def]
    result = run_script(TWO_RUNS)
    assert result.returncode == 0, result.stderr

    page.goto(server.url + "/")
    expect(page.get_by_test_id("signin-form")).to_be_visible()
    screenshot(page, "signin")
    page.get_by_test_id("api-key").fill("not-a-key")
    page.get_by_test_id("signin-submit").click()
    expect(page.get_by_test_id("signin-error")).to_be_visible()
    page.get_by_test_id("api-key").fill(server.admin_key)
    page.get_by_test_id("signin-submit").click()

    row = page.get_by_test_id("projects").locator("tr", has_text="ui-demo")
    expect(row.get_by_test_id("run-count")).to_have_text("2")
    screenshot(page, "home")

    row.get_by_role("link", name="ui-demo").click()
    runs = page.get_by_test_id("runs")
    expect(runs.get_by_test_id("run-name")).to_have_count(2)
    expect(runs).to_contain_text("alpha")
    expect(runs).to_contain_text("beta")
    expect(page.get_by_test_id("chart").locator("canvas")).to_have_count(2)  # a panel per metric: acc, loss

    # Searching the panels puts the search in the URL, which can be shared: a reload shows the same charts.
    page.get_by_test_id("panel-search").fill("loss")
    expect(page).to_have_url(f"{server.url}/{_entity(server)}/ui-demo?panels=loss")
    page.reload()
    expect(page.get_by_test_id("panel-search")).to_have_value("loss")
    expect(page.locator("[data-testid=chart]:visible canvas")).to_have_count(1)
    screenshot(page, "project")

    page.get_by_test_id("signout").click()
    expect(page.get_by_test_id("signin-form")).to_be_visible()


def test_unknown_paths_get_the_app_and_unknown_api_paths_a_json_404(server) -> None:  # type: ignore[no-untyped-def]
    html = httpx.get(f"{server.url}/some/deep/link")
    assert html.status_code == 200 and "<div id=\"app\">" in html.text
    assert "default-src 'self'" in html.headers["content-security-policy"]
    api = httpx.get(f"{server.url}/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json()["status"] == 404
    assert httpx.get(f"{server.url}/assets/missing.js").status_code == 404


def _entity(server) -> str:  # type: ignore[no-untyped-def]
    response = httpx.get(f"{server.url}/api/v1/viewer", headers={"Authorization": f"Bearer {server.admin_key}"})
    return response.json()["default_entity"]
