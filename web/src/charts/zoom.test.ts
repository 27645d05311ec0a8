import { describe, expect, it } from "vitest";

import { seriesRequest, stepRange } from "./zoom";

describe("zoom", () => {
  it("widens a step range to whole steps", () => {
    expect(stepRange({ min: 10.4, max: 20.2 })).toEqual({ min: 10, max: 21 });
    expect(stepRange({ min: -3.5, max: 2 })).toEqual({ min: 0, max: 2 });
  });

  it("refuses empty, reversed and non-finite ranges", () => {
    expect(stepRange({ min: 5, max: 5 })).toBeNull();
    expect(stepRange({ min: 6, max: 5 })).toBeNull();
    expect(stepRange({ min: NaN, max: 5 })).toBeNull();
  });

  it("maps a range on another axis to the steps of its points, with a neighbour each side", () => {
    const points: [number, number][] = [[0, 0], [10, 1.5], [20, 3], [30, 4.5], [40, 6]];
    expect(stepRange({ min: 2, max: 5 }, points)).toEqual({ min: 10, max: 40 });
    expect(stepRange({ min: -1, max: 0.5 }, points)).toEqual({ min: 0, max: 10 });
    expect(stepRange({ min: 7, max: 9 }, points)).toBeNull();
  });

  it("builds the series request", () => {
    expect(seriesRequest(null, 300.4)).toEqual({ buckets: 300 });
    expect(seriesRequest({ min: 10, max: 21 }, 300)).toEqual({ buckets: 300, minStep: 10, maxStep: 21 });
  });
});
