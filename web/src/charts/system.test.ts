import { describe, expect, it } from "vitest";

import { systemSeries } from "./system";

describe("system metrics", () => {
  it("puts one metric on seconds since the first sample, with gaps as null", () => {
    const aligned = systemSeries({ timestamps: [100, 102, 104], metrics: { cpu: [1, null, 3] } }, "cpu");
    expect([...aligned.x]).toEqual([0, 2, 4]);
    expect(aligned.runIds).toEqual(["cpu"]);
    expect(aligned.columns[0]).toEqual([[1, null, 3], [1, null, 3], [1, null, 3]]);
  });

  it("copes with a missing metric and no samples", () => {
    expect(systemSeries({ timestamps: [], metrics: {} }, "gpu").x.length).toBe(0);
  });
});
