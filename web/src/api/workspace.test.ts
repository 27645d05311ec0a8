import { describe, expect, it } from "vitest";

import type { RunInfo } from "./schema";
import { changedRuns } from "./workspace";

const base = { updated_at: 1, last_seq: 1, state: "running", heartbeat_at: 1 } as RunInfo;

describe("changedRuns", () => {
  it("reports new and changed runs only", () => {
    const a = { ...base, run_id: "a" };
    const b = { ...base, run_id: "b" };
    expect([...changedRuns([a, b], [a, { ...b, last_seq: 2 }, { ...base, run_id: "c" }])]).toEqual(["b", "c"]);
    expect(changedRuns([a], [a]).size).toBe(0);
  });
});
