"""The HTTP API on its own: the OpenAPI document, bad input, and live events."""

from __future__ import annotations

import gzip
import json
import threading

import httpx
import msgpack

from tests.conftest import ServerProcess, api
from tracklet.protocol import RECORDS_CONTENT_TYPE
from tracklet.runlog import RecordType, encode, encode_history


def open_run(client: httpx.Client, run_id: str, project: str = "http") -> None:
    response = client.post("/runs", json={"project": project, "run_id": run_id})
    assert response.status_code == 200, response.text


def post_records(client: httpx.Client, path: str, body: dict, gzip_it: bool = False) -> httpx.Response:
    content = msgpack.packb(body, use_bin_type=True)
    headers = {"Content-Type": RECORDS_CONTENT_TYPE}
    if gzip_it:
        content = gzip.compress(content)
        headers["Content-Encoding"] = "gzip"
    return client.post(path, content=content, headers=headers)


START = encode(RecordType.START, {"run_id": "r", "project": "http", "start_time": 1.0, "name": "n"})


def test_openapi_document_describes_every_route(server: ServerProcess) -> None:
    from tracklet.server.app import create_app
    from tracklet.server.openapi import ENDPOINTS, api_routes

    document = httpx.get(f"{server.url}/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/runs/{entity}/{project}/{run_id}/history/series" in document["paths"]
    assert "RunInfo" in document["components"]["schemas"]
    app = create_app(store=None)  # type: ignore[arg-type]
    described = {(m, "/api/v1" + path) for m, path in ENDPOINTS}
    assert api_routes(app.routes) == described


def test_malformed_and_unknown_bodies_are_rejected_and_store_nothing(server: ServerProcess) -> None:
    with api(server) as client:
        for body in (b"{not json", b'{"project": 5, "run_id": "x"}', b'{"project": "p", "run_id": "x", "evil": 1}'):
            response = client.post("/runs", content=body, headers={"Content-Type": "application/json"})
            assert response.status_code == 400, response.text
            assert response.json()["detail"]
        assert client.get("/entities/root/projects").json() == []
        open_run(client, "bad00001")
        path = "/runs/root/http/bad00001/records"
        bad_batches = [
            {"first_seq": 1, "records": [START, b"\x92\x03garbage"]},  # the second record does not decode
            {"first_seq": 1, "records": ["text, not bytes"]},
            {"first_seq": 1, "records": [START], "unknown": True},
            {"records": [START]},
            {"first_seq": 0, "records": [START]},
        ]
        for batch in bad_batches:
            response = post_records(client, path, batch)
            assert response.status_code == 400, (batch, response.text)
        assert post_records(client, path, {"first_seq": 5, "records": [START]}).status_code == 409
        response = client.post(path, content=b"\xc1", headers={"Content-Type": RECORDS_CONTENT_TYPE})
        assert response.status_code == 400
        response = client.post(path, content=b"not gzip", headers={"Content-Encoding": "gzip"})
        assert response.status_code == 400
        info = client.get("/runs/root/http/bad00001").json()
        assert info["last_seq"] == 0 and info["summary"] == {}
        assert client.get("/runs/root/http/bad00001/history").json()["rows"] == []


def test_oversized_bodies_get_413(server: ServerProcess) -> None:
    with api(server) as client:
        open_run(client, "big00001")
        huge = b"\x00" * (65 * 1024 * 1024)
        response = client.post("/runs/root/http/big00001/records", content=huge,
                               headers={"Content-Type": RECORDS_CONTENT_TYPE})
        assert response.status_code == 413
        assert client.get("/runs/root/http/big00001").json()["last_seq"] == 0


def test_bad_query_parameters_are_400(server: ServerProcess) -> None:
    with api(server) as client:
        open_run(client, "q0000001")
        base = "/runs/root/http/q0000001/history"
        assert client.get(base, params={"min_step": "abc"}).status_code == 400
        assert client.get(base + "/series").status_code == 400
        assert client.get(base + "/series", params={"key": "x", "buckets": "0"}).status_code == 400
        assert client.get("/runs/root/http/nope/history").status_code == 404


def test_records_are_idempotent_and_gzip_is_accepted(server: ServerProcess) -> None:
    with api(server) as client:
        open_run(client, "idem0001")
        path = "/runs/root/http/idem0001/records"
        records = [START] + [encode_history(i, 1.0 + i, True, {"x": i}) for i in range(10)]
        assert post_records(client, path, {"first_seq": 1, "records": records[:6]}).json() == {"last_seq": 6}
        # a retry that overlaps what is stored: only the new records count
        assert post_records(client, path, {"first_seq": 3, "records": records[2:]}, gzip_it=True).json() == {"last_seq": 11}
        assert post_records(client, path, {"first_seq": 1, "records": records}).json() == {"last_seq": 11}
        rows = client.get(path.replace("/records", "/history")).json()["rows"]
        assert [r["x"] for r in rows] == list(range(10))


def test_edit_and_delete_a_run(server: ServerProcess) -> None:
    with api(server) as client:
        open_run(client, "edit0001")
        response = client.patch("/runs/root/http/edit0001", json={"name": "renamed", "tags": ["a", "b"], "notes": "n"})
        assert response.status_code == 200
        info = client.get("/runs/root/http/edit0001").json()
        assert (info["name"], info["tags"], info["notes"]) == ("renamed", ["a", "b"], "n")
        assert client.patch("/runs/root/http/edit0001", json={"tags": [""]}).status_code == 400
        assert client.delete("/runs/root/http/edit0001").status_code == 200
        assert client.get("/runs/root/http/edit0001").status_code == 404


def test_events_stream_tells_which_runs_changed(server: ServerProcess) -> None:
    received: list[dict] = []

    def listen() -> None:
        with httpx.stream("GET", f"{server.url}/api/v1/events", params={"entity": "root", "since": "0"},
                          headers={"Authorization": f"Bearer {server.admin_key}"}, timeout=10) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    received.append(json.loads(line[6:]))
                    if any(r["run_id"] == "live0002" for batch in received for r in batch["runs"]):
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    with api(server) as client:
        open_run(client, "live0002")
    listener.join(timeout=10)
    assert not listener.is_alive()
    changed = [r for batch in received for r in batch["runs"]]
    assert any(r["run_id"] == "live0002" and r["state"] == "running" for r in changed)


def test_files_upload_download_and_path_tricks(server: ServerProcess) -> None:
    with api(server) as client:
        open_run(client, "files001")
        base = "/runs/root/http/files001/files"
        assert client.put(base + "/code/train.py", content=b"print(1)\n").status_code == 201
        assert client.get(base + "/code/train.py").content == b"print(1)\n"
        # percent-encoded, so that the client sends them as they are and the server decodes them
        for trick in ("%2e%2e/%2e%2e/evil", "code/%2e%2e/%2e%2e/%2e%2e/evil", "a//evil", "%2e/evil", "a%5cevil",
                      "%2fevil", "x%00evil"):
            response = client.put(base + "/" + trick, content=b"evil")
            assert response.status_code == 400, (trick, response.status_code, response.text)
        assert client.get(base).json() == [{"path": "code/train.py", "size": 9}]
        assert not [p for p in server.data_dir.rglob("*evil*")], "nothing written anywhere"
        assert client.get(base + "/missing.txt").status_code == 404


def test_finished_online_run_uploads_its_files(server: ServerProcess, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script(
        """
        import tracklet
        run = tracklet.init(project="files", id="saved001", save_code=True, config={"lr": 0.5})
        run.log({"x": 1})
        run.finish()
        """
    )
    assert result.returncode == 0, result.stderr
    from tests.integration.test_server_runs import wait_for

    with api(server) as client:
        listing = wait_for(lambda: {f["path"] for f in client.get("/runs/root/files/saved001/files").json()} or None)
        assert {"code/train.py", "config.yaml", "tracklet-metadata.json", "tracklet-summary.json"} <= listing
        code = client.get("/runs/root/files/saved001/files/code/train.py").text
    assert 'project="files"' in code


def test_one_metric_of_many_runs_in_one_answer_keeps_spikes(server: ServerProcess) -> None:
    with api(server) as client:
        for index in range(3):
            run_id = f"many000{index}"
            open_run(client, run_id)
            values = [float(index)] * 10_000
            values[4321] = 1e6 * (index + 1)  # a one-step spike
            records = [START] + [encode_history(s, 1.0, True, {"loss": v}) for s, v in enumerate(values)]
            assert post_records(client, f"/runs/root/http/{run_id}/records", {"first_seq": 1, "records": records}, True).status_code == 200
        response = client.get("/projects/root/http/series",
                              params={"key": "loss", "runs": "many0000,many0001,many0002,ghost", "buckets": 100})
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["missing"] == ["ghost"]
        for index in range(3):
            columns = answer["runs"][f"many000{index}"]
            assert columns["downsampled"] is True and len(columns["max"]) == 100
            assert max(columns["max"]) == 1e6 * (index + 1)
            assert columns["max_step"][columns["max"].index(max(columns["max"]))] == 4321
            assert min(columns["min"]) == float(index)
        assert client.get("/projects/root/http/series", params={"key": "loss"}).status_code == 400
        assert client.get("/projects/root/nope/series", params={"key": "loss", "runs": "x"}).json()["missing"] == ["x"]


def test_a_chart_can_ask_for_only_the_columns_it_draws(server: ServerProcess) -> None:
    with api(server) as client:
        open_run(client, "cols0001")
        records = [START] + [encode_history(s, 1.0, True, {"loss": float(s)}) for s in range(100)]
        post_records(client, "/runs/root/http/cols0001/records", {"first_seq": 1, "records": records})
        answer = client.get("/projects/root/http/series", params={
            "key": "loss", "runs": "cols0001", "buckets": 10, "columns": "last_step,last,min,max"}).json()
        assert set(answer["runs"]["cols0001"]) == {"last_step", "last", "min", "max", "downsampled"}
        assert answer["runs"]["cols0001"]["max"][-1] == 99.0
        bad = client.get("/runs/root/http/cols0001/history/series", params={"key": "loss", "columns": "median"})
        assert bad.status_code == 400 and "median" in bad.json()["detail"]
