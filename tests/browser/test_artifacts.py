"""Artifacts in the UI, for versions logged and used by real SDK scripts: the project's Artifacts tab
(types → names → versions), a version's page (file tree with sizes and downloads, metadata, aliases
edited and saved, lineage to the producing and consuming runs) and the run page's artifacts."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.conftest import api

# 1024 bytes that are not text, nested two folders down: the download must give them back exactly.
WEIGHTS = bytes(range(256)) * 4

PREPARE = """
import pathlib, tracklet
root = pathlib.Path("data")
(root / "images" / "train").mkdir(parents=True)
(root / "README.md").write_text("digits\\n")
(root / "labels.txt").write_text("0 1 2 3 4 5 6 7 8 9\\n")
(root / "images" / "train" / "0.bin").write_bytes(bytes(range(256)) * 4)
pathlib.Path("raw.csv").write_text("a,b\\n1,2\\n")
with tracklet.init(project="artifacts-ui", name="prepare", job_type="prepare") as run:
    data = tracklet.Artifact("digits", type="dataset", description="Handwritten digits",
                             metadata={"rows": 70000, "split": {"train": 60000, "test": 10000}})
    data.add_dir("data/")
    data.add_reference(pathlib.Path("raw.csv").resolve().as_uri())  # kept as its URI, not uploaded
    run.log_artifact(data, aliases=["best"])
"""

# Uses the first version, then logs a second one with a changed file, and a model.
TRAIN = """
import pathlib, tracklet
with tracklet.init(project="artifacts-ui", name="train", job_type="train") as run:
    used = run.use_artifact("digits:best")
    pathlib.Path("data/labels.txt").write_text("relabelled\\n")
    data = tracklet.Artifact("digits", type="dataset")
    data.add_dir("data/")
    run.log_artifact(data)
    pathlib.Path("model.pt").write_bytes(b"weights")
    run.log_artifact("model.pt", name="cnn", type="model")
"""


def _sign_in(page, server, path: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/signin?next={path}")
    page.get_by_test_id("api-key").fill(server.admin_key)
    page.get_by_test_id("signin-submit").click()


def _expect_aliases(editor, aliases: list[str]) -> None:  # type: ignore[no-untyped-def]
    """The editor shows exactly these aliases, in order (each chip's text ends with its × button)."""
    expect(editor.get_by_test_id("alias")).to_have_count(len(aliases))
    expect(editor.get_by_test_id("alias")).to_contain_text(aliases)


def test_artifacts_tab_version_page_and_lineage(server, run_script, page) -> None:  # type: ignore[no-untyped-def]
    for script in (PREPARE, TRAIN):
        result = run_script(script)
        assert result.returncode == 0, result.stderr
    with api(server) as client:
        entity = client.get("/viewer").json()["default_entity"]
        runs = {r["name"]: r["run_id"] for r in client.get(f"/runs/{entity}/artifacts-ui").json()}
    base = f"/{entity}/artifacts-ui"

    # The project's Artifacts tab: artifacts by type, the name with its two versions.
    _sign_in(page, server, base)
    page.get_by_test_id("tab-artifacts").click()
    expect(page).to_have_url(f"{server.url}{base}/artifacts")
    dataset = page.locator("[data-testid=artifact-type][data-type=dataset]")
    row = dataset.locator("[data-testid=artifact-row][data-name=digits]")
    expect(row.get_by_test_id("version-count")).to_have_text("2")
    expect(row).to_contain_text("v1")
    expect(page.get_by_test_id("artifact-type")).to_have_count(2)
    model = page.locator("[data-testid=artifact-type][data-type=model] [data-testid=artifact-row]")
    expect(model).to_have_attribute("data-name", "cnn")
    expect(model.get_by_test_id("version-count")).to_have_text("1")
    screenshot(page, "artifacts")

    # Its versions, newest first, each with its aliases and the run that logged it.
    row.get_by_test_id("artifact-name").click()
    expect(page).to_have_url(f"{server.url}{base}/artifacts/digits")
    versions = page.get_by_test_id("versions").get_by_test_id("version-row")
    expect(versions).to_have_count(2)
    expect(versions.nth(0)).to_have_attribute("data-version", "v1")
    expect(versions.nth(0).get_by_test_id("version-alias")).to_have_text(["latest"])
    expect(versions.nth(1).get_by_test_id("version-alias")).to_have_text(["best"])
    expect(versions.nth(1).get_by_test_id("version-run")).to_have_text("prepare")
    versions.nth(1).get_by_test_id("version-link").click()

    # The version page: its file tree, folders collapsed until expanded, with sizes.
    expect(page).to_have_url(f"{server.url}{base}/artifacts/digits/v0")
    expect(page.get_by_test_id("artifact-title")).to_contain_text("digits:v0")
    expect(page.get_by_test_id("overview-description")).to_contain_text("Handwritten digits")
    files = page.get_by_test_id("artifact-files")
    expect(files.get_by_test_id("files-total")).to_have_text("4 files, 1.0 KiB")
    nested = files.locator('[data-testid=artifact-file][data-path="images/train/0.bin"]')
    expect(files.locator('[data-testid=artifact-file][data-path="labels.txt"]').get_by_test_id("file-size")) \
        .to_have_text("20 B")
    expect(nested).to_have_count(0)
    files.locator('[data-testid=artifact-folder][data-path="images"]').get_by_test_id("folder-toggle").click()
    files.locator('[data-testid=artifact-folder][data-path="images/train"]').get_by_test_id("folder-toggle").click()
    expect(nested).to_be_visible()
    expect(nested.get_by_test_id("file-size")).to_have_text("1.0 KiB")
    reference = files.locator('[data-testid=artifact-file][data-path="raw.csv"]')
    expect(reference.get_by_test_id("file-ref")).to_have_text(re.compile(r"^file:///.*/raw\.csv$"))
    expect(reference.get_by_test_id("file-size")).to_have_text("8 B")
    expect(reference.get_by_test_id("file-download")).to_have_count(0)

    # Downloading a file gives its bytes.
    with page.expect_download() as download:
        nested.get_by_test_id("file-download").click()
    assert download.value.suggested_filename == "0.bin"
    assert Path(download.value.path()).read_bytes() == WEIGHTS

    # Metadata as a searchable tree.
    metadata = page.get_by_test_id("metadata")
    expect(metadata.locator('tr[data-path="split.train"]')).to_contain_text("60000")
    screenshot(page, "artifact-version")
    metadata.get_by_test_id("metadata-search").fill("test")
    expect(metadata.locator('tr[data-path="rows"]')).to_have_count(0)
    expect(metadata.locator('tr[data-path="split.test"]')).to_be_visible()

    # Aliases: add "production", remove "best"; the server answers with them, and they survive a reload.
    aliases = page.get_by_test_id("aliases")
    with page.expect_response(lambda r: r.request.method == "PATCH") as added:
        page.get_by_test_id("alias-input").fill("production")
        page.get_by_test_id("alias-input").press("Enter")
    assert sorted(added.value.json()["aliases"]) == ["best", "production"]
    expect(page.get_by_test_id("aliases-status")).to_have_text("Saved")
    with page.expect_response(lambda r: r.request.method == "PATCH") as removed:
        page.get_by_role("button", name="Remove alias best").click()
    assert removed.value.json()["aliases"] == ["production"]
    _expect_aliases(aliases, ["production"])
    page.reload()
    _expect_aliases(page.get_by_test_id("aliases"), ["production"])
    with api(server) as client:
        assert client.get(f"/artifacts/{entity}/artifacts-ui/digits/v0").json()["aliases"] == ["production"]
        assert client.get(f"/artifacts/{entity}/artifacts-ui/digits/best").status_code == 404

    # Lineage: the run that logged it → it → the run that used it, each a link to its run page.
    lineage = page.get_by_test_id("lineage")
    expect(lineage.get_by_test_id("lineage-version")).to_have_text("digits:v0")
    expect(lineage.get_by_test_id("lineage-producer")).to_have_text("prepare")
    expect(lineage.get_by_test_id("lineage-consumer")).to_have_text(["train"])
    lineage.get_by_test_id("lineage-producer").click()
    expect(page).to_have_url(f"{server.url}{base}/runs/{runs['prepare']}")
    expect(page.get_by_test_id("run-title")).to_contain_text("prepare")
    page.go_back()
    page.get_by_test_id("lineage").get_by_test_id("lineage-consumer").click()
    expect(page).to_have_url(f"{server.url}{base}/runs/{runs['train']}")

    # The consuming run's page lists what it used and what it logged, each a link to the version.
    used = page.get_by_test_id("run-artifacts-used")
    logged = page.get_by_test_id("run-artifacts-logged")
    expect(used.get_by_test_id("version-link")).to_have_text(["digits:v0"])
    expect(logged.get_by_test_id("version-link")).to_have_count(2)
    expect(logged.get_by_test_id("version-link").filter(has_text="cnn:v0")).to_have_count(1)
    page.get_by_test_id("section-artifacts").scroll_into_view_if_needed()
    screenshot(page, "run-artifacts")
    logged.get_by_test_id("version-link").filter(has_text="digits:v1").click()
    expect(page).to_have_url(f"{server.url}{base}/artifacts/digits/v1")
    # `latest` is the server's: shown, but with nothing to remove it.
    _expect_aliases(page.get_by_test_id("aliases"), ["latest"])
    expect(page.get_by_role("button", name="Remove alias latest")).to_have_count(0)
    expect(page.get_by_test_id("lineage").get_by_test_id("lineage-producer")).to_have_text("train")
