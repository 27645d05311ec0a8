"""Benchmark artifact upload and download: Tracklet against wandb (offline) and MLflow.

Two data sets of random bytes, made once per shape outside the timed region: 1 GiB in
1,000 files, and 1 GiB in one file (`--size`, `--files`). For each shape, round-robin
over the trackers, `--repeat` times, every step in a fresh process:

- tracklet: a `tracklet server` on a free loopback port (fresh SQLite store and file
  folder for every measurement). Upload: `init`, then, timed, `Artifact` + `add_dir` or
  `add_file` + `run.log_artifact` + `finish` + `artifact.wait()` (the server has the
  version); the agent's exit is timed too. Download: another process,
  `run.use_artifact("data:latest").download(root)`.
- wandb: offline (`WANDB_MODE=offline`). Upload: `wandb.Artifact` + `add_dir`/`add_file` +
  `run.log_artifact` + `finish`; offline this only stages (copies) the files locally.
  Download: tried (`use_artifact(...).download()` in a new process, `Artifact.download()`
  after `finish`); offline wandb refuses both, and the table says so.
- mlflow: `mlflow.log_artifacts(dir)` / `log_artifact(file)` + `end_run` into a SQLite
  tracking store with its artifact location on local disk (no server); download with
  `mlflow.artifacts.download_artifacts(run_id=..., dst_path=...)`.
- mlflow-server: the same calls against an `mlflow server --serve-artifacts` on loopback
  (SQLite, `--artifacts-destination` on local disk): the like-for-like HTTP case.

Each figure is the median over the repeats; ratios say how many times Tracklet is better
(faster, or smaller). Raw results go to bench/results/artifacts-<timestamp>.json.

Run with the bench venv:  .bench-venv/bin/python bench/artifact_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from child import RESULT_PREFIX, cpu_s, dir_bytes, helpers_peak_mib, maxrss_mib
from sdk_bench import Samples, fmt, run_child, save_results, version
from trackers import COMMON_ENV, Mlflow, Tracker, Tracklet, Wandb

BENCH_DIR = Path(__file__).resolve().parent
SELF = Path(__file__).resolve()
MIB = 1024 * 1024
PROJECT = "bench-artifacts"
ARTIFACT = "data"  # the artifact's name (Tracklet, wandb) and artifact_path (MLflow)
ONE_FILE = "data.bin"
WRITE_CHUNK = 16 * MIB
SAMPLE_SECONDS = 0.2  # how often a child reads the peak RSS of its helper processes
WAIT_SECONDS = 1800.0  # Tracklet: artifact.wait() and the agent's exit, at most
DISK_FACTOR = 6  # free disk needed, in data sizes: source + staged copy + store + parts + download + slack


# --- the measuring processes ---------------------------------------------------------------------


class PeakSampler(threading.Thread):
    """The largest sum of VmHWM over this process's live descendants, read every SAMPLE_SECONDS.

    An uploading agent exits before the child reports, so one reading at the end would miss it.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(SAMPLE_SECONDS):  # bounded: ends when finish() sets _done
            self.peak = max(self.peak, helpers_peak_mib())

    def finish(self) -> float:
        self.peak = max(self.peak, helpers_peak_mib())
        self._done.set()
        self.join()
        return self.peak


def reap_children(timeout: float) -> int:
    """Wait for this process's child processes to exit (an agent that is never waited for), so that
    RUSAGE_CHILDREN counts them; how many were reaped."""
    me = str(os.getpid())
    pids = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[1] == me:
            pids.append(int(entry))
    deadline = time.monotonic() + timeout
    reaped = 0
    for pid in pids:
        while True:  # bounded by the deadline
            try:
                done, _status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break  # reaped elsewhere (subprocess's own clean-up)
            if done:
                reaped += 1
                break
            if time.monotonic() > deadline:
                return reaped
            time.sleep(0.02)
    return reaped


def tracklet_upload(source: Path, store: str, kind: str) -> dict[str, Any]:
    import tracklet

    run = tracklet.init(project=PROJECT, job_type="upload")
    cpu0, start = cpu_s(resource.RUSAGE_SELF), time.perf_counter()
    artifact = tracklet.Artifact(ARTIFACT, type="dataset")
    if kind == "dir":
        artifact.add_dir(str(source))
    else:
        artifact.add_file(str(source))
    run.log_artifact(artifact)
    logged = time.perf_counter()
    artifact.digest  # noqa: B018 - waits until staged; finish would wait for it first anyway
    staged = time.perf_counter()
    run.finish()
    finished = time.perf_counter()
    artifact.wait(timeout=WAIT_SECONDS)
    stored = time.perf_counter()
    cpu_self = cpu_s(resource.RUSAGE_SELF) - cpu0
    reap_children(WAIT_SECONDS)
    agent_exit = time.perf_counter()
    return {"upload_s": stored - start, "log_call_s": logged - start, "staged_s": staged - start,
            "finish_s": finished - start, "agent_exit_s": agent_exit - start, "cpu_self_s": cpu_self,
            "version": artifact.version}  # fmt: skip


def tracklet_download(dest: Path, store: str, kind: str, ref: str) -> dict[str, Any]:
    import tracklet

    run = tracklet.init(project=PROJECT, job_type="download")
    cpu0, start = cpu_s(resource.RUSAGE_SELF), time.perf_counter()
    artifact = run.use_artifact(f"{ARTIFACT}:latest")
    artifact.download(str(dest))
    done = time.perf_counter()
    cpu_self = cpu_s(resource.RUSAGE_SELF) - cpu0
    run.finish()
    reap_children(60)
    return {"download_s": done - start, "cpu_self_s": cpu_self, "version": artifact.version}


def wandb_upload(source: Path, store: str, kind: str) -> dict[str, Any]:
    import wandb

    run = wandb.init(project=PROJECT, dir=str(Path.cwd()), mode="offline")
    cpu0, start = cpu_s(resource.RUSAGE_SELF), time.perf_counter()
    artifact = wandb.Artifact(ARTIFACT, type="dataset")
    if kind == "dir":
        artifact.add_dir(str(source))
    else:
        artifact.add_file(str(source))
    run.log_artifact(artifact)
    logged = time.perf_counter()
    run.finish()
    finished = time.perf_counter()
    cpu_self = cpu_s(resource.RUSAGE_SELF) - cpu0
    result: dict[str, Any] = {"upload_s": finished - start, "log_call_s": logged - start,
                              "finish_s": finished - start, "cpu_self_s": cpu_self}  # fmt: skip
    try:  # the logged artifact's own download, from what it staged
        started = time.perf_counter()
        artifact.download(root=str(Path(store) / "after-finish"))
        result["download_after_finish_s"] = time.perf_counter() - started
    except Exception as exc:  # noqa: BLE001 - reported in the table's notes
        result["download_after_finish_error"] = f"{type(exc).__name__}: {exc}"
    wandb.teardown()
    reap_children(60)
    return result


def wandb_download(dest: Path, store: str, kind: str, ref: str) -> dict[str, Any]:
    import wandb

    run = wandb.init(project=PROJECT, dir=str(Path.cwd()), mode="offline")
    result: dict[str, Any] = {}
    try:
        cpu0, start = cpu_s(resource.RUSAGE_SELF), time.perf_counter()
        run.use_artifact(f"{ARTIFACT}:latest").download(root=str(dest))
        result.update(download_s=time.perf_counter() - start, cpu_self_s=cpu_s(resource.RUSAGE_SELF) - cpu0)
    except Exception as exc:  # noqa: BLE001 - offline wandb refuses; reported in the table's notes
        result["error"] = f"{type(exc).__name__}: {exc}"
    run.finish()
    wandb.teardown()
    reap_children(60)
    return result


def mlflow_uri(store: str) -> str:
    """A server's URL as it is, a local store folder as its SQLite database."""
    return store if store.startswith("http") else f"sqlite:///{Path(store) / 'mlflow.db'}"


def mlflow_upload(source: Path, store: str, kind: str) -> dict[str, Any]:
    import mlflow

    mlflow.set_tracking_uri(mlflow_uri(store))
    local = not store.startswith("http")
    # A local store keeps its artifacts where the experiment says (default: ./mlruns of the process);
    # a server's experiments default to mlflow-artifacts:/, which the server stores (--serve-artifacts).
    location = (Path(store) / "artifacts").as_uri() if local else None
    experiment = mlflow.create_experiment(PROJECT, artifact_location=location)
    run = mlflow.start_run(experiment_id=experiment)
    cpu0, start = cpu_s(resource.RUSAGE_SELF), time.perf_counter()
    if kind == "dir":
        mlflow.log_artifacts(str(source), artifact_path=ARTIFACT)
    else:
        mlflow.log_artifact(str(source), artifact_path=ARTIFACT)
    logged = time.perf_counter()
    mlflow.end_run()
    finished = time.perf_counter()
    return {"upload_s": finished - start, "log_call_s": logged - start, "finish_s": finished - start,
            "cpu_self_s": cpu_s(resource.RUSAGE_SELF) - cpu0, "run_id": run.info.run_id,
            "artifact_uri": run.info.artifact_uri}  # fmt: skip


def mlflow_download(dest: Path, store: str, kind: str, ref: str) -> dict[str, Any]:
    import mlflow

    mlflow.set_tracking_uri(mlflow_uri(store))
    mlflow.search_experiments(max_results=1)  # untimed: opening the store (a SQLite schema check)
    cpu0, start = cpu_s(resource.RUSAGE_SELF), time.perf_counter()
    mlflow.artifacts.download_artifacts(run_id=ref, artifact_path=ARTIFACT, dst_path=str(dest))
    return {"download_s": time.perf_counter() - start, "cpu_self_s": cpu_s(resource.RUSAGE_SELF) - cpu0}


CHILD_STEPS: dict[str, dict[str, Callable[..., dict[str, Any]]]] = {
    "upload": {"tracklet": tracklet_upload, "wandb": wandb_upload, "mlflow": mlflow_upload,
               "mlflow-server": mlflow_upload},
    "download": {"tracklet": tracklet_download, "wandb": wandb_download, "mlflow": mlflow_download,
                 "mlflow-server": mlflow_download},
}  # fmt: skip


def child_main(argv: list[str]) -> None:
    """``artifact_bench.py child upload|download TRACKER PATH STORE KIND [REF]``: one JSON result line.

    PATH is the source (upload) or the destination folder (download); STORE the server's URL or the
    local store's folder; REF what the upload answered (MLflow's run id).
    """
    step, name, path, store, kind, *ref = argv
    sampler = PeakSampler()
    sampler.start()
    result = CHILD_STEPS[step][name](Path(path), store, kind, *ref)
    result["helpers_peak_mib"] = sampler.finish()
    result["maxrss_self_mib"] = maxrss_mib(resource.RUSAGE_SELF)
    result["maxrss_children_mib"] = maxrss_mib(resource.RUSAGE_CHILDREN)
    result["cpu_children_s"] = cpu_s(resource.RUSAGE_CHILDREN)  # the agent, wandb-core: their whole life
    result["client_bytes"] = dir_bytes(Path.cwd()) + dir_bytes(Path.home())  # staged copies, caches
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# --- the trackers, as the parent drives them ---------------------------------------------------------


def tree_peak_mib(pid: int) -> float:
    """Sum of VmHWM of `pid` and its live descendants (a server and its workers), in MiB."""
    parents: dict[int, int] = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            parents[int(entry)] = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
    tree, todo = {pid}, [pid]
    while todo:  # bounded: each pid is added once
        parent = todo.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in tree:
                tree.add(child)
                todo.append(child)
    total = 0
    for p in tree:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        total += sum(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return total / 1024


class Side(Tracker):
    """A tracker with the store its children use: opened before a measurement, closed after it."""

    server: Any = None

    def open(self, case: Path, env: dict[str, str]) -> str:
        """Prepare the store below `case`; the STORE argument of the children."""
        return str(case / "store")

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def store_bytes(self, case: Path) -> int:
        return dir_bytes(case / "store")

    def server_cpu_s(self) -> float | None:
        return self.server.cpu_seconds() if self.server is not None else None

    def server_peak_mib(self) -> float | None:
        proc = self.server.proc if self.server is not None else None
        return tree_peak_mib(proc.pid) if proc is not None and proc.poll() is None else None


class TrackletSide(Side, Tracklet):
    note = ("a `tracklet server` on loopback (SQLite, blobs on local disk); upload = until "
            "`artifact.wait()` returns after `finish`, i.e. the server has the version")  # fmt: skip

    def open(self, case: Path, env: dict[str, str]) -> str:
        from server_bench import TrackletServer

        self.server = TrackletServer(case / "server", env)
        self.server.start()
        self.server.settle()
        return str(self.server.url)

    def env(self, data_dir: Path) -> dict[str, str]:
        # the server's URL and admin key, written by the server into its private client settings
        return {**super().env(data_dir), "TRACKLET_CONFIG_DIR": str(self.server.config_dir)}

    def store_bytes(self, case: Path) -> int:
        return dir_bytes(case / "server" / "data")


class WandbSide(Side, Wandb):
    note = ("offline: no server; upload = `add_dir`/`add_file` copy each file into wandb's staging "
            "folder (with its MD5), `log_artifact` + `finish` record it for a later `wandb sync`")  # fmt: skip


class MlflowSide(Side, Mlflow):
    note = "SQLite tracking store, artifact location a local folder: log_artifacts copies the files there"


class MlflowServerSide(Side, Mlflow):
    name = "mlflow-server"
    note = ("`mlflow server --serve-artifacts` on loopback (SQLite, --artifacts-destination on local disk, "
            "one worker): the client sends the files over HTTP")  # fmt: skip

    def open(self, case: Path, env: dict[str, str]) -> str:
        from server_bench import MlflowServer

        class ArtifactServer(MlflowServer):
            def command(self) -> list[str]:
                return [
                    sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{self.db}",
                    "--artifacts-destination", str(self.tmp / "artifacts"), "--serve-artifacts",
                    "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
                ]  # fmt: skip

        self.server = ArtifactServer(case / "server", env)
        self.server.start()
        self.server.settle()
        return str(self.server.url)

    def store_bytes(self, case: Path) -> int:
        return dir_bytes(case / "server" / "artifacts")


SIDES: dict[str, Side] = {s.name: s for s in (TrackletSide(), WandbSide(), MlflowSide(), MlflowServerSide())}


# --- the run -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    key: str
    files: int
    title: str


def make_data(root: Path, total: int, files: int, seed: int) -> tuple[Path, str]:
    """`files` files of random bytes below `root`, `total` bytes in all (sizes differ by at most one
    byte); the upload source (the folder, or the one file) and its kind."""
    rand = random.Random(seed)
    root.mkdir(parents=True)
    base, extra = divmod(total, files)
    names = [ONE_FILE] if files == 1 else [f"{i:0{len(str(files - 1))}d}.bin" for i in range(files)]
    for i, name in enumerate(names):
        size = base + (i < extra)
        with open(root / name, "wb") as f:
            for lo in range(0, size, WRITE_CHUNK):
                f.write(rand.randbytes(min(WRITE_CHUNK, size - lo)))
    os.sync()  # written back now, not during the first measurement
    return (root, "dir") if files > 1 else (root / ONE_FILE, "file")


def tree_files(root: Path) -> tuple[int, int]:
    """(files, bytes) below `root`, leaving out hidden files (a download's partial files)."""
    files = size = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            if not name.startswith("."):
                files += 1
                size += os.path.getsize(os.path.join(dirpath, name))
    return files, size


def measure(side: Side, source: Path, kind: str, expected: tuple[int, int], work: Path,
            args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """One upload process and one download process against a fresh store; (upload, download) results."""
    case = Path(tempfile.mkdtemp(prefix=f"{side.name}-", dir=work))
    (case / "home").mkdir()
    (case / "store").mkdir()
    env = {**os.environ, **COMMON_ENV, "HOME": str(case / "home"), "PYTHONUNBUFFERED": "1"}
    try:
        store = side.open(case, env)
        cpu0 = side.server_cpu_s()
        up = run_child(side, lambda t, data: [str(SELF), "child", "upload", t.name, str(source), store, kind],
                       args.timeout, args.keep)
        if cpu0 is not None:
            up["server_cpu_s"] = side.server_cpu_s() - cpu0  # type: ignore[operator]
            up["server_peak_mib"] = side.server_peak_mib()
        up["store_bytes"] = side.store_bytes(case)
        dest = case / "download"
        cpu0 = side.server_cpu_s()
        down = run_child(side, lambda t, data: [str(SELF), "child", "download", t.name, str(dest), store, kind,
                                                str(up.get("run_id", ""))], args.timeout, args.keep)
        if cpu0 is not None:
            down["server_cpu_s"] = side.server_cpu_s() - cpu0  # type: ignore[operator]
            down["server_peak_mib"] = side.server_peak_mib()
        if "error" not in down:
            found = tree_files(dest)
            if found != expected:
                raise RuntimeError(f"download: {found[0]} files, {found[1]} bytes, not {expected[0]}, {expected[1]}")
    finally:
        side.close()
        if args.keep:
            print(f"    kept {case}", file=sys.stderr)
        else:
            shutil.rmtree(case, ignore_errors=True)
        os.sync()  # what this case wrote is not written back during the next one
    return up, down


def run_shape(samples: list[Samples], shape: Shape, work: Path, args: argparse.Namespace) -> None:
    """Make the shape's data, measure every tracker `repeat` times round-robin, remove the data."""
    total = args.size * MIB
    print(f"{shape.title}: making the data", file=sys.stderr)
    source, kind = make_data(work / f"source-{shape.key}", total, shape.files, seed=shape.files)
    expected = (shape.files, total)
    try:
        for round_ in range(args.repeat):
            for s in samples:
                if s.error:
                    continue
                side = s.tracker
                assert isinstance(side, Side)
                started = time.perf_counter()
                try:
                    up, down = measure(side, source, kind, expected, work, args)
                except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                    s.error = f"{shape.key} failed: {exc}"
                    print(f"  {side.name}: {s.error}", file=sys.stderr)
                    continue
                s.runs.setdefault(f"{shape.key}/upload", []).append(up)
                s.runs.setdefault(f"{shape.key}/download", []).append(down)
                fetched = f"{down['download_s']:.1f} s" if "download_s" in down else "refused"
                print(f"  {shape.key} {round_ + 1}/{args.repeat} {side.name}: upload {up['upload_s']:.1f} s, "
                      f"download {fetched}, {time.perf_counter() - started:.0f} s wall", file=sys.stderr)
    finally:
        shutil.rmtree(source if kind == "dir" else source.parent, ignore_errors=True)


# --- the table -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    label: str
    value: Callable[[dict[str, Any], dict[str, Any], int], float | None]  # (upload, download, bytes) -> figure
    digits: int
    higher_is_better: bool = False
    download: bool = False  # "n/a offline" where the download was refused


def _get(result: dict[str, Any], key: str, scale: float = 1.0) -> float | None:
    value = result.get(key)
    return None if value is None else value * scale


def _sum(*values: float | None) -> float | None:
    return None if any(v is None for v in values) else sum(values)  # type: ignore[arg-type]


ROWS = (
    Row("upload (s)", lambda u, d, n: _get(u, "upload_s"), 2),
    Row("upload (MB/s)", lambda u, d, n: n / 1e6 / u["upload_s"], 0, higher_is_better=True),
    Row("add + log_artifact returned after (s) ¹", lambda u, d, n: _get(u, "log_call_s"), 2),
    Row("Tracklet: staged (hashed, copied) by the SDK after (s) ¹", lambda u, d, n: _get(u, "staged_s"), 2),
    Row("finish / end_run returned after (s) ¹", lambda u, d, n: _get(u, "finish_s"), 2),
    Row("download (s)", lambda u, d, n: _get(d, "download_s"), 2, download=True),
    Row("download (MB/s)", lambda u, d, n: n / 1e6 / d["download_s"] if "download_s" in d else None, 0,
        higher_is_better=True, download=True),
    Row("CPU, upload: client + helpers + server (s) ²",
        lambda u, d, n: _sum(u["cpu_self_s"], u["cpu_children_s"], u.get("server_cpu_s", 0.0)), 1),
    Row("CPU, download: client + helpers + server (s) ²",
        lambda u, d, n: _sum(d.get("cpu_self_s"), d["cpu_children_s"], d.get("server_cpu_s", 0.0)), 1, download=True),
    Row("peak RSS, uploading process (MiB)", lambda u, d, n: _get(u, "maxrss_self_mib"), 0),
    Row("peak RSS, its helper processes (MiB) ³", lambda u, d, n: _get(u, "helpers_peak_mib"), 0),
    Row("peak RSS, downloading process (MiB)", lambda u, d, n: _get(d, "maxrss_self_mib"), 0, download=True),
    Row("peak RSS, server (MiB) ⁴", lambda u, d, n: _get(d, "server_peak_mib"), 0),
    Row("bytes left on the client (GB) ⁵", lambda u, d, n: _get(u, "client_bytes", 1e-9), 2),
    Row("bytes in the store (GB)", lambda u, d, n: _get(u, "store_bytes", 1e-9), 2),
)


def median_of(s: Samples, shape: str, row: Row, total: int) -> float | None:
    values = []
    for up, down in zip(s.runs.get(f"{shape}/upload", []), s.runs.get(f"{shape}/download", [])):
        value = row.value(up, down, total)
        if value is not None:
            values.append(value)
    return statistics.median(values) if values else None


def refused(s: Samples, shape: str) -> bool:
    downloads = s.runs.get(f"{shape}/download", [])
    return bool(downloads) and all("error" in d for d in downloads)


def ratio_cell(value: float | None, base: float | None, higher_is_better: bool) -> str:
    """How many times Tracklet is better; "—" where either is zero (nothing to compare: no helper process)."""
    from server_bench import ratio

    return "—" if not value or not base else ratio(value, base, higher_is_better)


def table(samples: list[Samples], shapes: list[Shape], total: int) -> str:
    """Rows = figures by shape; columns = medians, and how many times Tracklet is better than each."""
    base = next((s for s in samples if s.tracker.name == "tracklet"), None)
    others = [s for s in samples if s is not base]
    header = ["figure", "tracklet"]
    for s in others:
        header += [s.tracker.name, f"tracklet vs {s.tracker.name}"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for shape in shapes:
        lines.append("| " + " | ".join([f"**{shape.title}**"] + [""] * (len(header) - 1)) + " |")
        for row in ROWS:
            base_value = median_of(base, shape.key, row, total) if base else None
            cells = [row.label, fmt(base_value, row.digits)]
            for s in others:
                if row.download and refused(s, shape.key):
                    cells += ["n/a offline ⁶", "—"]
                    continue
                value = median_of(s, shape.key, row, total)
                cells += [fmt(value, row.digits), ratio_cell(value, base_value, row.higher_is_better)]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def notes(samples: list[Samples]) -> list[str]:
    out = [
        "ratios: how many times Tracklet is better (tracklet/other for MB/s; other/tracklet for seconds, "
        "MiB and GB); MB = 10^6 bytes",
        "¹ from the start of the timed region (before `Artifact(...)`). `add_dir`/`add_file` + `log_artifact` "
        "(MLflow: `log_artifacts`) is what the training thread waits for; Tracklet stages on its artifact "
        "thread, then its agent uploads; `finish` waits for the upload up to `finish_timeout` (60 s), and "
        "`upload` adds `artifact.wait()`",
        "² user + system seconds: the measuring process over the timed region, its helper processes over their "
        "life (Tracklet's agent, wandb-core), the server's process tree over the child's life (/proc)",
        f"³ the largest sum of VmHWM over the uploading process's live descendants, read every {SAMPLE_SECONDS:g} s: "
        "Tracklet's agent, wandb's wandb-core",
        "⁴ VmHWM of the server's process tree after the download (both steps); a fresh server per measurement",
        "⁵ below the uploading process's working and home directories after the upload: Tracklet's staging "
        "folder (a copy of every file), wandb's staging folder and run files",
    ]
    for s in samples:
        if s.tracker.note:
            out.append(f"{s.tracker.name}: {s.tracker.note}")
    for s in samples:
        errors = {d["error"] for runs in s.runs.values() for d in runs if "error" in d}
        errors |= {u["download_after_finish_error"] for runs in s.runs.values() for u in runs
                   if "download_after_finish_error" in u}  # fmt: skip
        for error in sorted(errors):
            out.append(f"⁶ {s.tracker.name}: download refused: {error}")
        if s.error:
            out.append(f"{s.tracker.name} dropped: {s.error}")
    return out


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=1024, help="MiB of data in each shape (default 1,024: 1 GiB)")
    p.add_argument("--files", type=int, default=1000, help="files in the many-files shape (default 1,000)")
    p.add_argument("--shapes", default="files,file", help="comma-separated subset of files,file")
    p.add_argument("--repeat", type=int, default=3, help="measurements per shape and tracker (median)")
    p.add_argument("--quick", action="store_true", help="smoke run: 64 MiB, 64 files, 1 measurement each")
    p.add_argument("--trackers", default=",".join(SIDES), help="comma-separated subset of " + ",".join(SIDES))
    p.add_argument("--timeout", type=float, default=1800, help="seconds per process")
    p.add_argument("--keep", action="store_true", help="keep the temporary stores and run directories")
    p.add_argument("--out", type=Path, default=BENCH_DIR / "results", help="raw JSON folder")
    args = p.parse_args()
    if args.quick:
        args.size, args.files, args.repeat = 64, 64, 1
    if args.size < 1 or args.files < 2:
        p.error("--size must be at least 1 (MiB) and --files at least 2")
    return args


def main() -> int:
    import importlib.util

    from server_bench import source_revision

    args = parse_args()
    for key in [k for k in os.environ if k.startswith(("TRACKLET_", "WANDB_", "MLFLOW_"))]:
        del os.environ[key]  # the caller's settings would point the children elsewhere
    samples = [Samples(SIDES[name]) for name in args.trackers.split(",")]
    for s in samples:
        if importlib.util.find_spec(s.tracker.module) is None:
            s.error = f"not installed in {sys.executable}"
            print(f"skipping {s.tracker.name}: {s.error}", file=sys.stderr)
    wanted = args.shapes.split(",")
    shapes = [shape for shape in (
        Shape("files", args.files, f"{args.size:,} MiB in {args.files:,} files"),
        Shape("file", 1, f"{args.size:,} MiB in one file"),
    ) if shape.key in wanted]  # fmt: skip

    work = Path(tempfile.mkdtemp(prefix="bench-artifacts-"))
    free = shutil.disk_usage(work).free
    if free < DISK_FACTOR * args.size * MIB:
        shutil.rmtree(work)
        print(f"{work.parent} has {free / 2**30:.1f} GiB free; --size {args.size} needs about "
              f"{DISK_FACTOR * args.size / 1024:.1f} GiB. Pick a smaller --size, or another TMPDIR", file=sys.stderr)
        return 2
    load_before = os.getloadavg()
    started = time.time()
    try:
        for shape in shapes:
            run_shape(samples, shape, work, args)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    elapsed = time.time() - started

    md = table(samples, shapes, args.size * MIB)
    info = (
        f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.platform()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; tracklet {version('tracklet')} ({source_revision()}), "
        f"wandb {version('wandb')}, mlflow {version('mlflow')}; {work.parent} with {free / 2**30:.0f} GiB free; "
        f"medians of {args.repeat} measurements; {elapsed:.0f} s in all; "
        f"load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    footnotes = notes(samples)
    print(f"\n{info}\n\n{md}\n\n" + "\n".join(f"- {n}" for n in footnotes) + "\n")
    return save_results(args, "artifacts", info, md, samples, notes=footnotes)


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child_main(sys.argv[2:])
    else:
        sys.exit(main())
