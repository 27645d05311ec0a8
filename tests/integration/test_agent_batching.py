"""The agent's requests while a run streams: a few larger batches a second, not one per record."""

from __future__ import annotations

from tests.conftest import ServerProcess, api
from tests.faultproxy import FaultProxy

STREAM_SCRIPT = """
    import time
    import tracklet
    run = tracklet.init(project="batching", id="stream01")
    start = time.monotonic()
    for step in range(600):  # 200 steps a second for 3 s
        run.log({"loss": 1.0 / (step + 1), "acc": step / 600})
        time.sleep(max(0.0, start + (step + 1) / 200 - time.monotonic()))
    run.finish()
"""


def test_a_streaming_run_is_uploaded_in_few_requests(server: ServerProcess, proxy: FaultProxy, run_script) -> None:  # type: ignore[no-untyped-def]
    """600 steps in 3 s reach the server whole, in about two record requests a second (the agent
    gathers for 0.5 s while the run streams), not in hundreds."""
    result = run_script(STREAM_SCRIPT, timeout=120)
    assert result.returncode == 0, result.stderr
    with api(server) as client:
        rows = client.get("/runs/root/batching/stream01/history").json()["rows"]
    assert [row["_step"] for row in rows] == list(range(600))
    assert [row["loss"] for row in rows] == [1.0 / (step + 1) for step in range(600)]
    posts = [line for line in proxy.request_lines if line.startswith("POST ") and "/records" in line]
    assert 1 <= len(posts) <= 2 * 3 + 6, proxy.request_lines  # ≤ 2 a second, plus the first and the last ones
