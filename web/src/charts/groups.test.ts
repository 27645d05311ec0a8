import { describe, expect, it } from "vitest";

import { aggregateGroups, interpolate } from "./groups";

describe("group aggregation", () => {
  it("interpolates a line between its points only", () => {
    const line = interpolate([0, 1, 3, 4], [null, 2, null, 4]);
    expect(line[0]).toBeNull();
    expect(line[1]).toBe(2);
    expect(line[2]).toBeCloseTo(10 / 3, 10);
    expect(line[3]).toBe(4);
    expect(interpolate([0, 1], [null, null])).toEqual([null, null]);
  });

  it("draws each group's mean with its runs' min..max as the band", () => {
    const aligned = {
      runIds: ["a", "b", "c"],
      x: Float64Array.from([0, 1, 2]),
      columns: [
        [[1, 2, 3], [1, 2, 3], [1, 2, 3]],
        [[3, null, 5], [3, null, 5], [3, null, 5]],
        [[10, 10, null], [10, 10, null], [10, 10, null]],
      ] as [(number | null)[], (number | null)[], (number | null)[]][],
    };
    const grouped = aggregateGroups(aligned, [{ name: "g1", runs: [0, 1] }, { name: "g2", runs: [2] }]);
    expect(grouped.runIds).toEqual(["g1", "g2"]);
    expect(grouped.columns[0]).toEqual([[2, 3, 4], [1, 2, 3], [3, 4, 5]]);
    expect(grouped.columns[1]).toEqual([[10, 10, null], [10, 10, null], [10, 10, null]]);
  });
});
