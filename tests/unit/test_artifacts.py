"""Artifacts in process: building and validation, staging, downloads from a staging folder (resumed,
verified), name parsing, references, and the agent's blob upload plan against a recording transport."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tracklet.artifacts import download, manifest, references, staging
from tracklet.artifacts.artifact import Artifact
from tracklet.artifacts.lookup import parse_name
from tracklet.errors import Error, UsageError


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def files(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"alpha")
    (root / "sub" / "b.bin").write_bytes(b"\x00" * 3000)
    (root / "same.txt").write_bytes(b"alpha")
    return root


def test_the_digest_is_of_the_contents_whatever_the_files_were(files: Path, tmp_path: Path) -> None:
    one = Artifact("ds", type="dataset")
    one.add_dir(files)
    entries = one.manifest["entries"]
    assert entries == {"a.txt": {"digest": sha(b"alpha"), "size": 5}, "same.txt": {"digest": sha(b"alpha"), "size": 5},
                       "sub/b.bin": {"digest": sha(b"\x00" * 3000), "size": 3000}}
    assert one.digest == manifest.digest_of(entries) and one.size == 3010
    other = Artifact("ds", type="dataset")
    with other.new_file("a.txt", mode="wb") as f:
        f.write(b"alpha")
    other.add_file(files / "same.txt")
    other.add_file(files / "sub" / "b.bin", name="sub/b.bin")
    assert other.digest == one.digest


def test_staging_stores_each_content_once_and_skips_files_staged_before(files: Path, tmp_path: Path) -> None:
    blobs = tmp_path / "run" / "artifacts" / "blobs"
    known: dict[Any, str] = {}
    pending = [staging.Pending("a", source=files / "a.txt"), staging.Pending("b", source=files / "same.txt"),
               staging.Pending("c", produce=lambda: b"made"), staging.Pending("r", ref=(files / "a.txt").as_uri())]
    entries = staging.stage(pending, blobs, lambda _: None, known)
    assert sorted(p.name for p in blobs.iterdir()) == sorted({sha(b"alpha"), sha(b"made")})
    assert entries["r"] == {"digest": sha(b"alpha"), "size": 5, "ref": (files / "a.txt").as_uri()}
    (blobs / sha(b"alpha")).chmod(0o444)
    before = (blobs / sha(b"alpha")).stat().st_mtime_ns
    assert staging.stage(pending[:1], blobs, lambda _: None, known) == {"a": entries["a"]}
    assert (blobs / sha(b"alpha")).stat().st_mtime_ns == before  # known: neither read nor copied
    digest, relative = staging.write_manifest(tmp_path / "run", entries)
    assert relative == f"artifacts/{digest}.manifest.json" and digest == manifest.digest_of(entries)
    assert json.loads((tmp_path / "run" / relative).read_text()) == {"version": 1, "entries": entries}
    assert staging.read_manifest(tmp_path / "run" / relative) == entries


def staged(files: Path, tmp_path: Path) -> tuple[dict[str, dict[str, Any]], download.LocalSource]:
    blobs = tmp_path / "blobs"
    entries = staging.stage([staging.Pending("a.txt", source=files / "a.txt"),
                             staging.Pending("sub/b.bin", source=files / "sub" / "b.bin")], blobs, lambda _: None)
    return entries, download.LocalSource(blobs)


def test_download_fetches_verifies_and_keeps_good_files(files: Path, tmp_path: Path) -> None:
    entries, source = staged(files, tmp_path)
    root = tmp_path / "out"
    download.download_all(entries, root, source, "ds:v0")
    assert (root / "a.txt").read_bytes() == b"alpha" and (root / "sub" / "b.bin").read_bytes() == b"\x00" * 3000
    download.verify(entries, root, "ds:v0")
    kept = (root / "a.txt").stat().st_mtime_ns
    (root / "sub" / "b.bin").write_bytes(b"\x01" * 3000)
    download.download_all(entries, root, source, "ds:v0")
    assert (root / "a.txt").stat().st_mtime_ns == kept  # right digest: not fetched again
    assert (root / "sub" / "b.bin").read_bytes() == b"\x00" * 3000  # wrong digest: replaced


def test_download_continues_a_partial_file_and_drops_a_wrong_one(files: Path, tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    entries, source = staged(files, tmp_path)
    root = tmp_path / "out"
    root.mkdir()
    entry = entries["sub/b.bin"]
    partial = root / "sub" / f".b.bin.{sha(entry['digest'].encode())[:16]}.part"
    partial.parent.mkdir()
    partial.write_bytes(b"\x00" * 1000)
    with caplog.at_level("INFO", "tracklet.artifacts"):
        download.download_one("sub/b.bin", entry, root, source, "ds:v0")
    assert "sub/b.bin: resuming the download at byte 1000" in caplog.text
    assert (root / "sub" / "b.bin").read_bytes() == b"\x00" * 3000 and not partial.exists()

    (root / "sub" / "b.bin").unlink()
    partial.write_bytes(b"\x07" * 1000)  # not the start of this file
    with pytest.raises(Error, match=r"ds:v0: sub/b.bin arrived with SHA-256 [0-9a-f]{64} \(3000 bytes\), but the "
                                    r"manifest says " + entry["digest"]):
        download.download_one("sub/b.bin", entry, root, source, "ds:v0")
    assert not partial.exists() and not (root / "sub" / "b.bin").exists()
    download.download_one("sub/b.bin", entry, root, source, "ds:v0")  # the next try starts afresh
    assert (root / "sub" / "b.bin").read_bytes() == b"\x00" * 3000


def test_verify_names_the_first_problem(files: Path, tmp_path: Path) -> None:
    entries, source = staged(files, tmp_path)
    root = tmp_path / "out"
    with pytest.raises(Error, match="verify: .* does not exist"):
        download.verify(entries, root, "ds")
    download.download_all(entries, root, source, "ds")
    (root / "a.txt").write_bytes(b"ALPHA")
    with pytest.raises(Error, match="ds: verify: a.txt in .* has SHA-256"):
        download.verify(entries, root, "ds")
    (root / "a.txt").write_bytes(b"alphabet")
    with pytest.raises(Error, match="a.txt in .* is 8 bytes, the manifest says 5"):
        download.verify(entries, root, "ds")
    (root / "a.txt").unlink()
    with pytest.raises(Error, match="a.txt is missing from"):
        download.verify(entries, root, "ds")
    (root / "a.txt").write_bytes(b"alpha")
    (root / "stray").write_bytes(b"")
    with pytest.raises(Error, match="stray in .* is not in the artifact"):
        download.verify(entries, root, "ds")


def test_a_missing_staged_blob_is_an_error_naming_the_entry(tmp_path: Path) -> None:
    with pytest.raises(Error, match="a.txt: its content .* is missing from"):
        download.download_one("a.txt", {"digest": "0" * 64, "size": 1}, tmp_path / "out",
                              download.LocalSource(tmp_path), "ds")


@pytest.mark.parametrize(("text", "parsed"), [
    ("mnist", (None, None, "mnist", "latest")),
    ("mnist:v3", (None, None, "mnist", "v3")),
    ("proj/mnist:best", (None, "proj", "mnist", "best")),
    ("alice/proj/mnist:latest", ("alice", "proj", "mnist", "latest")),
])
def test_names_of_versions(text: str, parsed: tuple[Any, ...]) -> None:
    assert parse_name(text, "name") == parsed


@pytest.mark.parametrize("text", ["", "a/b/c/d:v0", "/mnist:v0", "mn ist:v0", "mnist:", "mnist:a b", 3])
def test_bad_names_of_versions(text: Any) -> None:
    with pytest.raises(UsageError, match="^name"):
        parse_name(text, "name")


def test_aliases_that_read_as_versions_are_refused() -> None:
    assert manifest.alias_problem("best") is None
    for alias in ("v3", "3", "latest", "versions"):
        assert "reads as a version" in str(manifest.alias_problem(alias))
    assert "alias must be" in str(manifest.alias_problem("a:b"))


def test_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "ref.bin"
    target.write_bytes(b"referenced")
    assert references.checksum(target.as_uri(), print) == (sha(b"referenced"), 10)
    assert references.default_name("s3://bucket/path/raw.tar") == "raw.tar"
    assert references.default_name("https://host/a/b.csv?x=1") == "b.csv"
    monkeypatch.setitem(sys.modules, "boto3", None)  # as if boto3 were not installed
    warnings: list[str] = []
    digest, size = references.checksum("s3://bucket/raw.tar", warnings.append)
    assert (digest, size) == (sha(b"s3://bucket/raw.tar"), 0) and not references.is_checked("s3://bucket/raw.tar", digest)
    assert "boto3 is not installed" in warnings[0] and "SHA-256 of the URI" in warnings[0]
    for uri, message in (("ftp://x/y", "scheme 'ftp'"), ("s3:///key", "no host or bucket"), ("raw.tar", "URI")):
        with pytest.raises(UsageError, match=message):
            references.check_uri(uri)


def test_building_checks_every_argument_at_once(files: Path) -> None:
    artifact = Artifact("ds", type="dataset")
    with pytest.raises(UsageError, match="new_file: name: entry name 'a/../b' may not contain"):
        artifact.new_file("a/../b")  # before any `with`
    with pytest.raises(UsageError, match="new_file: mode must be 'w' or 'wb'"):
        artifact.new_file("x", mode="r")
    with pytest.raises(UsageError, match=r"add_file: name: entry name 'a\\\\b' may not contain backslashes"):
        artifact.add_file(files / "a.txt", name="a\\b")
    with pytest.raises(UsageError, match="description must be a string"):
        Artifact("ds", type="dataset", description=3)  # type: ignore[arg-type]
    artifact.add_file(files / "a.txt")
    artifact.add_file(files / "same.txt", name="a.txt", overwrite=True)
    assert list(artifact.manifest["entries"]) == ["a.txt"]
    with pytest.raises(UsageError, match="wait: artifact 'ds' is not logged"):
        artifact.wait()
    with pytest.raises(UsageError, match="download: artifact 'ds' is not logged"):
        artifact.download()


def test_media_values_are_stored_as_typed_json(tmp_path: Path) -> None:
    import numpy as np
    import tracklet

    artifact = Artifact("preds", type="eval")
    table = tracklet.Table(columns=["id", "img"], data=[[1, tracklet.Image(np.zeros((2, 2, 3), np.uint8))]])
    artifact.add(table, "val/predictions")
    artifact.add(tracklet.Histogram([1, 2, 3], num_bins=3), "weights")
    names = sorted(artifact.manifest["entries"])
    assert names[:1] and names[0].startswith("media/images/") and names[0].endswith(".png")
    assert names[1:] == ["val/predictions.table.json", "weights.histogram.json"]
    staged_entries = staging.stage(artifact._pending.values(), tmp_path, lambda _: None)
    table_json = json.loads((tmp_path / staged_entries["val/predictions.table.json"]["digest"]).read_bytes())
    assert table_json["columns"] == ["id", "img"] and table_json["data"][0][1]["path"] == names[0]


def test_a_used_artifact_cannot_change(files: Path, tmp_path: Path) -> None:
    entries, _ = staged(files, tmp_path)
    used = Artifact._from_local({"name": "ds", "type": "dataset", "aliases": ["best"]}, entries, tmp_path / "blobs",
                                str(tmp_path), None, "proj")
    assert (used.aliases, used.version, used.project) == (["best"], None, "proj")
    with pytest.raises(UsageError, match="add_file: artifact 'ds' was read from a run and cannot change"):
        used.add_file(files / "a.txt")
    assert used.get_entry("a.txt").download() == str(tmp_path / "artifacts" / f"ds:{used.digest[:12]}" / "a.txt")
    with pytest.raises(UsageError, match="file: artifact ds has 2 entries"):
        used.file()
    with pytest.raises(UsageError, match="get_entry: artifact ds has no entry 'nope'"):
        used.get_entry("nope")


class RecordingTransport:
    """Answers the agent as a server holding ``stored_parts`` of every large blob and no small blob."""

    def __init__(self, stored_parts: list[dict[str, int]]) -> None:
        self.stored_parts = stored_parts
        self.calls: list[tuple[str, str]] = []
        self.bodies: dict[str, bytes] = {}

    def call(self, method: str, path: str, body: Any = None, **_: Any) -> Any:
        self.calls.append((method, path))
        if path.endswith("/blobs/missing"):
            return {"missing": list(body.digests)}
        if path.endswith("/parts"):
            return {"parts": self.stored_parts}
        if path.endswith("/versions"):
            return {"version": "v0"}
        return {}

    def put_stream(self, path: str, chunks: Any, size: int, timeout: float | None = None) -> Any:
        data = b"".join(chunks)
        assert len(data) == size
        self.calls.append(("PUT", path))
        self.bodies[path] = data
        return {}


def test_the_agent_uploads_missing_blobs_and_only_the_missing_parts(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from tracklet.agent import artifacts as agent_artifacts
    from tracklet.agent.progress import UploadProgress

    monkeypatch.setattr(agent_artifacts, "PART_BYTES", 1000)
    run_dir = tmp_path / "run"
    big, small = bytes(range(256)) * 10, b"small"  # 2560 bytes: parts of 1000, 1000, 560
    source = tmp_path / "big.bin"
    source.write_bytes(big)
    (tmp_path / "small.txt").write_bytes(small)
    entries = staging.stage([staging.Pending("big.bin", source=source),
                             staging.Pending("small.txt", source=tmp_path / "small.txt")],
                            staging.blobs_dir_of(run_dir), lambda _: None)
    digest, relative = staging.write_manifest(run_dir, entries)
    transport = RecordingTransport(stored_parts=[{"n": 0, "size": 1000}, {"n": 1, "size": 999}])
    uploads = agent_artifacts.ArtifactUploads(run_dir, transport, lambda _: None, lambda: None)  # type: ignore[arg-type]
    progress = UploadProgress(opened=True, entity="alice", project="proj", run_id="r1")
    body = {"name": "ds", "type": "dataset", "aliases": ["best"], "digest": digest, "manifest": relative}
    uploads.upload(progress, body)
    big_digest, small_digest = sha(big), sha(small)
    assert sorted(transport.bodies) == sorted([f"/blobs/{big_digest}/parts/1", f"/blobs/{big_digest}/parts/2",
                                               f"/blobs/{small_digest}"])
    assert transport.bodies[f"/blobs/{big_digest}/parts/1"] == big[1000:2000]  # the stored part 1 was short
    assert transport.bodies[f"/blobs/{big_digest}/parts/2"] == big[2000:]
    assert transport.calls[-2:] == [("POST", f"/blobs/{big_digest}/complete"),
                                    ("POST", "/artifacts/alice/proj/ds/versions")]
    calls = len(transport.calls)
    uploads.upload(progress, body)  # confirmed before: nothing is asked again
    assert len(transport.calls) == calls
