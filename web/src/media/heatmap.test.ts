import { describe, expect, it } from "vitest";

import { cellAt, colorScale, columnEdges, heatMap, intensity } from "./heatmap";
import type { HistogramRef } from "./types";

const hist = (step: number, values: number[], bins: number[]) =>
  ({ step, value: { _type: "histogram", values, bins } as HistogramRef });

describe("histogram heat map", () => {
  it("re-bins each step onto one value axis, spreading a bin over the rows it overlaps", () => {
    const map = heatMap([hist(0, [4, 0], [0, 1, 2]), hist(1, [2, 6], [0, 2, 4])], 4);
    expect([map.lo, map.hi, map.rows]).toEqual([0, 4, 4]);
    expect(map.steps).toEqual([0, 1]);
    expect([...map.counts.slice(0, 4)]).toEqual([4, 0, 0, 0]);
    expect([...map.counts.slice(4, 8)]).toEqual([1, 1, 3, 3]);
    expect([...map.columnMax]).toEqual([4, 3]);
    // Counts are kept: each column sums to its histogram's total.
    expect(map.counts.slice(4, 8).reduce((a, b) => a + b, 0)).toBe(8);
    expect(intensity(map, 1, 0)).toBeCloseTo(1 / 3);
    expect(intensity(map, 0, 0)).toBe(1);
  });

  it("a bin narrower than a row adds to the row it is in", () => {
    const map = heatMap([hist(0, [5], [0, 1]), hist(1, [3], [0.25, 0.3])], 2);
    expect([...map.counts.slice(2, 4)]).toEqual([3, 0]);
  });

  it("every value the same: a unit-wide axis, and a zero-width bin still counts", () => {
    const map = heatMap([hist(3, [10], [2, 2])], 2);
    expect([map.lo, map.hi]).toEqual([1.5, 2.5]);
    expect([...map.counts]).toEqual([0, 10]);
  });

  it("leaves out malformed histograms and draws nothing for none", () => {
    const map = heatMap([hist(0, [1, 2], [0, 1])], 4);
    expect(map.steps).toEqual([]);
    expect(map.counts.length).toBe(0);
    expect(cellAt(map, 0, 0)).toBeNull();
  });

  it("columns reach to the next step; the last is as wide as the one before", () => {
    expect(columnEdges([0, 10, 20])).toEqual([0, 10, 20, 30]);
    expect(columnEdges([5])).toEqual([5, 6]);
    expect(columnEdges([])).toEqual([]);
  });

  it("finds the cell under a point", () => {
    const map = heatMap([hist(0, [1, 1], [0, 1, 2]), hist(10, [1, 1], [0, 1, 2])], 2);
    expect(cellAt(map, 0, 0.5)).toEqual({ column: 0, row: 0 });
    expect(cellAt(map, 12, 1.5)).toEqual({ column: 1, row: 1 });
    expect(cellAt(map, 2, 2)).toEqual({ column: 0, row: 1 }); // the top edge is in the top row
    expect(cellAt(map, 20, 1)).toBeNull();
    expect(cellAt(map, 5, 3)).toBeNull();
  });

  it("the colour scale runs light to dark and clamps", () => {
    expect(colorScale(0)).toEqual([255, 255, 217]);
    expect(colorScale(1)).toEqual([8, 29, 88]);
    expect(colorScale(0.125)).toEqual([227, 244, 199]); // halfway between the first two stops
    expect(colorScale(2)).toEqual(colorScale(1));
    expect(colorScale(Number.NaN)).toEqual(colorScale(0));
    const lightness = (t: number) => colorScale(t).reduce((a, b) => a + b, 0);
    expect(lightness(0.2)).toBeGreaterThan(lightness(0.8));
  });
});
