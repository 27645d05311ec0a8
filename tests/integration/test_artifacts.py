"""Artifacts logged and used by real scripts against a real server: versions by content, blobs stored once,
downloads that match byte for byte, lineage, large files in bounded memory, and uploads and downloads
that survive being killed (docs/artifacts.md)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import ServerProcess, api, only_run, run_dirs, start_script
from tests.integration.test_server_runs import wait_for

MB = 1024 * 1024


def tracklet_cli(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tracklet.cli.main", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def server_blobs(server: ServerProcess) -> list[Path]:
    """The blob files of the server's store (``files/blobs/<sha256[:2]>/<sha256>``)."""
    root = server.data_dir / "files" / "blobs"
    return sorted(p for p in root.glob("??/*") if p.is_file())


def sha256_file(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(MB):
            hasher.update(chunk)
    return hasher.hexdigest()


def write_random(path: Path, size: int) -> str:
    """A file of ``size`` random bytes, written a megabyte at a time; its SHA-256."""
    hasher = hashlib.sha256()
    with open(path, "wb") as f:
        for offset in range(0, size, 8 * MB):
            chunk = os.urandom(min(8 * MB, size - offset))
            hasher.update(chunk)
            f.write(chunk)
    return hasher.hexdigest()


def tagged(output: str) -> dict[str, str]:
    """What a script printed as ``TAG value`` lines."""
    lines = (line.partition(" ") for line in output.splitlines())
    return {tag: value for tag, _, value in lines if tag.isupper() and tag.isalpha() or "_" in tag and tag.isupper()}


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


LOG_DATA = """
import tracklet
with tracklet.init(project="arts", id={run_id!r}, job_type="prepare") as run:
    data = tracklet.Artifact("ds", type="dataset", description="three files", metadata={{"rows": 3}})
    data.add_dir("data/")
    run.log_artifact(data, aliases={aliases!r})
    data.wait(timeout=60)
    print("VERSION", data.version, data.aliases, data.digest)
"""


def versions_of(line_output: str) -> str:
    return next(line.split()[1] for line in line_output.splitlines() if line.startswith("VERSION"))


def test_versions_by_content_blobs_once_download_and_lineage(server: ServerProcess, run_script, workdir: Path) -> None:
    data = workdir / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_text("first\n")
    (data / "b.txt").write_text("unchanged\n")
    (data / "sub" / "c.bin").write_bytes(os.urandom(200_000))

    first = run_script(LOG_DATA.format(run_id="log00001", aliases=["best"]))
    assert first.returncode == 0, first.stderr
    assert versions_of(first.stdout) == "v0"
    assert len(server_blobs(server)) == 3

    (data / "a.txt").write_text("second\n")
    second = run_script(LOG_DATA.format(run_id="log00002", aliases=["candidate", "latest"]))
    assert second.returncode == 0, second.stderr
    assert versions_of(second.stdout) == "v1"
    assert len(server_blobs(server)) == 4  # only the changed file is new

    same = run_script(LOG_DATA.format(run_id="log00003", aliases=None))
    assert same.returncode == 0, same.stderr
    assert versions_of(same.stdout) == "v1"  # identical contents: no v2
    assert len(server_blobs(server)) == 4
    # The staging folder of a run holds each file once too.
    assert len(list((run_dirs(workdir)[-1].dir / "artifacts" / "blobs").iterdir())) == 3

    with api(server) as http:
        listed = http.get("/artifacts/root/arts/ds/versions").json()
        assert [(v["version"], v["aliases"]) for v in listed] == [("v1", ["latest", "candidate"]), ("v0", ["best"])]
        assert listed[0]["logged_by"] == "log00002" and listed[0]["file_count"] == 3
        assert (listed[1]["description"], listed[1]["metadata"]) == ("three files", {"rows": 3})

    use = run_script("""
        import hashlib, tracklet
        with tracklet.init(project="arts", id="use00001", job_type="train") as run:
            data = run.use_artifact("ds:latest", type="dataset")
            print("ROOT", data.download())
            entry = data.get_entry("sub/c.bin")
            print("ENTRY", entry.path, entry.size, entry.digest)
            print("ENTRY_FILE", entry.download(root="single"))
            data.verify()
            best = run.use_artifact("arts/ds:best")
            print("BEST", best.version, best.download())
            model = tracklet.Artifact("cnn", type="model")
            with model.new_file("model.txt") as f:
                f.write("weights")
            run.log_artifact(model)
            model.wait(timeout=60)
            again = run.use_artifact("root/arts/cnn:v0")
            print("FILE", again.file(), [r.id for r in again.used_by()], again.logged_by().id)
            given = tracklet.Artifact("inputs", type="dataset")  # new, given to use_artifact: an input of the run
            given.add_file("data/b.txt")
            run.use_artifact(given)
            print("INPUT", given.wait(timeout=60).version)
    """)
    assert use.returncode == 0, use.stderr
    lines = tagged(use.stdout)
    assert lines["ROOT"] == str(workdir / "artifacts" / "ds:v1")
    assert tree(workdir / "artifacts" / "ds:v1") == tree(data)
    c_digest = hashlib.sha256((data / "sub" / "c.bin").read_bytes()).hexdigest()
    assert lines["ENTRY"] == f"sub/c.bin 200000 {c_digest}"
    assert (workdir / "single" / "sub" / "c.bin").read_bytes() == (data / "sub" / "c.bin").read_bytes()
    assert lines["BEST"].split()[0] == "v0"
    assert (workdir / "artifacts" / "ds:v0" / "a.txt").read_text() == "first\n"
    model_file, _, runs = lines["FILE"].partition(" ")
    assert Path(model_file) == workdir / "artifacts" / "cnn:v0" / "model.txt"
    assert Path(model_file).read_text() == "weights"

    with api(server) as http:
        used = http.get("/runs/root/arts/use00001/artifacts", params={"direction": "used"}).json()
        # "inputs" was given to use_artifact new: the run used it (found by its digest), no run logged it.
        assert sorted((v["name"], v["version"]) for v in used) == [("cnn", "v0"), ("ds", "v0"), ("ds", "v1"),
                                                                   ("inputs", "v0")]
        logged = http.get("/runs/root/arts/use00001/artifacts", params={"direction": "logged"}).json()
        assert [(v["name"], v["version"]) for v in logged] == [("cnn", "v0")]
        first_logged = http.get("/runs/root/arts/log00001/artifacts", params={"direction": "logged"}).json()
        assert [(v["name"], v["version"]) for v in first_logged] == [("ds", "v0")]
        v1 = http.get("/artifacts/root/arts/ds/v1").json()
        assert v1["used_by"] == ["use00001"]
        assert lines["INPUT"] == "v0"
        assert http.get("/artifacts/root/arts/inputs/v0").json()["logged_by"] is None


def rss_of(command: list[str], cwd: Path) -> tuple[int, float]:
    """Run ``command``; its exit status and peak resident memory in MiB (the OS's count, at exit)."""
    measure = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
               "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", measure, *command], cwd=cwd, capture_output=True, text=True,
                         timeout=600)
    code, peak = out.stdout.split()[-2:]
    return int(code), float(peak)


LOG_FILE_OFFLINE = """
import tracklet
with tracklet.init(project="big", id={run_id!r}, mode="offline") as run:
    artifact = tracklet.Artifact({name!r}, type="dataset")
    artifact.add_file({path!r})
    run.log_artifact(artifact)
"""

DOWNLOAD = """
import logging, sys, tracklet
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(name)s %(message)s")
logging.getLogger("httpx").setLevel(logging.WARNING)

def status(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith(field + ":"))

with tracklet.init(project="big", id={run_id!r}) as run:
    artifact = run.use_artifact("big:latest")
    before = status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak (VmHWM) starts again from the current size
    print("STARTED", flush=True)
    path = artifact.file()
    print("RSS", before, status("VmHWM"))
    print("PATH", path)
"""


def test_a_300_mb_file_goes_up_and_down_in_bounded_memory(server: ServerProcess, run_script, workdir: Path,
                                                          capsys) -> None:  # type: ignore[no-untyped-def]
    (workdir / "tiny.bin").write_bytes(b"x" * 1000)
    small = run_script(LOG_FILE_OFFLINE.format(run_id="tiny0001", name="tiny", path="tiny.bin"))
    assert small.returncode == 0, small.stderr
    code, baseline = rss_of([sys.executable, "-m", "tracklet.cli.main", "sync", "tracklet"], workdir)
    assert code == 0

    digest = write_random(workdir / "big.bin", 300 * MB)
    logged = run_script(LOG_FILE_OFFLINE.format(run_id="big00001", name="big", path="big.bin"), timeout=300)
    assert logged.returncode == 0, logged.stderr
    big_run = next(r for r in run_dirs(workdir) if r.run_id == "big00001")
    assert sha256_file(big_run.dir / "artifacts" / "blobs" / digest) == digest
    code, uploading = rss_of([sys.executable, "-m", "tracklet.cli.main", "sync", str(big_run.dir)], workdir)
    assert code == 0
    assert [b.name for b in server_blobs(server) if b.stat().st_size > MB] == [digest]

    download = run_script(DOWNLOAD.format(run_id="down0001"), timeout=300)
    assert download.returncode == 0, download.stderr
    lines = tagged(download.stdout)
    before, after = map(float, lines["RSS"].split())
    assert sha256_file(Path(lines["PATH"])) == digest
    with capsys.disabled():
        print(f"\n300 MB artifact: sync peak RSS {uploading:.0f} MiB (baseline sync of a 1 KB artifact "
              f"{baseline:.0f} MiB); download peak RSS {after:.0f} MiB (when it started {before:.0f} MiB)")
    assert uploading - baseline < 100
    assert after - before < 100


def agent_pid(run_dir: str) -> int:
    found = subprocess.run(["pgrep", "-f", f"tracklet.agent {run_dir}"], capture_output=True, text=True).stdout.split()
    assert len(found) == 1, found
    return int(found[0])


def test_agent_killed_mid_upload_then_sync_completes_it(server: ServerProcess, run_script, workdir: Path) -> None:
    digest = write_random(workdir / "big.bin", 450 * MB)  # 7 parts: the kill lands while some are in flight
    proc = start_script(workdir, """
        import tracklet
        run = tracklet.init(project="big", id="kill0001")
        artifact = tracklet.Artifact("big", type="dataset")
        artifact.add_file("big.bin")
        run.log_artifact(artifact)
        print(run.sync_dir, flush=True)
        run.finish()
    """)
    assert proc.stdout is not None
    run_dir = proc.stdout.readline().strip()
    agent = agent_pid(run_dir)
    parts = server.data_dir / "files" / "blobs" / "parts" / digest
    wait_for(lambda: parts.is_dir() and any(p.name.isdigit() for p in parts.iterdir()), timeout=120)
    os.kill(agent, signal.SIGKILL)
    stored = sorted(int(p.name) for p in parts.iterdir() if p.name.isdigit())
    assert 1 <= len(stored) < 7 and not (server.data_dir / "files" / "blobs" / digest[:2] / digest).exists()
    proc.stdout.read()
    proc.stdout.close()
    assert proc.wait(timeout=120) == 0
    with api(server) as http:
        assert http.get("/artifacts/root/big/big/versions").status_code == 404  # not created yet

    synced = tracklet_cli("sync", run_dir, cwd=workdir)
    assert synced.returncode == 0, synced.stderr
    with api(server) as http:
        versions = http.get("/artifacts/root/big/big/versions").json()
        assert [(v["version"], v["digest"] != "", v["logged_by"]) for v in versions] == [("v0", True, "kill0001")]
    assert not parts.exists()  # joined and removed
    download = run_script(DOWNLOAD.format(run_id="down0002"), timeout=300)
    assert download.returncode == 0, download.stderr
    assert sha256_file(workdir / "artifacts" / "big:v0" / "big.bin") == digest


def test_an_interrupted_download_resumes_with_a_range_request(server: ServerProcess, run_script,
                                                               workdir: Path) -> None:
    digest = write_random(workdir / "big.bin", 300 * MB)
    logged = run_script("""
        import tracklet
        with tracklet.init(project="big", id="resume01") as run:
            artifact = tracklet.Artifact("big", type="dataset")
            artifact.add_file("big.bin")
            run.log_artifact(artifact)
            artifact.wait(timeout=120)
    """, timeout=300)
    assert logged.returncode == 0, logged.stderr
    proc = start_script(workdir, DOWNLOAD.format(run_id="down0003"), name="download.py")
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("STARTED")
    folder = workdir / "artifacts" / "big:v0"

    def partial() -> Path | None:
        found = list(folder.glob(".big.bin.*.part")) if folder.is_dir() else []
        return found[0] if found and found[0].stat().st_size > 20 * MB else None

    wait_for(lambda: partial() is not None, timeout=120)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    left = partial()
    assert left is not None and left.stat().st_size < 300 * MB and not (folder / "big.bin").exists()
    have = left.stat().st_size

    resumed = run_script(DOWNLOAD.format(run_id="down0004"), name="download.py", timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"tracklet.artifacts big.bin: resuming the download at byte {have}" in resumed.stdout
    assert sha256_file(folder / "big.bin") == digest
    assert not list(folder.glob(".*.part"))


def test_a_damaged_copy_fails_verify_and_download_with_a_clear_error(server: ServerProcess, run_script,
                                                                     workdir: Path) -> None:
    (workdir / "data").mkdir()
    (workdir / "data" / "weights.bin").write_bytes(b"\x01" * 5000)
    (workdir / "data" / "notes.txt").write_text("notes\n")
    result = run_script("""
        import tracklet
        with tracklet.init(project="arts", id="dmg00001") as run:
            artifact = tracklet.Artifact("model", type="model")
            artifact.add_dir("data")
            run.log_artifact(artifact)
            artifact.wait(timeout=60)
            used = run.use_artifact("model:v0")
            used.download()
            used.verify()
            print("VERIFIED")
    """)
    assert result.returncode == 0, result.stderr
    assert "VERIFIED" in result.stdout
    copy = workdir / "artifacts" / "model:v0"

    check = """
        import tracklet
        with tracklet.init(project="arts") as run:
            used = run.use_artifact("model:v0")
            try:
                used.{call}()
            except tracklet.Error as exc:
                print("ERROR", exc)
    """
    (copy / "notes.txt").write_text("NOTES\n")  # same size, other bytes
    verify = run_script(check.format(call="verify"))
    assert "ERROR model:v0: verify: notes.txt in" in verify.stdout and "has SHA-256" in verify.stdout
    (copy / "notes.txt").write_text("notes\n")
    (copy / "extra.txt").write_text("?")
    verify = run_script(check.format(call="verify"))
    assert "extra.txt" in verify.stdout and "is not in the artifact" in verify.stdout

    weights = hashlib.sha256(b"\x01" * 5000).hexdigest()
    (server.data_dir / "files" / "blobs" / weights[:2] / weights).write_bytes(b"\x02" * 5000)  # damaged in the store
    (copy / "weights.bin").unlink()
    download = run_script(check.format(call="download"))
    assert download.returncode == 0, download.stderr
    damaged = hashlib.sha256(b"\x02" * 5000).hexdigest()
    assert f"ERROR model:v0: weights.bin arrived with SHA-256 {damaged} (5000 bytes)" in download.stdout
    assert f"the manifest says {weights}" in download.stdout
    assert not (copy / "weights.bin").exists() and not list(copy.glob(".*.part"))


def test_offline_artifacts_are_used_locally_and_synced(server: ServerProcess, run_script, workdir: Path) -> None:
    (workdir / "table.csv").write_text("a,b\n1,2\n")
    (workdir / "ref.txt").write_text("kept elsewhere\n")
    logged = run_script("""
        import tracklet
        with tracklet.init(project="off", id="offlog01", mode="offline") as run:
            data = tracklet.Artifact("rows", type="dataset")
            data.add_file("table.csv")
            data.add_reference("file://" + __import__("os").path.abspath("ref.txt"), name="refs/ref.txt")
            data.add(tracklet.Table(columns=["a", "b"], data=[[1, 2]]), "preview")
            run.log_artifact(data, aliases=["v-first"])
            try:
                data.wait()
            except tracklet.Error as exc:
                print("WAIT", exc)
    """)
    assert logged.returncode == 0, logged.stderr
    assert "WAIT wait: artifact 'rows' was logged by an offline run" in logged.stdout
    used = run_script("""
        import tracklet
        with tracklet.init(project="off", id="offuse01", mode="offline") as run:
            data = run.use_artifact("rows:v-first")
            print("ROOT", data.download())
            data.verify()
            try:
                run.use_artifact("rows:v0")
            except tracklet.UsageError as exc:
                print("NUMBERED", exc)
    """)
    assert used.returncode == 0, used.stderr
    root = Path(next(line[5:] for line in used.stdout.splitlines() if line.startswith("ROOT ")))
    assert root.parent == workdir / "artifacts" and root.name.startswith("rows:")
    assert (root / "table.csv").read_text() == "a,b\n1,2\n"
    assert (root / "refs" / "ref.txt").read_text() == "kept elsewhere\n"
    assert json.loads((root / "preview.table.json").read_text()) == {"columns": ["a", "b"], "data": [[1, 2]]}
    assert "version numbers are given by the server" in used.stdout

    with api(server) as http:
        assert http.get("/artifacts/root/off").json() == []
    synced = tracklet_cli("sync", "tracklet", cwd=workdir)
    assert synced.returncode == 0, synced.stderr
    with api(server) as http:
        version = http.get("/artifacts/root/off/rows/latest").json()
        assert (version["version"], version["aliases"], version["logged_by"]) == ("v0", ["latest", "v-first"],
                                                                                   "offlog01")
        entries = version["manifest"]["entries"]
        assert sorted(entries) == ["preview.table.json", "refs/ref.txt", "table.csv"]
        assert entries["refs/ref.txt"]["ref"].startswith("file://")
        assert len(server_blobs(server)) == 2  # the reference is not stored
        # The offline use named the version by its contents: its lineage is there after sync.
        assert version["used_by"] == ["offuse01"]


def test_bad_input_raises_usage_errors_and_loses_nothing(run_script, workdir: Path) -> None:
    (workdir / "ok.txt").write_text("ok")
    result = run_script("""
        import tracklet
        run = tracklet.init(project="bad", mode="offline")
        run.log({"loss": 1.0})
        good = tracklet.Artifact("good", type="model")
        good.add_file("ok.txt")
        cases = [
            lambda: tracklet.Artifact("has space", type="model"),
            lambda: tracklet.Artifact("x", type="a/b"),
            lambda: tracklet.Artifact("x", type="t", metadata={"nan": float("nan")}),
            lambda: tracklet.Artifact("x", type="t").add_file("missing.txt"),
            lambda: tracklet.Artifact("x", type="t").add_file("ok.txt", name="../up.txt"),
            lambda: tracklet.Artifact("x", type="t").add_dir("ok.txt"),
            lambda: tracklet.Artifact("x", type="t").add_reference("ftp://host/file"),
            lambda: tracklet.Artifact("x", type="t").add_reference("file:///nowhere/at/all"),
            lambda: tracklet.Artifact("x", type="t").new_file("/abs.txt"),
            lambda: tracklet.Artifact("x", type="t").add(object(), "thing"),
            lambda: good.add_file("ok.txt"),
            lambda: run.log_artifact(good, aliases=["v3"]),
            lambda: run.log_artifact("missing-folder"),
            lambda: run.use_artifact("good:v0"),
            lambda: run.use_artifact("a/b/c/d:v0"),
            lambda: run.use_artifact(good, type="dataset"),
        ]
        for case in cases:
            try:
                case()
            except tracklet.UsageError as exc:
                print("UsageError:", exc)
            else:
                print("no error")
        run.log_artifact(good, aliases=["best"])
        run.log({"loss": 0.5})
        run.finish()
    """)
    assert result.returncode == 0, result.stderr
    messages = [line for line in result.stdout.splitlines() if line.startswith(("UsageError", "no error"))]
    cwd = str(workdir)
    assert messages == [
        "UsageError: artifact name must be 1 to 128 letters, digits, '-', '_' or '.', got 'has space'",
        "UsageError: artifact type must be 1 to 64 letters, digits, '-', '_' or '.', got 'a/b'",
        "UsageError: Artifact: metadata must hold JSON values (finite numbers, strings, lists, dicts with string "
        "keys): Out of range float values are not JSON compliant",
        "UsageError: add_file: local_path: 'missing.txt' is not a file",
        "UsageError: add_file: name: entry name '../up.txt' may not contain empty, '.' or '..' parts",
        "UsageError: add_dir: local_path: 'ok.txt' is not a folder",
        "UsageError: add_reference: uri: the scheme 'ftp' is not supported (file, s3, http, https), got "
        "'ftp://host/file'",
        "UsageError: add_reference: 'file:///nowhere/at/all' names no file (/nowhere/at/all does not exist)",
        "UsageError: new_file: name: entry name '/abs.txt' must be relative",
        "UsageError: add: obj must be a tracklet media value (Table, Image, ...), got object",
        "UsageError: add_file: the artifact already has an entry 'ok.txt' (pass overwrite=True to replace it)",
        "UsageError: log_artifact: aliases: 'v3' cannot be an alias: it reads as a version",
        "UsageError: log_artifact: 'missing-folder' is not a file, a folder or a URI",
        f"UsageError: use_artifact: good:v0: version numbers are given by the server; offline, use 'good:latest' "
        f"or an alias of a version logged by a run of {cwd}/tracklet",
        "UsageError: use_artifact: name: 'a/b/c/d:v0' must be 'name:version', 'project/name:version' or "
        "'entity/project/name:version'",
        "UsageError: use_artifact: artifact 'good' has type 'model', not 'dataset'",
    ]
    from tracklet.sdk import local

    run = only_run(workdir)
    records = local.read_records(run.log_path)
    artifacts = [r.body for r in records if r.type.name == "ARTIFACT"]
    assert [(a["action"], a["name"], a["aliases"]) for a in artifacts] == [("log", "good", ["best"])]
    assert [r.body["data"]["loss"] for r in records if r.type.name == "HISTORY"] == [1.0, 0.5]
    assert (run.dir / artifacts[0]["manifest"]).is_file()


def test_use_artifact_online_without_the_server_is_a_clear_comm_error(run_script, workdir: Path) -> None:
    from tests.conftest import free_port

    result = run_script(f"""
        import tracklet
        with tracklet.init(project="p", settings={{"base_url": "http://127.0.0.1:{free_port()}",
                                                   "api_key": "k" * 40, "finish_timeout": 1}}) as run:
            try:
                run.use_artifact("data:latest")
            except tracklet.CommError as exc:
                print("CommError:", exc)
    """)
    assert result.returncode == 0, result.stderr
    assert "CommError: use_artifact(data:latest): could not reach the Tracklet server at http://127.0.0.1:" \
        in result.stdout


def test_new_file_artifact_logged_just_before_exit_is_kept(run_script, workdir: Path) -> None:  # type: ignore[no-untyped-def]
    # The run is finished by the exit hook; new_file's temporary folder must outlive it (HF
    # Transformers logs its final model this way, from a Trainer callback, and never calls finish).
    result = run_script("""
        import tracklet
        run = tracklet.init(project="exit", mode="offline")
        artifact = tracklet.Artifact("model-exit", type="model")
        with artifact.new_file("weights.bin", mode="wb") as f:
            f.write(b"w" * 1000)
        run.log_artifact(artifact)
    """)
    assert result.returncode == 0, result.stderr
    assert "was not logged" not in result.stderr
    [manifest] = (only_run(workdir).dir / "artifacts").glob("*.manifest.json")
    assert "weights.bin" in json.loads(manifest.read_text())["entries"]
