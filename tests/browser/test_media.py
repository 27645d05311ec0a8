"""Media panels in the workspace and on the run page, for media logged by real SDK scripts: images with
a step slider and captions, a histogram heat map, a table (sort, filter, image cells), video and audio
players and logged HTML in a sandboxed frame; and a run still logging, whose panels follow its steps
and fetch a file that is not on the server yet again on the next poll."""

from __future__ import annotations

import re
import shutil
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.conftest import api, start_script

# Two runs; at step s each logs a solid image of COLORS[run][s] (so the slider's step shows in the pixels).
MEDIA_RUNS = """
import numpy as np, tracklet
COLORS = {"red-green-blue": [(255, 0, 0), (0, 255, 0), (0, 0, 255)],
          "yellow-cyan-magenta": [(255, 255, 0), (0, 255, 255), (255, 0, 255)]}
rng = np.random.default_rng(3)
for name, colors in COLORS.items():
    run = tracklet.init(project="media-ui", name=name)
    for step, color in enumerate(colors):
        solid = np.zeros((16, 24, 3), np.uint8)
        solid[:, :] = color
        row = {"samples/solid": tracklet.Image(solid, caption=f"{name} at step {step}"),
               "samples/pair": [tracklet.Image(solid, caption="solid"), tracklet.Image(255 - solid, caption="inverted")],
               "weights": tracklet.Histogram(rng.normal(loc=step, size=2000), num_bins=30),
               "loss": 1 / (step + 1)}
        if step in (0, 2):
            table = tracklet.Table(columns=["id", "label", "score", "image"])
            table.add_data(3, "cat", 0.5, tracklet.Image(solid))
            table.add_data(1, "dog", 0.9, None)
            table.add_data(2, "bird", 0.1, None)
            table.add_data(4 + step, "cat food", 0.3, None)
            row["predictions"] = table
        run.log(row)
    frames = np.zeros((24, 3, 32, 48), np.uint8)
    frames[:, 1] = np.linspace(0, 255, 24, dtype=np.uint8)[:, None, None]  # green fades in
    tone = np.sin(np.linspace(0, 440 * 2 * np.pi, 8000)).astype(np.float32) * 0.3
    run.log({"clip": tracklet.Video(frames, fps=8, caption="fade"),
             "tone": tracklet.Audio(tone, sample_rate=8000, caption="440 Hz"),
             "report": tracklet.Html(f"<h1>Report of {name}</h1><p id='said'>as logged</p>"
                                     "<script>document.getElementById('said').textContent = 'ran'</script>")})
    run.finish()
"""

# Logs an image at step 0, then waits for files named "step<N>" to log step N (an image at step 2 only).
LIVE_RUN = """
import os, time, numpy as np, tracklet
run = tracklet.init(project="media-live", name="live")
def wait_for(name):
    while not os.path.exists(name):
        time.sleep(0.05)
def solid(value):
    pixels = np.zeros((8, 8, 3), np.uint8)
    pixels[:, :] = value
    return tracklet.Image(pixels, caption=f"value {value}")
run.log({"frame": solid(10), "loss": 1.0})
print("logged 0", flush=True)
wait_for("step1")
run.log({"loss": 0.5})
print("logged 1", flush=True)
wait_for("step2")
run.log({"frame": solid(200), "loss": 0.25})
print("logged 2", flush=True)
wait_for("done")
run.finish()
"""


def _sign_in(page, server, path: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/signin?next={path}")
    page.get_by_test_id("api-key").fill(server.admin_key)
    page.get_by_test_id("signin-submit").click()


def _entity(server) -> str:  # type: ignore[no-untyped-def]
    with api(server) as client:
        return client.get("/viewer").json()["default_entity"]


def _panel(page, key: str):  # type: ignore[no-untyped-def]
    panel = page.locator(f"[data-testid=media-panel][data-key='{key}']")
    panel.scroll_into_view_if_needed()  # panels load as they come into view
    return panel


def _set_step(panel, index: int) -> None:  # type: ignore[no-untyped-def]
    """Moves the panel's step slider as a user's drag does (an input event)."""
    panel.get_by_test_id("media-step").evaluate(
        "(el, i) => { el.value = String(i); el.dispatchEvent(new Event('input', { bubbles: true })); }", index)


def _image_colors(panel) -> list[list[int]]:  # type: ignore[no-untyped-def]
    """The decoded colour of each run's image (its centre pixel), in the order shown."""
    return panel.get_by_test_id("media-image").evaluate_all("""imgs => imgs.map((img) => {
        const canvas = document.createElement("canvas");
        canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
        const ctx = canvas.getContext("2d"); ctx.drawImage(img, 0, 0);
        return [...ctx.getImageData(img.naturalWidth >> 1, img.naturalHeight >> 1, 1, 1).data.slice(0, 3)];
    })""")


def _loaded(panel, count: int) -> None:  # type: ignore[no-untyped-def]
    expect(panel).to_have_attribute("data-state", "ready")
    cells = panel.get_by_test_id("media-cell")
    expect(cells).to_have_count(count)
    for i in range(count):
        expect(cells.nth(i)).to_have_attribute("data-state", "ready")
    panel.get_by_test_id("media-image").evaluate_all("imgs => Promise.all(imgs.map((i) => i.decode()))")


def _table_labels(table) -> list[str]:  # type: ignore[no-untyped-def]
    return table.get_by_test_id("media-table-row").locator("td:nth-child(2)").all_inner_texts()


def test_media_panels_in_the_workspace_and_on_the_run_page(server, run_script, page) -> None:  # type: ignore[no-untyped-def]
    result = run_script(MEDIA_RUNS, timeout=180)
    assert result.returncode == 0, result.stderr
    entity = _entity(server)
    _sign_in(page, server, f"/{entity}/media-ui")

    # A panel per media key, in sections by prefix; none for the numeric key, which is a chart.
    expect(page.get_by_test_id("media-panel")).to_have_count(7)
    keys = page.get_by_test_id("media-panel").evaluate_all("ps => ps.map((p) => [p.dataset.key, p.dataset.type])")
    assert sorted(keys) == [["clip", "video-file"], ["predictions", "table-file"], ["report", "html-file"],
                            ["samples/pair", "images"], ["samples/solid", "image-file"], ["tone", "audio-file"],
                            ["weights", "histogram"]], keys
    expect(page.locator("[data-testid=media-section][data-section='samples'] [data-key='samples/solid']")).to_have_count(1)
    expect(page.locator("[data-testid=panel][data-key='loss']")).to_have_count(1)

    # Images: both runs side by side at the newest step, with their names and captions.
    images = _panel(page, "samples/solid")
    _loaded(images, 2)
    expect(images.get_by_test_id("media-step-value")).to_have_text("2")
    runs = images.get_by_test_id("media-run").all_inner_texts()
    assert sorted(r.strip() for r in runs) == ["red-green-blue", "yellow-cyan-magenta"], runs
    order = [r.strip() for r in runs]
    expected = {"red-green-blue": [[255, 0, 0], [0, 255, 0], [0, 0, 255]],
                "yellow-cyan-magenta": [[255, 255, 0], [0, 255, 255], [255, 0, 255]]}
    assert _image_colors(images) == [expected[name][2] for name in order]
    expect(images.get_by_test_id("media-caption")).to_have_text([f"{name} at step 2" for name in order])
    # The slider shows another step: other pixels, other captions.
    src_before = images.get_by_test_id("media-image").first.get_attribute("src")
    _set_step(images, 0)
    expect(images.get_by_test_id("media-step-value")).to_have_text("0")
    expect(images.get_by_test_id("media-caption")).to_have_text([f"{name} at step 0" for name in order])
    _loaded(images, 2)
    assert _image_colors(images) == [expected[name][0] for name in order]
    assert images.get_by_test_id("media-image").first.get_attribute("src") != src_before
    # The object URL of what is no longer shown was revoked.
    assert page.evaluate("u => fetch(u).then(() => 'alive', () => 'revoked')", src_before) == "revoked"
    _set_step(images, 1)
    expect(images.get_by_test_id("media-caption")).to_have_text([f"{name} at step 1" for name in order])
    _loaded(images, 2)
    assert _image_colors(images) == [expected[name][1] for name in order]

    # A list of images: all of them, each with its caption.
    pair = _panel(page, "samples/pair")
    _loaded(pair, 2)
    expect(pair.get_by_test_id("media-caption")).to_have_text(["solid", "inverted"] * 2)
    assert _image_colors(pair)[:2] == [expected[order[0]][2], [255 - c for c in expected[order[0]][2]]]

    # The histogram: a heat map per run, drawn.
    weights = _panel(page, "weights")
    expect(weights).to_have_attribute("data-state", "ready")
    expect(weights.get_by_test_id("media-heatmap")).to_have_count(2)
    painted = weights.get_by_test_id("media-heatmap").first.evaluate("""c => {
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250) n++;
        return n / (c.width * c.height);
    }""")
    assert painted > 0.05, painted
    expect(weights.get_by_test_id("media-cell").first).to_have_attribute("data-steps", "3")

    # The table (logged at steps 0 and 2): sort by a header, filter, an image cell as a thumbnail.
    table_panel = _panel(page, "predictions")
    _loaded(table_panel, 2)
    expect(table_panel.get_by_test_id("media-step-value")).to_have_text("2")
    table = table_panel.get_by_test_id("media-table").first
    assert _table_labels(table) == ["cat", "dog", "bird", "cat food"]
    table.get_by_test_id("media-table-header").nth(2).get_by_role("button").click()  # score, ascending
    assert _table_labels(table) == ["bird", "cat food", "cat", "dog"]
    table.get_by_test_id("media-table-header").nth(2).get_by_role("button").click()  # descending
    assert _table_labels(table) == ["dog", "cat", "cat food", "bird"]
    expect(table.get_by_test_id("media-table-header").nth(2)).to_have_attribute("aria-sort", "descending")
    table.get_by_test_id("media-table-filter").fill("cat")
    expect(table.get_by_test_id("media-table-row")).to_have_count(2)
    expect(table.get_by_test_id("media-table-count")).to_have_text("2 of 4 rows")
    thumbnail = table.locator("td.thumbnail img[data-testid=media-image]")
    expect(thumbnail).to_have_count(1)
    thumbnail.evaluate("img => img.decode()")
    # The earlier step's table, with the run's filter kept.
    _set_step(table_panel, 0)
    expect(table_panel.get_by_test_id("media-step-value")).to_have_text("0")
    expect(table.get_by_test_id("media-table-filter")).to_have_value("cat")
    expect(table.get_by_test_id("media-table-row").locator("td:nth-child(1)")).to_have_text(["3", "4"])

    # Video plays; audio loads.
    video = _panel(page, "clip").get_by_test_id("media-video").first
    expect(video).to_have_attribute("src", re.compile(r"^blob:"))
    started = video.evaluate("""async (v) => {
        v.muted = true;
        await v.play();
        const t0 = v.currentTime;
        await new Promise((r) => setTimeout(r, 600));
        return { ready: v.readyState, t0, t1: v.currentTime, width: v.videoWidth };
    }""")
    assert started["ready"] >= 2 and started["t1"] > started["t0"] and started["width"] == 48, started
    expect(_panel(page, "clip").get_by_test_id("media-caption").first).to_have_text("fade")
    audio = _panel(page, "tone").get_by_test_id("media-audio").first
    page.wait_for_function("a => a.readyState >= 1", arg=audio.element_handle())
    assert abs(audio.evaluate("a => a.duration") - 1.0) < 0.05

    # Logged HTML in a frame that runs no scripts.
    frame = _panel(page, "report").get_by_test_id("media-html").first
    expect(frame).to_have_attribute("srcdoc", re.compile(r"<h1>Report of (red-green-blue|yellow-cyan-magenta)</h1>"))
    assert frame.get_attribute("sandbox") == ""
    said = _panel(page, "report").frame_locator("[data-testid=media-html]").first.locator("#said")
    expect(said).to_have_text("as logged")  # its script did not run
    screenshot(page, "media-workspace")

    # The run page shows the same panels for its one run.
    with api(server) as client:
        run = next(r for r in client.get(f"/runs/{entity}/media-ui").json() if r["name"] == "red-green-blue")
    page.goto(f"{server.url}/{entity}/media-ui/runs/{run['run_id']}")
    section = page.get_by_test_id("section-media")
    expect(section.get_by_test_id("media-panel")).to_have_count(7)
    images = _panel(section, "samples/solid")
    _loaded(images, 1)
    assert _image_colors(images) == [[0, 0, 255]]
    _set_step(images, 1)
    expect(images.get_by_test_id("media-caption")).to_have_text(["red-green-blue at step 1"])
    _loaded(images, 1)
    assert _image_colors(images) == [[0, 255, 0]]
    for key in ("weights", "predictions", "clip", "tone", "report"):
        expect(_panel(section, key)).to_have_attribute("data-state", "ready")
    expect(_panel(section, "weights").get_by_test_id("media-heatmap")).to_have_count(1)
    expect(_panel(section, "tone").get_by_test_id("media-audio")).to_have_count(1)
    screenshot(page, "media-run-page")


def test_media_panels_follow_a_running_run_and_retry_missing_files(server, page, workdir) -> None:  # type: ignore[no-untyped-def]
    proc = start_script(workdir, LIVE_RUN)
    assert proc.stdout is not None
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        assert proc.stdout.readline().strip() == "logged 0"
        entity = _entity(server)
        # The step-0 image is on the server once its files record is: wait for it, then take it away
        # (as if not uploaded yet) before the page asks.
        for _ in range(300):
            uploaded = list(server.data_dir.rglob("media/images/*.png"))
            if uploaded:
                break
            page.wait_for_timeout(100)
        assert uploaded, "the image was not uploaded"
        (stored,) = uploaded
        hidden = stored.with_name("hidden")
        shutil.move(stored, hidden)

        _sign_in(page, server, f"/{entity}/media-live")
        frame = _panel(page, "frame")
        cell = frame.get_by_test_id("media-cell")
        expect(cell).to_have_attribute("data-state", "missing", timeout=30_000)
        expect(cell).to_contain_text("not uploaded yet")

        # The file arrives; the run logs a row (no image): the next poll fetches the file again.
        shutil.move(hidden, stored)
        requests.clear()
        (workdir / "step1").touch()
        assert proc.stdout.readline().strip() == "logged 1"
        expect(cell).to_have_attribute("data-state", "ready", timeout=30_000)
        expect(frame.get_by_test_id("media-caption")).to_have_text("value 10")
        # A row without the key asks only for the key's steps after those held.
        tails: list[dict[str, list[str]]] = []
        for _ in range(100):
            tails = [parse_qs(urlparse(u).query) for u in requests if "/media?" in u]
            if tails:
                break
            page.wait_for_timeout(100)
        assert tails and all(q["key"] == ["frame"] and int(q["min_step"][0]) == 1 for q in tails), tails

        # A new image: the slider was at the newest step, so it follows to the new one.
        (workdir / "step2").touch()
        assert proc.stdout.readline().strip() == "logged 2"
        expect(frame.get_by_test_id("media-step-value")).to_have_text("2", timeout=30_000)
        expect(frame.get_by_test_id("media-caption")).to_have_text("value 200", timeout=30_000)
        expect(frame.get_by_test_id("media-cell")).to_have_attribute("data-state", "ready")
        assert _image_colors(frame) == [[200, 200, 200]]
        _set_step(frame, 0)
        expect(frame.get_by_test_id("media-caption")).to_have_text("value 10")
    finally:
        (workdir / "done").touch()
        proc.communicate(timeout=60)
    assert proc.returncode == 0
