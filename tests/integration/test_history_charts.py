"""Chart answers of a real server for a run long enough to have pre-aggregated blocks: whether its
buckets are reduced from the stored window summaries (wide ones) or from every point (narrow ones),
each bucket is exactly the M4 of the run's rows (as the history endpoint returns them) from its
``bucket_start`` to the next one's, and a chart has at most the buckets asked for."""

from __future__ import annotations

import math
from typing import Any

from tests.conftest import ServerProcess
from tests.unit.test_series import reference
from tracklet.api.transport import Transport
from tracklet.protocol import RecordBatch, RunHandshake
from tracklet.runlog.records import RecordType, encode, encode_history

STEPS = 5 * 4096 + 300  # five full blocks (summarized) and the open one
T0 = 1_700_000_000.0


def value(step: int) -> float:
    if step % 5003 == 17:
        return 1e6  # a one-point spike: a chart must show it
    if step % 4099 == 3:
        return math.nan
    if step == 9000:
        return -math.inf
    return math.sin(step / 300.0) + (step % 7) * 1e-3


def log_run(server: ServerProcess) -> None:
    with Transport(server.url, server.admin_key, timeout=60) as api:
        entity = api.call("POST", "/runs", RunHandshake(project="charts", run_id="long0001"))["entity"]
        start = {"run_id": "long0001", "project": "charts", "entity": entity, "mode": "online", "name": "long",
                 "notes": None, "tags": [], "group": "", "job_type": "", "start_time": T0, "starting_step": 0,
                 "runtime_offset": 0.0, "resumed": False, "resume": None, "branch": None, "restore": None}
        records = [encode(RecordType.START, start)]
        records += [encode_history(s, T0 + s, True, {"loss": value(s), "epoch": s // 1000}) for s in range(STEPS)]
        for lo in range(0, len(records), 5000):
            api.send_records(f"/runs/{entity}/charts/long0001/records",
                             RecordBatch(first_seq=lo + 1, records=records[lo : lo + 5000]))


def as_float(v: Any) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(v, v) if isinstance(v, str) else v


def test_charts_of_a_long_run_equal_a_plain_reduction_of_its_rows(server: ServerProcess) -> None:
    import httpx

    log_run(server)
    run_url = "/runs/root/charts/long0001"
    with httpx.Client(base_url=server.url + "/api/v1", timeout=60,
                      headers={"Authorization": f"Bearer {server.admin_key}"}) as client:
        rows = client.get(run_url + "/history", params={"keys": "loss"}).json()["rows"]
        steps = [r["_step"] for r in rows]
        assert steps == list(range(STEPS))
        for key, values in (("loss", [as_float(r["loss"]) for r in rows]),
                            ("epoch", [s // 1000 for s in steps])):
            cases = ((1, None), (2, None), (7, None), (1000, None), (2, (1000, 19000)), (5, (4096, 8191)))
            for buckets, window in cases:
                params: dict[str, Any] = {"key": key, "buckets": buckets}
                lo, hi = window or (0, STEPS - 1)
                if window:
                    params |= {"min_step": lo, "max_step": hi}
                chart = client.get(run_url + "/history/series", params=params).json()
                assert chart["downsampled"] is True
                got = list(zip(zip(chart["first_step"], map(as_float, chart["first"])),
                               zip(chart["last_step"], map(as_float, chart["last"])),
                               zip(chart["min_step"], map(as_float, chart["min"])),
                               zip(chart["max_step"], map(as_float, chart["max"])), chart["count"]))
                starts = chart["bucket_start"] + [hi + 1]  # each bucket: [its start, the next one's)
                assert len(got) <= buckets and starts[0] == max(lo, 0) and starts == sorted(set(starts))
                assert len(got) >= min(buckets, hi - lo + 1) // 2, (key, buckets, window)  # about as many
                for g, a, b in zip(got, starts, starts[1:]):
                    expected = reference(steps, values, 1, a, b - 1)
                    assert len(expected) == 1 and g[4] == expected[0][4], (key, buckets, a, b)
                    for (gs, gv), (es, ev) in zip(g[:4], expected[0][:4]):
                        assert gs == es and (gv == ev or (math.isnan(gv) and math.isnan(ev))), (key, buckets, g, a)
        wide = client.get(run_url + "/history/series", params={"key": "loss", "buckets": 2}).json()
        assert max(wide["max"]) == 1e6 and -math.inf in map(as_float, wide["min"])  # spikes survive
