"""How the server serves the built UI: files, the single-page fallback, and a clear 503 without a build."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from tracklet.server.ui import WebUI


class Client:
    def __init__(self, directory: Path) -> None:
        self.ui = WebUI(directory)

    def request(self, method: str, path: str) -> Response:
        raw, _, query = path.partition("?")
        return self.ui.respond(Request({"type": "http", "method": method, "path": raw, "query_string": query.encode(),
                                        "headers": [], "root_path": ""}))

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str) -> Response:
        return self.request("POST", path)


def client(directory: Path) -> Client:
    return Client(directory)


def text(response: Response) -> str:
    if isinstance(response, FileResponse):
        return Path(response.path).read_text()
    return bytes(response.body).decode()


def test_without_a_build_every_page_says_how_to_build_it(tmp_path: Path) -> None:
    response = client(tmp_path).get("/some/page")
    assert response.status_code == 503
    assert "npm run build" in text(response)


def test_files_the_fallback_and_what_is_never_the_app(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<div id=app></div>")
    (tmp_path / "assets" / "app-1234.js").write_text("console.log(1)")
    (tmp_path.parent / "secret.txt").write_text("no")
    ui = client(tmp_path)
    index = ui.get("/")
    assert index.status_code == 200 and "id=app" in text(index) and index.headers["cache-control"] == "no-cache"
    asset = ui.get("/assets/app-1234.js")
    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    assert text(ui.get("/team/project?metric=loss")) == text(index)  # the app routes it
    assert ui.get("/assets/gone-999.js").status_code == 404
    assert ui.get("/api/v2/anything").status_code == 404
    assert text(ui.get("/../secret.txt")) != "no"
    assert text(ui.get("/assets/../../secret.txt")) != "no"
    assert ui.post("/").status_code == 405
