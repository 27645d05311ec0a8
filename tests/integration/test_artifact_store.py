"""The artifact store's conformance: versions, dedupe, aliases, deletion, lineage and gc on every backend.

Like ``test_store_conformance.py`` (whose fixtures this module shares), the store functions are
called directly on connections of SQLite and of PostgreSQL.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tracklet.artifacts import manifest
from tracklet.protocol import ArtifactCreate, ArtifactUpdate, RecordBatch
from tracklet.runlog import RecordType
from tracklet.runlog.records import encode
from tracklet.server.errors import BadRequest, Conflict, NotFound
from tracklet.server.store import Store, accounts, artifact_blobs, artifacts, runs
from tracklet.server.store.schema import artifact_entries, artifact_usage, artifact_versions, blobs
from tests.integration.test_store_conformance import (  # noqa: F401 - fixtures
    handshake,
    ref,
    send,
    start,
    store,
    store_url,
)


def blob(store: Store, content: bytes) -> dict[str, Any]:
    """Record a blob as uploaded; its manifest entry."""
    digest = hashlib.sha256(content).hexdigest()
    with store.transaction() as conn:
        artifact_blobs.add(conn, digest, len(content))
    return {"digest": digest, "size": len(content)}


def request(entries: dict[str, dict[str, Any]], **fields: Any) -> ArtifactCreate:
    return ArtifactCreate(type=fields.pop("type", "dataset"), manifest=manifest.manifest_of(entries),
                          digest=manifest.digest_of(entries), **fields)


def create(store: Store, ref: runs.RunRef, name: str, entries: dict[str, dict[str, Any]], **fields: Any) -> Any:
    with store.transaction() as conn:
        return artifacts.create_version(conn, ref, name, request(entries, **fields))


def get(store: Store, ref: runs.RunRef, name: str, version: str) -> Any:
    with store.read() as conn:
        return artifacts.get_version(conn, ref, name, version)


def patch(store: Store, ref: runs.RunRef, name: str, version: str, **change: Any) -> Any:
    with store.transaction() as conn:
        return artifacts.update_version(conn, ref, name, version, ArtifactUpdate(**change))


def test_versions_are_numbered_and_deduplicated_by_digest(store: Store, ref: runs.RunRef) -> None:
    a, b = blob(store, b"a" * 10), blob(store, b"b" * 20)
    first, created = create(store, ref, "mnist", {"x.txt": a}, description="first", metadata={"rows": 1.5})
    assert created and (first.version, first.index, first.aliases) == ("v0", 0, ["latest"])
    assert (first.size, first.file_count, first.entity, first.project) == (10, 1, "alice", ref.project)
    assert first.manifest == manifest.manifest_of({"x.txt": a})
    again, created = create(store, ref, "mnist", {"x.txt": a}, description="ignored")
    assert not created and again.version == "v0" and again.description == "first"
    entries = {"x.txt": a, "dir/y.bin": b, "raw.tar": {"digest": "etag-1", "size": 99, "ref": "s3://b/raw.tar"}}
    second, created = create(store, ref, "mnist", entries)
    assert created and second.version == "v1" and (second.size, second.file_count) == (129, 3)
    assert manifest.digest_of(second.manifest["entries"]) == second.digest  # the stored manifest is the same
    for name in ("v1", "1", "latest"):
        assert get(store, ref, "mnist", name).digest == second.digest
    assert get(store, ref, "mnist", "v0").aliases == [] and get(store, ref, "mnist", "v0").metadata == {"rows": 1.5}
    with store.read() as conn:
        listed = artifacts.list_versions(conn, ref, "mnist")
        assert [v.version for v in listed] == ["v1", "v0"] and all(v.manifest is None for v in listed)
        [summary] = artifacts.list_artifacts(conn, ref)
        assert (summary.name, summary.type, summary.versions, summary.latest) == ("mnist", "dataset", 2, "v1")
        assert artifacts.list_artifacts(conn, ref, "model") == []
    # the same contents under another name is another artifact
    other, created = create(store, ref, "copy", {"x.txt": a})
    assert created and other.version == "v0"
    for missing_version in ("v2", "7", "nope", "v99999999999"):
        with pytest.raises(NotFound):
            get(store, ref, "mnist", missing_version)
    with pytest.raises(NotFound):
        get(store, ref, "ghost", "latest")


def test_what_a_version_is_checked_for(store: Store, ref: runs.RunRef) -> None:
    a = blob(store, b"contents")
    missing = {"digest": hashlib.sha256(b"never uploaded").hexdigest(), "size": 14}
    with pytest.raises(BadRequest, match="'b.txt'"):
        create(store, ref, "data", {"a.txt": a, "b.txt": missing})
    with pytest.raises(BadRequest, match="says 9 bytes"):
        create(store, ref, "data", {"a.txt": {**a, "size": 9}})
    with pytest.raises(BadRequest, match="not the manifest's"):
        with store.transaction() as conn:
            artifacts.create_version(conn, ref, "data", ArtifactCreate(
                type="dataset", manifest=manifest.manifest_of({"a.txt": a}), digest="0" * 64))
    for trick in ("../a", "/etc/passwd", "a/./b", "a\\b", "a//b", "a\x00b"):
        with pytest.raises(BadRequest):
            create(store, ref, "data", {trick: a})
    with pytest.raises(BadRequest, match="only digest, size"):
        create(store, ref, "data", {"a.txt": {**a, "extra": 1}})
    for bad_name in ("", "a/b", "x" * 129):
        with pytest.raises(BadRequest):
            create(store, ref, bad_name, {"a.txt": a})
    with pytest.raises(BadRequest, match="no run"):
        create(store, ref, "data", {"a.txt": a}, run_id="ghost001")
    for bad_alias in ("v3", "12", "versions", "a b"):
        with pytest.raises(BadRequest):
            create(store, ref, "data", {"a.txt": a}, aliases=[bad_alias])
    version, _ = create(store, ref, "data", {"a.txt": a}, aliases=["latest", "best"])  # "latest" is the server's
    assert version.aliases == ["latest", "best"]
    with pytest.raises(BadRequest, match="type 'dataset'"):
        create(store, ref, "data", {"a.txt": a}, type="model")
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(artifact_versions)).scalar_one() == 1


def test_aliases_move_and_latest_is_the_servers(store: Store, ref: runs.RunRef) -> None:
    a, b, c = (blob(store, bytes([i]) * 5) for i in range(3))
    create(store, ref, "m", {"f": a}, aliases=["best"])
    create(store, ref, "m", {"f": b}, aliases=["best", "candidate"])  # "best" moves to v1
    assert get(store, ref, "m", "v0").aliases == []
    assert get(store, ref, "m", "best").version == "v1"
    assert get(store, ref, "m", "v1").aliases == ["latest", "best", "candidate"]
    moved = patch(store, ref, "m", "v0", aliases=["best", "prod"], description="kept", metadata={"acc": 0.9})
    assert (moved.aliases, moved.description, moved.metadata) == (["best", "prod"], "kept", {"acc": 0.9})
    assert get(store, ref, "m", "v1").aliases == ["latest", "candidate"]
    with pytest.raises(BadRequest, match="latest"):
        patch(store, ref, "m", "v0", aliases=["latest"])
    assert patch(store, ref, "m", "latest", aliases=["latest"]).aliases == ["latest"]  # "candidate" removed
    assert patch(store, ref, "m", "v1", aliases=[]).aliases == ["latest"]  # latest cannot be removed
    create(store, ref, "m", {"f": c})
    assert get(store, ref, "m", "latest").version == "v2" and get(store, ref, "m", "v1").aliases == []
    with pytest.raises(BadRequest):
        patch(store, ref, "m", "v0", aliases=["v1"])


def test_deleting_versions(store: Store, ref: runs.RunRef) -> None:
    a, b = blob(store, b"1"), blob(store, b"2")
    create(store, ref, "m", {"f": a})
    create(store, ref, "m", {"f": b}, aliases=["best"])
    with pytest.raises(Conflict, match="best"):
        with store.transaction() as conn:
            artifacts.delete_version(conn, ref, "m", "latest")
    with store.transaction() as conn:
        artifacts.delete_version(conn, ref, "m", "v1", delete_aliases=True)
    assert get(store, ref, "m", "latest").version == "v0"  # latest moved back
    with pytest.raises(NotFound):
        get(store, ref, "m", "best")
    with store.transaction() as conn:
        artifacts.delete_version(conn, ref, "m", "v0")  # only "latest": no conflict
        [summary] = artifacts.list_artifacts(conn, ref)
        assert (summary.versions, summary.latest) == (0, None)
        assert conn.execute(select(func.count()).select_from(artifact_entries)).scalar_one() == 0
    with pytest.raises(NotFound):
        get(store, ref, "m", "latest")


def test_lineage_from_use_records_and_the_logging_run(store: Store, ref: runs.RunRef) -> None:
    a = blob(store, b"data")
    handshake(store, ref, "prep0001")
    version, _ = create(store, ref, "data", {"f": a}, run_id="prep0001")
    assert version.logged_by == "prep0001"
    handshake(store, ref, "train001")

    def use(**fields: Any) -> bytes:
        return encode(RecordType.ARTIFACT, {"action": "use", "entity": "alice", "project": ref.project,
                                            "name": "data", "version": 0} | fields)

    records = [start("train001"), use(), use(), use(version=7), use(name="ghost"), use(entity="bob"),
               use(project="elsewhere"), encode(RecordType.ARTIFACT, {"action": "log", "name": "x"}),
               encode(RecordType.ARTIFACT, {"action": "use"}), use(version="latest")]
    assert send(store, ref, "train001", 1, records) == len(records)  # unknown versions are not errors
    assert get(store, ref, "data", "v0").used_by == ["train001"]
    with store.read() as conn:
        train = runs.require_run(conn, ref, "train001")
        prep = runs.require_run(conn, ref, "prep0001")
        assert [v.version for v in artifacts.run_versions(conn, train.pk, "used")] == ["v0"]
        assert artifacts.run_versions(conn, train.pk, "logged") == []
        assert [v.version for v in artifacts.run_versions(conn, prep.pk, "logged")] == ["v0"]
        with pytest.raises(BadRequest):
            artifacts.run_versions(conn, prep.pk, "sideways")
    # a run of another project is named with its project
    other = runs.RunRef(ref.entity_id, ref.entity, "elsewhere")
    handshake(store, other, "eval0001")
    send(store, other, "eval0001", 1, [start("eval0001", project="elsewhere"), use()])
    assert get(store, ref, "data", "v0").used_by == ["train001", "alice/elsewhere/eval0001"]
    # deleting runs: the version forgets its logger, usage goes with the run
    with store.transaction() as conn:
        runs.delete_run(conn, ref, "prep0001")
        runs.delete_run(conn, ref, "train001")
    version = get(store, ref, "data", "v0")
    assert (version.logged_by, version.used_by) == (None, ["alice/elsewhere/eval0001"])


def test_use_records_of_another_entity_need_the_uploaders_membership(store: Store, ref: runs.RunRef) -> None:
    with store.transaction() as conn:
        bob = accounts.create_user(conn, "bob")
        bob_entity, _ = accounts.entity_role(conn, bob, "bob") or (0, "")
        alice = accounts.find_user(conn, "alice")
    bobs = runs.RunRef(bob_entity, "bob", "secret")
    create(store, bobs, "private", {"f": blob(store, b"bob's")})
    handshake(store, ref, "spy00001")
    record = encode(RecordType.ARTIFACT, {"action": "use", "entity": "bob", "project": "secret", "name": "private",
                                          "version": 0})
    with store.transaction() as conn:
        runs.append_records(conn, ref, "spy00001", RecordBatch(first_seq=1, records=[start("spy00001"), record]),
                            alice)
        assert conn.execute(select(func.count()).select_from(artifact_usage)).scalar_one() == 0
        accounts.create_team(conn, "lab", bob)
        accounts.add_member(conn, "lab", alice, "member")
        lab_entity, _ = accounts.entity_role(conn, bob, "lab") or (0, "")
    create(store, runs.RunRef(lab_entity, "lab", "shared"), "common", {"f": blob(store, b"lab's")})
    team_record = encode(RecordType.ARTIFACT, {"action": "use", "entity": "lab", "project": "shared",
                                               "name": "common", "version": "latest"})
    with store.transaction() as conn:
        runs.append_records(conn, ref, "spy00001", RecordBatch(first_seq=3, records=[team_record]), alice)
    assert get(store, runs.RunRef(lab_entity, "lab", "shared"), "common", "v0").used_by == [
        f"alice/{ref.project}/spy00001"]


def test_blob_rows_and_garbage_collection(store: Store, ref: runs.RunRef) -> None:
    kept, dropped, young = b"kept" * 10, b"dropped" * 100, b"young"
    with store.transaction() as conn:
        assert artifact_blobs.add(conn, hashlib.sha256(kept).hexdigest(), len(kept)) is False
        assert artifact_blobs.add(conn, hashlib.sha256(kept).hexdigest(), len(kept)) is True
    create(store, ref, "m", {"f": blob(store, kept)})
    deleted_version, _ = create(store, ref, "m", {"f": blob(store, dropped), "g": blob(store, kept)})
    with store.transaction() as conn:
        artifacts.delete_version(conn, ref, "m", deleted_version.version)
    time.sleep(0.05)
    blob(store, young)
    digests = {hashlib.sha256(c).hexdigest(): c for c in (kept, dropped, young)}
    removed: list[str] = []
    with store.transaction() as conn:
        report = artifact_blobs.collect(conn, 0, True, removed.append)
    assert (report.blobs, report.bytes, report.deleted, removed) == (2, len(dropped) + len(young), False, [])
    with store.transaction() as conn:
        report = artifact_blobs.collect(conn, 0.04, False, removed.append)  # "young" is too young
    assert (report.blobs, report.bytes, report.deleted) == (1, len(dropped), True)
    assert removed == [hashlib.sha256(dropped).hexdigest()]
    with store.transaction() as conn:
        assert artifact_blobs.missing(conn, [*digests, "f" * 64, "f" * 64]) == [hashlib.sha256(dropped).hexdigest(),
                                                                                "f" * 64]
        assert artifact_blobs.count(conn) == 2


def test_blobs_asked_about_are_spared_by_gc(store: Store, ref: runs.RunRef) -> None:
    """An agent that found a blob present is about to create a version of it: gc must not take it meanwhile."""
    old = blob(store, b"old and unreferenced")
    with store.transaction() as conn:
        conn.execute(update(blobs).values(created_at=time.time() - 7200))  # uploaded two hours ago
        assert artifact_blobs.collect(conn, 3600, True, [].append).blobs == 1
        assert artifact_blobs.missing(conn, [old["digest"]]) == []
        assert artifact_blobs.collect(conn, 3600, False, [].append).blobs == 0
    create(store, ref, "m", {"f": old})


def test_concurrent_creates_of_one_digest_make_one_version(store: Store, ref: runs.RunRef) -> None:
    entries = {"f": blob(store, b"same"), "g": blob(store, b"other")}
    results: list[tuple[str, bool]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def log_it(aliases: list[str]) -> None:
        try:
            barrier.wait(10)
            version, created = create(store, ref, "raced", entries, aliases=aliases)
            results.append((version.version, created))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=log_it, args=([f"a{i}"],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(results) == [("v0", False)] * 7 + [("v0", True)]
    assert get(store, ref, "raced", "v0").aliases == ["latest", *(f"a{i}" for i in range(8))]
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(artifact_versions)).scalar_one() == 1


def test_a_deleted_version_number_is_never_given_again(store: Store, ref: runs.RunRef) -> None:
    create(store, ref, "model", {"w": blob(store, b"one")})
    create(store, ref, "model", {"w": blob(store, b"two")})
    with store.transaction() as conn:
        artifacts.delete_version(conn, ref, "model", "v1")
    third, created = create(store, ref, "model", {"w": blob(store, b"three")})
    assert created and third.version == "v2"  # "v1" keeps meaning the contents it had
    assert get(store, ref, "model", "latest").version == "v2"
    with pytest.raises(NotFound):
        get(store, ref, "model", "v1")
