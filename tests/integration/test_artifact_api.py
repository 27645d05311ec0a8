"""``tracklet.Api`` and the ``tracklet artifact`` commands on artifacts logged by real scripts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import tracklet
from tests.conftest import ServerProcess
from tracklet.api.transport import ServerError

TWO_VERSIONS = """
import pathlib, tracklet
pathlib.Path("data").mkdir()
pathlib.Path("data/a.txt").write_text("first")
with tracklet.init(project="arts", id="maker001", job_type="prepare") as run:
    data = tracklet.Artifact("data", type="dataset", metadata={"rows": 1})
    data.add_dir("data")
    run.log_artifact(data, aliases=["best"])
pathlib.Path("data/a.txt").write_text("second")
with tracklet.init(project="arts", id="maker002", job_type="train") as run:
    used = run.use_artifact("data:best")
    changed = tracklet.Artifact("data", type="dataset")
    changed.add_dir("data")
    run.log_artifact(changed)
"""


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tracklet.cli.main", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def logged(server: ServerProcess, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script(TWO_VERSIONS, timeout=120)
    assert result.returncode == 0, result.stderr


def test_api_versions_collections_lineage_aliases_and_delete(logged: None, workdir: Path) -> None:
    with tracklet.Api() as api:
        latest = api.artifact("arts/data:latest")
        assert (latest.version, latest.type, latest.aliases) == ("v1", "dataset", ["latest"])
        assert api.artifact("root/arts/data:v0").aliases == ["best"]
        assert [a.version for a in api.artifacts("dataset", "arts/data")] == ["v1", "v0"]
        assert api.artifact_versions("dataset", "arts/data")[1].metadata == {"rows": 1}
        with pytest.raises(tracklet.UsageError, match="of type 'dataset', not 'model'"):
            api.artifact("arts/data:v0", type="model")
        assert api.artifact_exists("arts/data:v1") and not api.artifact_exists("arts/data:v7")
        [collection] = api.artifact_collections("arts")
        assert (collection.name, collection.type, collection.version_count, collection.latest) == ("data", "dataset", 2, "v1")
        assert api.artifact_collections("arts", type_name="model") == []

        first = api.artifact("arts/data:v0")
        assert first.logged_by().id == "maker001" and [r.id for r in first.used_by()] == ["maker002"]
        assert [a.version for a in api.run("arts/maker002").logged_artifacts()] == ["v1"]
        assert [a.name + ":" + a.version for a in api.run("arts/maker002").used_artifacts()] == ["data:v0"]
        assert Path(first.download(str(workdir / "v0")), "a.txt").read_text() == "first"

        first.aliases.append("production")
        first.save()
        assert api.artifact("arts/data:production").version == "v0"
        with pytest.raises(ServerError) as refused:
            first.delete()
        assert refused.value.status == 409
        first.delete(delete_aliases=True)
        assert [a.version for a in api.artifacts("dataset", "arts/data")] == ["v1"]
        assert not api.artifact_exists("arts/data:best")


def test_cli_put_get_ls_and_gc(server: ServerProcess, workdir: Path) -> None:
    (workdir / "weights.bin").write_bytes(b"\x00\x01" * 1000)
    put = cli("artifact", "put", "weights.bin", "--name", "cnn", "--type", "model", "--project", "arts",
              "--alias", "best", cwd=workdir)
    assert put.returncode == 0, put.stderr
    assert "Logged cnn:v0 (model, 1 files, 2000 bytes)" in put.stdout
    listing = cli("artifact", "ls", "arts", cwd=workdir)
    assert listing.returncode == 0 and "cnn" in listing.stdout and "1 versions, latest v0" in listing.stdout
    got = cli("artifact", "get", "arts/cnn:best", "--root", "fetched", cwd=workdir)
    assert got.returncode == 0, got.stderr
    assert (workdir / "fetched" / "weights.bin").read_bytes() == b"\x00\x01" * 1000
    assert cli("artifact", "get", "arts/cnn:v9", cwd=workdir).returncode != 0

    with tracklet.Api() as api:
        api.artifact("arts/cnn:v0").delete(delete_aliases=True)
    assert "Would delete (dry run; --delete to remove) 0 unreferenced" in cli("artifact", "gc", cwd=workdir).stdout
    dry = cli("artifact", "gc", "--older-than", "0", cwd=workdir)
    assert dry.returncode == 0 and "Would delete (dry run; --delete to remove) 1 unreferenced files, 2000 bytes" in dry.stdout
    blobs = [p for p in (server.data_dir / "files" / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 1
    done = cli("artifact", "gc", "--delete", "--older-than", "0", cwd=workdir)
    assert "Deleted 1 unreferenced files, 2000 bytes" in done.stdout
    assert not [p for p in (server.data_dir / "files" / "blobs").rglob("*") if p.is_file()]
