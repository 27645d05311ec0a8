"""Artifacts over HTTP, against a real ``tracklet server``: blobs, versions, aliases, files, lineage, gc, access."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgpack

from tests.conftest import ServerProcess, api
from tracklet.artifacts import manifest
from tracklet.protocol import RECORDS_CONTENT_TYPE
from tracklet.runlog import RecordType, encode

MiB = 1024 * 1024


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def blob_files(server: ServerProcess) -> list[Path]:
    root = server.data_dir / "files" / "blobs"
    return sorted(p for p in root.glob("??/*") if p.is_file())


def new_user(server: ServerProcess, name: str) -> str:
    with api(server) as admin:
        response = admin.post("/users", json={"name": name})
        assert response.status_code == 201, response.text
        return response.json()["api_key"]


def upload(client: httpx.Client, content: bytes) -> dict[str, Any]:
    response = client.put(f"/blobs/{sha(content)}", content=content)
    assert response.status_code in (200, 201), response.text
    return {"digest": sha(content), "size": len(content)}


def log_version(client: httpx.Client, path: str, files: dict[str, bytes], **fields: Any) -> httpx.Response:
    """Upload the files' blobs, then create the version of ``path`` (``entity/project/name``)."""
    entries = {name: upload(client, content) for name, content in files.items()}
    entries |= fields.pop("refs", {})
    body = {"type": "dataset", "manifest": manifest.manifest_of(entries), "digest": manifest.digest_of(entries)}
    return client.post(f"/artifacts/{path}/versions", json=body | fields)


def test_blob_uploads_whole_and_in_parts(server: ServerProcess) -> None:
    content = b"hello artifacts\n" * 1000
    with api(server) as client:
        assert client.post("/artifacts/x/p/blobs/missing", json={"digests": [sha(content)]}).status_code == 404
        me = client.get("/viewer").json()["user"]
        missing = f"/artifacts/{me}/p/blobs/missing"
        assert client.post(missing, json={"digests": [sha(content)]}).json() == {"missing": [sha(content)]}
        assert client.post(missing, json={"digests": ["nope"]}).status_code == 400
        first = client.put(f"/blobs/{sha(content)}", content=content)
        assert first.status_code == 201 and first.json() == {"digest": sha(content), "size": len(content)}
        assert client.put(f"/blobs/{sha(content)}", content=content).status_code == 200
        assert blob_files(server)[0].read_bytes() == content
        assert blob_files(server)[0].relative_to(server.data_dir / "files").as_posix() == \
            f"blobs/{sha(content)[:2]}/{sha(content)}"
        wrong = client.put(f"/blobs/{sha(b'other')}", content=content)
        assert wrong.status_code == 400 and sha(content) in wrong.json()["detail"]
        assert client.put("/blobs/NOTAHASH", content=content).status_code == 400
        assert client.post(missing, json={"digests": [sha(content), sha(b"other")]}).json() == {
            "missing": [sha(b"other")]}

        # larger than any JSON body may be, streamed from a generator (never held whole by either side)
        big_chunk = b"\x01" * MiB
        big_digest = hashlib.sha256(big_chunk * 70).hexdigest()

        def chunks() -> Iterator[bytes]:
            for _ in range(70):
                yield big_chunk

        assert client.put(f"/blobs/{big_digest}", content=chunks()).status_code == 201

        # in parts, resumable: the parts stored are listed, then joined
        parts = [b"a" * 1000, b"b" * 1000, b"c" * 10]
        whole = b"".join(parts)
        base = f"/blobs/{sha(whole)}"
        assert client.get(base + "/parts").json() == {"parts": []}
        assert client.put(base + "/parts/0", content=parts[0]).json() == {"n": 0, "size": 1000}
        assert client.put(base + "/parts/2", content=parts[2]).status_code == 201
        assert client.get(base + "/parts").json() == {"parts": [{"n": 0, "size": 1000}, {"n": 2, "size": 10}]}
        gap = client.post(base + "/complete")
        assert gap.status_code == 400 and "part 1" in gap.json()["detail"]
        assert client.put(base + "/parts/x", content=b"").status_code == 400
        assert client.put(base + "/parts/1", content=parts[1]).status_code == 201
        done = client.post(base + "/complete")
        assert done.status_code == 201 and done.json() == {"parts": 3}
        assert client.get(base + "/parts").json() == {"parts": []}
        assert client.post(missing, json={"digests": [sha(whole)]}).json() == {"missing": []}
        assert (server.data_dir / "files" / "blobs" / sha(whole)[:2] / sha(whole)).read_bytes() == whole
        # parts that do not join into the digest are dropped, to be sent again
        bad = f"/blobs/{sha(b'expected')}"
        client.put(bad + "/parts/0", content=b"unexpected")
        mismatch = client.post(bad + "/complete")
        assert mismatch.status_code == 400 and sha(b"unexpected") in mismatch.json()["detail"]
        assert client.get(bad + "/parts").json() == {"parts": []}
        # a part is at most 64 MiB
        too_big = client.put(bad + "/parts/0", content=b"\x00" * (manifest.PART_BYTES + 1))
        assert too_big.status_code == 413
        assert client.get(bad + "/parts").json() == {"parts": []}
    assert not list((server.data_dir / "files" / "blobs" / "tmp").iterdir())  # no temporary file left behind


def test_versions_aliases_and_deletion(server: ServerProcess) -> None:
    with api(server) as client:
        me = client.get("/viewer").json()["user"]
        path = f"{me}/proj/mnist"
        created = log_version(client, path, {"a.txt": b"aaa"}, aliases=["best"], description="d", metadata={"n": 1})
        assert created.status_code == 201, created.text
        v0 = created.json()
        assert {k: v0[k] for k in ("entity", "project", "name", "type", "version", "index", "aliases", "size",
                                   "file_count", "logged_by", "used_by", "description", "metadata")} == {
            "entity": me, "project": "proj", "name": "mnist", "type": "dataset", "version": "v0", "index": 0,
            "aliases": ["latest", "best"], "size": 3, "file_count": 1, "logged_by": None, "used_by": [],
            "description": "d", "metadata": {"n": 1}}
        assert v0["manifest"]["entries"] == {"a.txt": {"digest": sha(b"aaa"), "size": 3}}
        again = log_version(client, path, {"a.txt": b"aaa"})
        assert again.status_code == 200 and again.json()["digest"] == v0["digest"] and again.json()["index"] == 0

        # a blob not uploaded, or a digest that is not the manifest's: 400, nothing created
        entries = {"a.txt": {"digest": sha(b"never"), "size": 5}}
        body = {"type": "dataset", "manifest": manifest.manifest_of(entries), "digest": manifest.digest_of(entries)}
        refused = client.post(f"/artifacts/{path}/versions", json=body)
        assert refused.status_code == 400 and "'a.txt'" in refused.json()["detail"]
        assert client.post(f"/artifacts/{path}/versions", json=body | {"digest": "0" * 64}).status_code == 400
        assert client.post(f"/artifacts/{path}/versions", json=body | {"unknown": 1}).status_code == 400
        trick = {"../../etc/passwd": upload(client, b"x")}
        assert client.post(f"/artifacts/{path}/versions", json={
            "type": "dataset", "manifest": manifest.manifest_of(trick), "digest": manifest.digest_of(trick)},
        ).status_code == 400

        v1 = log_version(client, path, {"a.txt": b"aaa", "b.txt": b"bb"}, aliases=["best"]).json()
        assert (v1["version"], v1["aliases"]) == ("v1", ["latest", "best"])
        listed = client.get(f"/artifacts/{path}/versions").json()
        assert [(v["version"], v["aliases"], v["manifest"]) for v in listed] == [
            ("v1", ["latest", "best"], None), ("v0", [], None)]
        for name in ("latest", "best", "v1", "1"):
            assert client.get(f"/artifacts/{path}/{name}").json()["index"] == 1
        assert client.get(f"/artifacts/{path}/v7").status_code == 404
        assert client.get(f"/artifacts/{me}/proj/ghost/latest").status_code == 404

        moved = client.patch(f"/artifacts/{path}/v0", json={"aliases": ["best"], "description": "new"})
        assert moved.status_code == 200 and moved.json()["aliases"] == ["best"] and moved.json()["description"] == "new"
        assert client.get(f"/artifacts/{path}/v1").json()["aliases"] == ["latest"]
        assert client.patch(f"/artifacts/{path}/v0", json={"aliases": ["latest"]}).status_code == 400
        assert client.patch(f"/artifacts/{path}/v0", json={"aliases": ["v1"]}).status_code == 400
        assert client.patch(f"/artifacts/{path}/v0", json={"bogus": 1}).status_code == 400

        summary = client.get(f"/artifacts/{me}/proj").json()
        assert [(a["name"], a["type"], a["versions"], a["latest"]) for a in summary] == [("mnist", "dataset", 2, "v1")]
        assert client.get(f"/artifacts/{me}/proj?type=model").json() == []
        assert client.get(f"/artifacts/{me}/nowhere").json() == []

        refused = client.delete(f"/artifacts/{path}/best")
        assert refused.status_code == 409 and "best" in refused.json()["detail"]
        assert client.delete(f"/artifacts/{path}/v1").status_code == 200  # only "latest"
        assert client.get(f"/artifacts/{path}/latest").json()["version"] == "v0"  # latest moved back
        assert client.delete(f"/artifacts/{path}/v0?delete_aliases=true").status_code == 200
        assert client.get(f"/artifacts/{path}/versions").json() == []
        assert client.get(f"/artifacts/{me}/proj").json()[0]["latest"] is None


def test_files_download_whole_and_by_range(server: ServerProcess) -> None:
    weights = bytes(range(256)) * 8192  # 2 MiB of binary
    with api(server) as client:
        me = client.get("/viewer").json()["user"]
        path = f"{me}/proj/cnn"
        refs = {"raw.tar": {"digest": "etag-1", "size": 10, "ref": "s3://bucket/raw.tar"}}
        assert log_version(client, path, {"model.pt": weights, "docs/README.html": b"<script>x</script>"},
                           type="model", refs=refs).status_code == 201
        whole = client.get(f"/artifacts/{path}/v0/files/model.pt")
        assert whole.status_code == 200 and whole.content == weights
        assert whole.headers["content-type"] == "application/octet-stream"
        assert "content-encoding" not in whole.headers  # binary goes as it is, even to a gzip-accepting client
        assert whole.headers["x-content-type-options"] == "nosniff"
        assert whole.headers["content-security-policy"] == "sandbox"
        part = client.get(f"/artifacts/{path}/latest/files/model.pt", headers={"Range": "bytes=1000-1999"})
        assert part.status_code == 206 and part.content == weights[1000:2000]
        assert part.headers["content-range"] == f"bytes 1000-1999/{len(weights)}"
        page = client.get(f"/artifacts/{path}/v0/files/docs/README.html")
        assert page.content == b"<script>x</script>" and page.headers["content-disposition"] == "attachment"
        assert client.get(f"/artifacts/{path}/v0/files/raw.tar").status_code == 404  # a reference: not stored
        assert client.get(f"/artifacts/{path}/v0/files/absent.txt").status_code == 404
        for trick in ("docs/..%2Fmodel.pt", "docs%2F..%2F..%2Fmodel.pt", "%2Fetc%2Fpasswd", "a%5Cb", "docs//x", ""):
            response = client.get(f"/artifacts/{path}/v0/files/{trick}")
            assert response.status_code == 400, (trick, response.status_code)


def post_records(client: httpx.Client, path: str, first_seq: int, records: list[bytes]) -> httpx.Response:
    content = msgpack.packb({"first_seq": first_seq, "records": records}, use_bin_type=True)
    return client.post(path + "/records", content=content, headers={"Content-Type": RECORDS_CONTENT_TYPE})


def test_a_runs_lineage(server: ServerProcess) -> None:
    with api(server) as client:
        me = client.get("/viewer").json()["user"]
        for run_id in ("prep0001", "train001"):
            assert client.post("/runs", json={"project": "proj", "run_id": run_id}).status_code == 200
        logged = log_version(client, f"{me}/proj/data", {"x": b"x"}, run_id="prep0001")
        assert logged.json()["logged_by"] == "prep0001"
        assert log_version(client, f"{me}/proj/data", {"y": b"y"}, run_id="nobody1").status_code == 400
        start = encode(RecordType.START, {"run_id": "train001", "project": "proj", "start_time": 1.0})
        use = {"action": "use", "entity": me, "project": "proj", "name": "data", "version": 0}
        records = [start, encode(RecordType.ARTIFACT, use), encode(RecordType.ARTIFACT, use | {"name": "ghost"})]
        answer = post_records(client, f"/runs/{me}/proj/train001", 1, records)
        assert answer.status_code == 200 and answer.json() == {"last_seq": 3}
        used = client.get(f"/runs/{me}/proj/train001/artifacts?direction=used").json()
        assert [(v["name"], v["version"], v["used_by"]) for v in used] == [("data", "v0", ["train001"])]
        assert client.get(f"/runs/{me}/proj/train001/artifacts?direction=logged").json() == []
        assert [v["version"] for v in client.get(f"/runs/{me}/proj/prep0001/artifacts").json()] == ["v0"]
        assert client.get(f"/runs/{me}/proj/prep0001/artifacts?direction=up").status_code == 400
        assert client.get(f"/artifacts/{me}/proj/data/v0").json()["used_by"] == ["train001"]


def test_other_entities_see_nothing(server: ServerProcess) -> None:
    alice, bob = new_user(server, "alice"), new_user(server, "bob")
    with api(server, alice) as as_alice:
        assert as_alice.post("/runs", json={"project": "secret", "run_id": "run00001"}).status_code == 200
        assert log_version(as_alice, "alice/secret/model", {"w": b"weights"}, aliases=["prod"],
                           run_id="run00001").status_code == 201
    digest = sha(b"weights")
    entries = {"w": {"digest": digest, "size": 7}}
    create = {"type": "dataset", "manifest": manifest.manifest_of(entries), "digest": manifest.digest_of(entries)}
    with api(server, bob) as as_bob:
        for method, path, body in [
            ("POST", "/artifacts/alice/secret/blobs/missing", {"digests": [digest]}),
            ("GET", "/artifacts/alice/secret", None),
            ("POST", "/artifacts/alice/secret/model/versions", create),
            ("GET", "/artifacts/alice/secret/model/versions", None),
            ("GET", "/artifacts/alice/secret/model/latest", None),
            ("PATCH", "/artifacts/alice/secret/model/v0", {"aliases": []}),
            ("DELETE", "/artifacts/alice/secret/model/v0?delete_aliases=true", None),
            ("GET", "/artifacts/alice/secret/model/v0/files/w", None),
            ("GET", "/runs/alice/secret/run00001/artifacts", None),
        ]:
            response = as_bob.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)
        # blobs are the deployment's: any valid key uploads; only administrators collect garbage
        assert as_bob.put(f"/blobs/{sha(b'bob')}", content=b"bob").status_code == 201
        assert as_bob.post("/admin/artifacts/gc?dry_run=true").status_code == 403
    with api(server, "") as nobody:
        assert nobody.put(f"/blobs/{sha(b'anon')}", content=b"anon").status_code == 401
        assert nobody.get(f"/blobs/{sha(b'anon')}/parts").status_code == 401
    with api(server, alice) as as_alice:
        kept = as_alice.get("/artifacts/alice/secret/model/v0").json()
        assert kept["aliases"] == ["latest", "prod"] and kept["logged_by"] == "run00001"


def test_garbage_collection(server: ServerProcess) -> None:
    with api(server) as client:
        me = client.get("/viewer").json()["user"]
        log_version(client, f"{me}/proj/m", {"kept": b"kept"})
        log_version(client, f"{me}/proj/m", {"kept": b"kept", "dropped": b"dropped!"})
        upload(client, b"orphan")
        assert client.delete(f"/artifacts/{me}/proj/m/v1").status_code == 200
        assert len(blob_files(server)) == 3
        assert client.post("/admin/artifacts/gc?dry_run=true").json() == {"blobs": 0, "bytes": 0, "deleted": False}
        dry = client.post("/admin/artifacts/gc?dry_run=true&older_than=0").json()
        assert dry == {"blobs": 2, "bytes": 8 + 6, "deleted": False}
        assert len(blob_files(server)) == 3
        assert client.post("/admin/artifacts/gc?older_than=0").json() == {"blobs": 2, "bytes": 14, "deleted": True}
        assert [p.name for p in blob_files(server)] == [sha(b"kept")]
        missing = client.post(f"/artifacts/{me}/proj/blobs/missing",
                              json={"digests": [sha(b"kept"), sha(b"dropped!"), sha(b"orphan")]}).json()
        assert missing == {"missing": [sha(b"dropped!"), sha(b"orphan")]}
        assert client.get(f"/artifacts/{me}/proj/m/v0/files/kept").content == b"kept"
        assert client.post("/admin/artifacts/gc?dry_run=maybe").status_code == 400
