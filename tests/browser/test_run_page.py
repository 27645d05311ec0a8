"""The run page: overview, config (searchable), summary, charts, system metrics, console (a live
tail while the run runs), files with download, and tags and notes edited in the UI."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.conftest import api

FINISHED = """
import tracklet
run = tracklet.init(project="run-page", name="first-run", tags=["ui", "first"], save_code=True,
                    config={"optimizer": {"name": "adam", "lr": 0.003}, "epochs": 2, "model": {"depth": 4}})
for step in range(20):
    run.log({"loss": 1.0 / (step + 1), "acc": 0.875 if step == 19 else step / 40})
    if step % 5 == 0:
        print(f"epoch {step // 5} done")
run.finish()
"""

# Keeps logging and echoing what it reads until its stdin closes; its first output line is the run id.
LIVE = """
import sys, threading, tracklet
run = tracklet.init(project="run-page", name="live-run")
print(f"RUN_ID={run.id}", flush=True)
received = []
done = threading.Event()

def read():
    for line in sys.stdin:
        received.append(line.strip())
    done.set()

threading.Thread(target=read, daemon=True).start()
step = 0
while not done.wait(0.2):
    run.log({"x": step})
    while received:
        print(f"echo {received.pop(0)}", flush=True)
    step += 1
run.finish()
"""


def _sign_in(page, server, path: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/signin?next={path}")
    page.get_by_test_id("api-key").fill(server.admin_key)
    page.get_by_test_id("signin-submit").click()


def _git_repo(workdir: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", *args], cwd=workdir,
                       check=True, capture_output=True)

    git("init", "-q")
    (workdir / "README.md").write_text("demo\n")
    git("add", "README.md")
    git("commit", "-q", "-m", "first")


def test_run_page_of_a_finished_run(server, run_script, workdir, page) -> None:  # type: ignore[no-untyped-def]
    _git_repo(workdir)
    result = run_script(FINISHED)
    assert result.returncode == 0, result.stderr
    with api(server) as client:
        entity = client.get("/viewer").json()["default_entity"]
        (run,) = client.get(f"/runs/{entity}/run-page").json()
    commit = run["metadata"]["git"]["commit"]
    run_path = f"/{entity}/run-page/runs/{run['run_id']}"

    # From the project's run table, the run's name links to its page.
    _sign_in(page, server, f"/{entity}/run-page")
    page.get_by_role("link", name="first-run", exact=True).click()
    expect(page).to_have_url(server.url + run_path)

    overview = page.get_by_test_id("overview")
    expect(overview.get_by_test_id("run-state")).to_have_text("finished")
    expect(overview.get_by_test_id("overview-host")).to_contain_text(run["metadata"]["host"])
    expect(overview.get_by_test_id("overview-python")).to_contain_text(run["metadata"]["python"])
    expect(overview.get_by_test_id("overview-command")).to_contain_text("train.py")
    expect(overview.get_by_test_id("overview-git")).to_contain_text(commit[:12])
    expect(page.get_by_test_id("run-title")).to_contain_text("first-run")

    config = page.get_by_test_id("config")
    expect(config.locator('tr[data-path="optimizer.lr"]')).to_contain_text("0.003")
    expect(config.locator('tr[data-path="epochs"]')).to_contain_text("2")
    config.get_by_test_id("config-search").fill("lr")
    expect(config.locator('tr[data-path="optimizer.lr"]')).to_be_visible()
    expect(config.locator('tr[data-path="epochs"]')).to_have_count(0)
    expect(config.locator('tr[data-path="model.depth"]')).to_have_count(0)
    config.get_by_test_id("config-search").fill("")
    expect(config.locator('tr[data-path="epochs"]')).to_have_count(1)

    expect(page.get_by_test_id("summary").locator('tr[data-path="acc"]')).to_contain_text("0.875")

    charts = page.get_by_test_id("section-charts")
    expect(charts.get_by_test_id("panel")).to_have_count(2)
    for key in ("acc", "loss"):
        panel = charts.locator(f'[data-testid=panel][data-key="{key}"]')
        panel.scroll_into_view_if_needed()  # panels load as they come into view
        expect(panel).to_have_attribute("data-state", "ready")
        expect(panel).to_have_attribute("data-run-count", "1")
        expect(panel.locator("canvas")).to_have_count(1)
    expect(page.get_by_test_id("system-charts").locator("canvas").first).to_be_visible()

    console = page.get_by_test_id("console")
    for epoch in range(4):
        expect(console).to_contain_text(f"epoch {epoch} done")

    files = page.get_by_test_id("files")
    row = files.locator("tr", has=page.get_by_test_id("file-path").get_by_text("config.yaml", exact=True))
    expect(row.get_by_test_id("file-download")).to_be_visible()
    expect(files).to_contain_text("code/train.py")
    with page.expect_download() as download:
        row.get_by_test_id("file-download").click()
    assert download.value.suggested_filename == "config.yaml"
    assert "adam" in Path(download.value.path()).read_text()
    screenshot(page, "run")

    # Tags and notes edited here are saved on the server.
    page.get_by_role("button", name="Remove tag first").click()
    expect(page.get_by_test_id("tags-status")).to_have_text("Saved")
    page.get_by_test_id("tag-input").fill("edited")
    page.get_by_test_id("tag-input").press("Enter")
    expect(page.get_by_test_id("tags").get_by_test_id("tag")).to_have_count(2)
    expect(page.get_by_test_id("tags")).to_contain_text("edited")
    expect(page.get_by_test_id("tags-status")).to_have_text("Saved")
    page.get_by_test_id("notes").fill("tried a higher lr")
    page.get_by_test_id("notes-save").click()
    expect(page.get_by_test_id("notes-status")).to_have_text("Saved")
    with api(server) as client:
        saved = client.get(f"/runs/{entity}/run-page/{run['run_id']}").json()
    assert saved["tags"] == ["ui", "edited"]
    assert saved["notes"] == "tried a higher lr"
    page.reload()
    expect(page.get_by_test_id("notes")).to_have_value("tried a higher lr")
    expect(page.get_by_test_id("tags").get_by_test_id("tag")).to_have_count(2)


def test_console_of_a_running_run_tails_without_reload(server, workdir, page) -> None:  # type: ignore[no-untyped-def]
    script = workdir / "live.py"
    script.write_text(textwrap.dedent(LIVE), encoding="utf-8")
    with subprocess.Popen([sys.executable, str(script)], cwd=workdir, env=dict(os.environ), text=True,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
        try:
            _watch_live_run(server, page, proc)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


def _watch_live_run(server, page, proc: subprocess.Popen[str]) -> None:  # type: ignore[no-untyped-def]
    assert proc.stdout is not None and proc.stdin is not None
    first = proc.stdout.readline().strip()
    assert first.startswith("RUN_ID="), first
    run_id = first.removeprefix("RUN_ID=")
    with api(server) as client:
        entity = client.get("/viewer").json()["default_entity"]
    _sign_in(page, server, f"/{entity}/run-page/runs/{run_id}")
    expect(page.get_by_test_id("run-state")).to_have_text("running")
    console = page.get_by_test_id("console")
    expect(console).to_contain_text(f"RUN_ID={run_id}")

    proc.stdin.write("hello from the test\n")
    proc.stdin.flush()
    expect(console).to_contain_text("echo hello from the test")
    proc.stdin.write("and another line\n")
    proc.stdin.flush()
    expect(console).to_contain_text("echo and another line")

    # Its chart grows as it logs, without a reload.
    panel = page.get_by_test_id("section-charts").locator('[data-testid=panel][data-key="x"]')
    panel.scroll_into_view_if_needed()
    expect(panel).to_have_attribute("data-state", "ready")
    drawn = panel.get_attribute("data-points")
    expect(panel).not_to_have_attribute("data-points", drawn or "", timeout=15_000)

    proc.stdin.close()
    assert proc.wait(timeout=60) == 0
    expect(page.get_by_test_id("run-state")).to_have_text("finished")
