import { describe, expect, it } from "vitest";

import type { RunInfo } from "../api/schema";
import { compareRuns, diffRows } from "./compare";

describe("diffRows", () => {
  it("lines up every key and marks the rows whose values differ", () => {
    expect(diffRows([{ a: 1, b: "x", c: [1, 2] }, { a: 1, b: "y", c: [1, 2] }, { a: 1, d: true, b: "x", c: [1, 2] }]))
      .toEqual([
        { key: "a", values: [1, 1, 1], differs: false },
        { key: "b", values: ["x", "y", "x"], differs: true },
        { key: "c", values: [[1, 2], [1, 2], [1, 2]], differs: false },
        { key: "d", values: [undefined, undefined, true], differs: true },
      ]);
  });

  it("treats a missing value as different from null and from any value", () => {
    expect(diffRows([{ a: null }, {}])[0]!.differs).toBe(true);
    expect(diffRows([{ a: null }, { a: null }])[0]!.differs).toBe(false);
    expect(diffRows([])).toEqual([]);
  });
});

describe("compareRuns", () => {
  it("compares flattened config, then summary, leaving out private keys", () => {
    const run = (config: Record<string, unknown>, summary: Record<string, unknown>) =>
      ({ config, summary }) as unknown as RunInfo;
    const rows = compareRuns([
      run({ lr: 0.1, opt: { name: "adam" } }, { loss: 0.5, _runtime: 3 }),
      run({ lr: 0.2, opt: { name: "adam" } }, { loss: 0.5, _runtime: 4 }),
    ]);
    expect(rows.map((r) => [r.key, r.differs])).toEqual([
      ["config.lr", true], ["config.opt.name", false], ["summary.loss", false],
    ]);
  });
});
