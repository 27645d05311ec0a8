import { describe, expect, it } from "vitest";

import type { RunInfo } from "./schema";
import { changedRuns, historyMark, mergeRuns } from "./workspace";

const base = { updated_at: 1, last_seq: 1, state: "running", heartbeat_at: 1 } as RunInfo;

describe("changedRuns", () => {
  it("reports new and changed runs only", () => {
    const a = { ...base, run_id: "a" };
    const b = { ...base, run_id: "b" };
    expect([...changedRuns([a, b], [a, { ...b, last_seq: 2 }, { ...base, run_id: "c" }])]).toEqual(["b", "c"]);
    expect(changedRuns([a], [a]).size).toBe(0);
  });
});

describe("mergeRuns", () => {
  it("replaces changed runs, adds new ones and keeps newest first", () => {
    const a = { ...base, run_id: "a", created_at: 1 };
    const b = { ...base, run_id: "b", created_at: 2 };
    const b2 = { ...b, last_seq: 9 };
    const c = { ...base, run_id: "c", created_at: 3 };
    const merged = mergeRuns([b, a], [b2, c]);
    expect(merged.map((r) => r.run_id)).toEqual(["c", "b", "a"]);
    expect(merged[1]).toBe(b2);
  });
});

describe("historyMark", () => {
  it("changes when a row is logged, not on a heartbeat", () => {
    const run = { ...base, run_id: "a", summary: { _step: 4, _runtime: 2.5 } } as RunInfo;
    expect(historyMark({ ...run, heartbeat_at: 99, last_seq: 7 })).toBe(historyMark(run));
    expect(historyMark({ ...run, summary: { _step: 5, _runtime: 2.6 } })).not.toBe(historyMark(run));
  });
});
