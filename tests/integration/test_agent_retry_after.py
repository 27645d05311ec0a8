"""A busy server (or its load balancer) answers 503 or 429 with ``Retry-After``: the agent waits at least
that long before it sends again, and the run still arrives whole.

The agent talks to a real ``tracklet server`` through :class:`tests.faultproxy.FaultProxy`, which answers
the first record uploads itself, as an overloaded server would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ServerProcess, api, only_run, state_of
from tests.faultproxy import FaultProxy
from tests.integration.test_server_faults import assert_exactly_once, server_rows

SCRIPT = """
import tracklet
run = tracklet.init(project="busy", id={run_id!r})
for step in range(20):
    run.log({{"value": step * 2}})
run.finish()
"""


@pytest.mark.parametrize("status", [503, 429])
def test_the_agent_waits_as_long_as_retry_after_asks(server: ServerProcess, proxy: FaultProxy, workdir: Path,
                                                     run_script, status: int) -> None:  # type: ignore[no-untyped-def]
    wait = 2  # seconds: the agent's own first retries come after 0.25 to 1 s
    proxy.busy(status, retry_after=wait, count=2, path="/records")
    run_id = f"busy{status}"
    result = run_script(SCRIPT.format(run_id=run_id), timeout=120)
    assert result.returncode == 0, result.stderr

    log = [(moment, how) for moment, how in proxy.busy_log]
    assert [how for _, how in log[:3]] == ["answered", "answered", "passed"], log
    gaps = [later - earlier for (earlier, _), (later, _) in zip(log, log[1:3])]
    assert all(gap >= wait for gap in gaps), f"the agent came back after {gaps} s, before the {wait} s asked"
    assert_exactly_once(server_rows(server, "busy", run_id), 20)
    with api(server) as client:
        assert client.get(f"/runs/root/busy/{run_id}").json()["state"] == "finished"
    assert state_of(only_run(workdir)).last_seq > 0
