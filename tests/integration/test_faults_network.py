"""The network between the agent and the server fails: cut, dead (a black hole), slow, or reset part-way
through a request or its answer. The run completes anyway with every point and console line once.

The agent talks to a real ``tracklet server`` through :class:`tests.faultproxy.FaultProxy`, which the
test switches between faults while a real user script logs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ServerProcess, api, only_run, start_script, state_of
from tests.faultproxy import FaultProxy
from tests.integration.test_server_faults import assert_exactly_once, server_rows
from tests.integration.test_server_runs import wait_for

STEPS_PER_PHASE = 120

# Three phases: a healthy start; a phase logged while the network is faulty, which goes on until the
# test has seen the fault bite (it creates ``stop-logging``); a healthy end. The script waits on
# stdin after each phase, so that the test changes the network between phases.
PHASED_SCRIPT = """
import os, sys, time, tracklet
run = tracklet.init(project={project!r}, id={run_id!r}, settings={{'finish_timeout': 180}})
step = 0

def log_one():
    global step
    run.log({{'value': step * 2}})
    print(f'step {{step}}', flush=True)
    step += 1
    time.sleep(0.005)

for phase in range(3):
    if phase == 1:
        while not os.path.exists('stop-logging'):
            log_one()
    else:
        for _ in range({steps}):
            log_one()
    print(f'phase {{phase}} done', flush=True)
    sys.stdin.readline()
run.finish()
"""


def console_texts(server: ServerProcess, project: str, run_id: str) -> list[str]:
    """What the server holds of the run's standard output, in order; line numbers checked to be 0, 1, 2, …"""
    lines: list[dict] = []
    with api(server) as client:
        while True:
            page = client.get(f"/runs/root/{project}/{run_id}/console",
                              params={"after": lines[-1]["line_no"] if lines else -1, "limit": 10_000})
            assert page.status_code == 200, page.text
            if not page.json()["lines"]:
                break
            lines += page.json()["lines"]
    assert [line["line_no"] for line in lines] == list(range(len(lines))), "console lines numbered once each"
    return [line["text"] for line in lines if line["stream"] == "stdout"]


def agent_failures(workdir: Path) -> int:
    """How many uploads the agent saw fail (its log, in the run directory)."""
    log = only_run(workdir).dir / "logs" / "agent.log"
    return log.read_text(encoding="utf-8").count("upload failed") if log.exists() else 0


def run_through_fault(workdir: Path, run_id: str, project: str, start_fault: Callable[[], None],
                      fault_took_effect: Callable[[], bool], heal: Callable[[], None]) -> list[str]:
    """Run the phased script with the fault on during its middle phase; the lines it printed."""
    proc = start_script(workdir, PHASED_SCRIPT.format(project=project, run_id=run_id, steps=STEPS_PER_PHASE),
                        stdin=True)
    assert proc.stdout is not None and proc.stdin is not None
    printed: list[str] = []
    reader = threading.Thread(target=lambda: printed.extend(line.rstrip("\n") for line in proc.stdout), daemon=True)
    reader.start()

    def phase_done(phase: int) -> bool:
        return f"phase {phase} done" in printed[-1:] or proc.poll() is not None

    def go_on() -> None:
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.flush()

    try:
        wait_for(lambda: phase_done(0), timeout=60)
        start_fault()
        go_on()
        wait_for(fault_took_effect, timeout=90)
        (workdir / "stop-logging").touch()
        wait_for(lambda: phase_done(1), timeout=60)
        heal()
        go_on()
        wait_for(lambda: phase_done(2), timeout=60)
        go_on()
        proc.stdin.close()
        assert proc.wait(timeout=200) == 0
        reader.join(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdin.close()
        proc.stdout.close()
    assert [line for line in printed if line.startswith("step ")] == [f"step {n}" for n in range(steps_of(printed))]
    return printed


def steps_of(printed: list[str]) -> int:
    return sum(line.startswith("step ") for line in printed)


def assert_run_complete(server: ServerProcess, workdir: Path, project: str, run_id: str, printed: list[str]) -> None:
    """Every point once, every console line once in order, the run finished, every record stored once."""
    assert_exactly_once(server_rows(server, project, run_id), steps_of(printed))
    assert console_texts(server, project, run_id) == printed
    with api(server) as client:
        info = client.get(f"/runs/root/{project}/{run_id}").json()
    assert info["state"] == "finished"
    assert info["last_seq"] == state_of(only_run(workdir)).last_seq


def test_network_cut_then_restored(server: ServerProcess, proxy: FaultProxy, workdir: Path) -> None:
    printed = run_through_fault(workdir, "netcut01", "net", proxy.cut, lambda: agent_failures(workdir) >= 3,
                                proxy.heal)
    assert_run_complete(server, workdir, "net", "netcut01", printed)
    assert proxy.refused >= 2  # the first failure is the open connection, reset


def test_network_black_hole_then_restored(server: ServerProcess, proxy: FaultProxy, workdir: Path) -> None:
    # Nothing comes back on a dead route: the agent's request hangs until the route returns (here the
    # proxy then resets the connection, as a timeout would end it) and it sends the batch again.
    printed = run_through_fault(workdir, "nethole1", "net", proxy.blackhole, lambda: proxy.swallowed >= 1,
                                proxy.heal)
    assert_run_complete(server, workdir, "net", "nethole1", printed)
    assert agent_failures(workdir) >= 1


def test_slow_network(server: ServerProcess, proxy: FaultProxy, workdir: Path) -> None:
    seen: list[int] = []

    def slow() -> None:
        seen.append(proxy.requests_seen)
        proxy.delay(0.5)  # each chunk each way: a batch takes a second and a half or more

    printed = run_through_fault(workdir, "netslow1", "net", slow, lambda: proxy.requests_seen >= seen[0] + 4,
                                proxy.heal)
    assert_run_complete(server, workdir, "net", "netslow1", printed)


def test_connection_reset_mid_request_body(server: ServerProcess, proxy: FaultProxy, workdir: Path) -> None:
    # Every second batch is cut after 20 bytes of its (gzip) body: the server gets half a body, stores
    # nothing of it, and the agent sends it again.
    printed = run_through_fault(workdir, "netreq01", "net",
                                lambda: proxy.reset_request(after_bytes=20, every=2, path="/records"),
                                lambda: proxy.faults_done >= 4, proxy.heal)
    assert_run_complete(server, workdir, "net", "netreq01", printed)
    assert agent_failures(workdir) >= 4


def test_connection_reset_mid_answer_stores_the_retried_batch_once(server: ServerProcess, proxy: FaultProxy,
                                                                    workdir: Path) -> None:
    # Every second batch reaches the server whole and is stored; its answer is cut after 30 bytes, so
    # the agent never learns of it and sends those records again: the server must store them once.
    printed = run_through_fault(workdir, "netans01", "net",
                                lambda: proxy.reset_response(after_bytes=30, every=2, path="/records"),
                                lambda: proxy.faults_done >= 4, proxy.heal)
    assert_run_complete(server, workdir, "net", "netans01", printed)
    assert agent_failures(workdir) >= 4


def test_the_fault_proxy_really_breaks_requests(server: ServerProcess, proxy: FaultProxy) -> None:
    """The proxy itself: what each mode does to a plain client, so the tests above test what they say."""
    import httpx

    health = proxy.url + "/api/v1/health"
    assert httpx.get(health, timeout=5).status_code == 200
    proxy.cut()
    with pytest.raises(httpx.TransportError):
        httpx.get(health, timeout=5)
    proxy.blackhole()
    with pytest.raises(httpx.TimeoutException):
        httpx.get(health, timeout=1)
    proxy.reset_response(after_bytes=10, path="/health")
    with pytest.raises(httpx.TransportError):
        httpx.get(health, timeout=5)
    proxy.reset_request(after_bytes=5, path="/runs")
    with pytest.raises(httpx.TransportError):
        httpx.post(proxy.url + "/api/v1/runs", content=b"x" * 100, timeout=5)
    proxy.heal()
    assert httpx.get(health, timeout=5).status_code == 200
