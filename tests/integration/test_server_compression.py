"""A real server's answers with gzip: the same JSON as without, and the events stream left alone."""

from __future__ import annotations

import gzip
import json
import threading

import httpx

from tests.conftest import ServerProcess, api
from tests.integration.test_server_http import START, open_run, post_records
from tracklet.runlog import encode_history


def test_a_gzipped_series_answer_decodes_to_the_same_json(server: ServerProcess) -> None:
    with api(server) as client:
        for run in ("gz000001", "gz000002"):
            open_run(client, run)
            records = [START] + [encode_history(s, 1.0, True, {"loss": 1 / (s + 1), "odd": float("nan") if s == 7 else s})
                                 for s in range(3000)]
            assert post_records(client, f"/runs/root/http/{run}/records", {"first_seq": 1, "records": records}).status_code == 200
    url = f"{server.url}/api/v1/projects/root/http/series"
    auth = {"Authorization": f"Bearer {server.admin_key}"}
    for key in ("loss", "odd"):
        params = {"key": key, "runs": "gz000001,gz000002", "buckets": 500}
        with httpx.Client(headers=auth, timeout=30) as raw:
            plain = raw.get(url, params=params, headers={"Accept-Encoding": "identity"})
            with raw.stream("GET", url, params=params, headers={"Accept-Encoding": "gzip"}) as packed:
                body = b"".join(packed.iter_raw())  # as sent: not decoded by the client
        assert "content-encoding" not in plain.headers
        assert packed.headers["content-encoding"] == "gzip"
        assert int(packed.headers["content-length"]) == len(body) < len(plain.content) / 2
        assert json.loads(gzip.decompress(body)) == plain.json()
        assert plain.json()["runs"]["gz000002"]["downsampled"] is True


def test_the_events_stream_is_not_compressed_or_held_back(server: ServerProcess) -> None:
    first: list[tuple[str | None, str]] = []

    def listen() -> None:
        with httpx.stream("GET", f"{server.url}/api/v1/events", params={"entity": "root", "since": "0"},
                          headers={"Authorization": f"Bearer {server.admin_key}", "Accept-Encoding": "gzip"},
                          timeout=10) as response:
            for line in response.iter_lines():  # the stream stays open: an event only arrives if sent at once
                if line.startswith("data: "):
                    first.append((response.headers.get("content-encoding"), line))
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    with api(server) as client:
        open_run(client, "gzlive01")
    listener.join(timeout=10)
    assert not listener.is_alive() and first
    assert first[0][0] is None
    assert "gzlive01" in first[0][1]
