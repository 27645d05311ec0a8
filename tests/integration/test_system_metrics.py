"""System metrics: STATS records sampled beside a real user script, offline and through the server."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import api, only_run
from tracklet.runlog import RecordType
from tracklet.sdk import local

PERCENTS = ("cpu.percent", "cpu.process_percent", "memory.percent", "disk./.usage_percent")


def stats(root: Path) -> tuple[dict, list[dict], dict]:
    records = local.read_records(only_run(root).log_path)
    start = next(r.body for r in records if r.type is RecordType.START)
    exit_ = next(r.body for r in records if r.type is RecordType.EXIT)
    samples = [r.body for r in records if r.type is RecordType.STATS]
    assert all(r.seq < next(x.seq for x in records if x.type is RecordType.EXIT)
               for r in records if r.type is RecordType.STATS), "samples after the exit record"
    return start, samples, exit_


def test_offline_run_samples_from_its_start_every_interval(workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script("""
        import time, tracklet
        run = tracklet.init(mode="offline", settings={"stats_sampling_interval": 0.2})
        time.sleep(1.5)
        run.finish()
    """)
    assert result.returncode == 0, result.stderr
    start, samples, exit_ = stats(workdir)
    assert 4 <= len(samples) <= 9, [s["timestamp"] - start["start_time"] for s in samples]
    times = [s["timestamp"] for s in samples]
    assert 0 <= times[0] - start["start_time"] < 0.3
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(0.1 < gap < 0.5 for gap in gaps), gaps
    assert abs(sum(gaps) / len(gaps) - 0.2) < 0.05, gaps
    assert times[-1] <= exit_["timestamp"]
    for sample in samples:
        metrics = sample["metrics"]
        for name in PERCENTS:
            assert 0 <= metrics[name] <= 100, (name, metrics[name])
        assert metrics["memory.process_rss_mb"] > 1
        assert metrics["disk./.usage_gb"] > 0
        for name in ("disk.read_mb", "disk.write_mb", "network.sent_mb", "network.recv_mb"):
            if name in metrics:  # no disk/network counters in some containers
                assert metrics[name] >= 0, name
        assert all(isinstance(v, float) for v in metrics.values()), metrics
        assert not any(name.startswith("gpu.") for name in metrics) or "gpu.0.memory_used_mb" in metrics


def test_cpu_burnt_in_a_child_process_counts_as_the_process(workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script("""
        import subprocess, sys, time, tracklet
        run = tracklet.init(mode="offline", settings={"stats_sampling_interval": 0.2})
        time.sleep(0.5)
        child = subprocess.Popen([sys.executable, "-c",
                                  "import time\\nend = time.time() + 1.5\\nwhile time.time() < end: pass"])
        child.wait()
        time.sleep(0.5)
        run.finish()
    """)
    assert result.returncode == 0, result.stderr
    start, samples, _ = stats(workdir)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    one_core = 100 / cores
    # while the child burns, the process tree uses about one core; while the script sleeps, almost nothing
    during = [s["metrics"]["cpu.process_percent"] for s in samples
              if 0.9 < s["timestamp"] - start["start_time"] < 1.9]
    assert during and max(during) > 0.5 * one_core, (during, one_core)
    assert sum(during) / len(during) > 0.3 * one_core, (during, one_core)


def test_disable_stats_gives_no_samples(workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script("""
        import time, tracklet
        run = tracklet.init(mode="offline", settings={"stats_sampling_interval": 0.1, "disable_stats": True})
        time.sleep(0.5)
        run.finish()
    """)
    assert result.returncode == 0, result.stderr
    assert stats(workdir)[1] == []


def test_disable_stats_from_the_environment(workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script("""
        import time, tracklet
        run = tracklet.init(mode="offline")
        time.sleep(0.3)
        run.finish()
    """, env={"TRACKLET_DISABLE_STATS": "true", "TRACKLET_STATS_SAMPLING_INTERVAL": "0.1"})
    assert result.returncode == 0, result.stderr
    assert stats(workdir)[1] == []


def test_default_interval_takes_one_sample_at_start(workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script("""
        import time, tracklet
        run = tracklet.init(mode="offline")
        time.sleep(0.5)
        run.finish()
    """)
    assert result.returncode == 0, result.stderr
    assert len(stats(workdir)[1]) == 1


def test_an_interval_below_the_minimum_is_a_usage_error(workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script("""
        import tracklet
        try:
            tracklet.init(mode="offline", settings={"stats_sampling_interval": 0.05})
        except tracklet.UsageError as exc:
            print("UsageError:", exc)
    """)
    assert result.returncode == 0, result.stderr
    assert "UsageError:" in result.stdout and "stats_sampling_interval" in result.stdout, result.stdout
    assert not (workdir / "tracklet").exists() or not list((workdir / "tracklet").glob("*run-*"))


def test_disabled_mode_records_nothing(workdir: Path, run_script) -> None:  # type: ignore[no-untyped-def]
    result = run_script("""
        import threading, time, tracklet
        run = tracklet.init(mode="disabled", settings={"stats_sampling_interval": 0.1})
        time.sleep(0.3)
        print(sorted(t.name for t in threading.enumerate()))
        run.finish()
    """)
    assert result.returncode == 0, result.stderr
    assert "tracklet-system-monitor" not in result.stdout


def test_online_samples_reach_the_server(workdir: Path, run_script, server) -> None:  # type: ignore[no-untyped-def]
    result = run_script("""
        import time, tracklet
        run = tracklet.init(project="sysmon", settings={"stats_sampling_interval": 0.2})
        time.sleep(1.0)
        run.finish()
        print("RUN", run.entity, run.id)
    """)
    assert result.returncode == 0, result.stderr
    entity, run_id = result.stdout.split("RUN ", 1)[1].split()[:2]
    local_samples = stats(workdir)[1]
    with api(server) as client:
        reply = client.get(f"/runs/{entity}/sysmon/{run_id}/system")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["timestamps"] == [s["timestamp"] for s in local_samples]
    assert len(body["timestamps"]) >= 3
    for name in ("cpu.percent", "cpu.process_percent", "memory.percent", "memory.process_rss_mb"):
        assert len(body["metrics"][name]) == len(body["timestamps"]), name
        assert all(isinstance(v, (int, float)) for v in body["metrics"][name]), name
