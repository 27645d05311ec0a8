"""Which code ran: git state, the uncommitted changes as a patch, the script's exact bytes, packages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ServerProcess, api, only_run

SCRIPT = b"""import tracklet
run = tracklet.init(mode="offline", save_code=True)
run.log({"x": 1})
run.finish()
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def make_repo(root: Path) -> Path:
    repo = root / "project"
    (repo / "src").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dev@example.com")
    git(repo, "config", "user.name", "Dev")
    git(repo, "remote", "add", "origin", "https://alice:s3cr3t-token@git.example.com/team/project.git")
    (repo / "src" / "train.py").write_bytes(SCRIPT)
    (repo / "model.py").write_text("LAYERS = 2\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    return repo


def run_in(repo: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "src/train.py", *args], cwd=repo, capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})


def test_dirty_tree_gives_commit_branch_clean_remote_and_a_patch_that_applies(tmp_path: Path, workdir: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / "model.py").write_text("LAYERS = 3  # trying something\n")
    result = run_in(repo, "--lr", "0.1")
    assert result.returncode == 0, result.stderr
    run = only_run(repo)
    files = run.dir / "files"
    metadata = json.loads((files / "tracklet-metadata.json").read_text())
    assert metadata["git"]["commit"] == git(repo, "rev-parse", "HEAD").strip()
    assert metadata["git"]["branch"] == "main"
    assert metadata["git"]["remote"] == "https://git.example.com/team/project.git"
    assert "s3cr3t" not in (files / "tracklet-metadata.json").read_text()
    assert metadata["git"]["dirty"] is True and metadata["git"]["patch"] == "diff.patch"
    assert metadata["command"] == "python src/train.py --lr 0.1"
    assert metadata["code_path"] == "src/train.py"
    # the patch recreates the working tree on a clean checkout of the commit
    clean = tmp_path / "clean"
    subprocess.run(["git", "clone", "-q", str(repo), str(clean)], check=True)
    git(clean, "apply", str(files / "diff.patch"))
    assert (clean / "model.py").read_text() == "LAYERS = 3  # trying something\n"
    # the script, byte for byte, and the installed packages
    assert (files / "code" / "src" / "train.py").read_bytes() == SCRIPT
    requirements = (files / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("tracklet==") for line in requirements)
    assert any(line.startswith("msgpack==") for line in requirements)


def test_clean_tree_has_no_patch_and_disable_git_records_no_git(tmp_path: Path, workdir: Path) -> None:
    repo = make_repo(tmp_path)
    assert run_in(repo).returncode == 0
    first = only_run(repo)
    metadata = json.loads((first.dir / "files" / "tracklet-metadata.json").read_text())
    assert metadata["git"]["dirty"] is False and "patch" not in metadata["git"]
    assert not (first.dir / "files" / "diff.patch").exists()
    import shutil

    shutil.rmtree(repo / "tracklet")
    assert run_in(repo, env={"TRACKLET_DISABLE_GIT": "true"}).returncode == 0
    metadata = json.loads((only_run(repo).dir / "files" / "tracklet-metadata.json").read_text())
    assert "git" not in metadata


def test_offline_context_is_uploaded_by_sync(server: ServerProcess, tmp_path: Path, workdir: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / "model.py").write_text("LAYERS = 4\n")
    assert run_in(repo).returncode == 0
    run_id = only_run(repo).run_id
    synced = subprocess.run([sys.executable, "-m", "tracklet.cli.main", "sync"], cwd=repo, capture_output=True,
                            text=True, timeout=120)
    assert synced.returncode == 0, synced.stderr
    with api(server) as client:
        info = client.get(f"/runs/root/project-src/{run_id}").json()
        assert info["metadata"]["git"]["branch"] == "main"
        files = {f["path"] for f in client.get(f"/runs/root/project-src/{run_id}/files").json()}
        assert {"code/src/train.py", "diff.patch", "requirements.txt"} <= files
        assert client.get(f"/runs/root/project-src/{run_id}/files/code/src/train.py").content == SCRIPT
