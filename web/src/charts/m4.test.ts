import { describe, expect, it } from "vitest";

import type { SeriesColumns } from "../api/client";
import { alignM4, toUplotData } from "./m4";

function columns(steps: number[], last: (number | string)[], min: (number | string)[], max: (number | string)[]): SeriesColumns {
  return {
    downsampled: false, bucket_start: steps, first_step: steps, first: last, last_step: steps, last,
    min_step: steps, min, max_step: steps, max, count: steps.map(() => 1),
  };
}

describe("alignM4", () => {
  it("aligns runs on the union of their bucket steps, with gaps as null", () => {
    const aligned = alignM4([
      { runId: "a", columns: columns([0, 10, 20], [1, 2, 3], [0.5, 1.5, 2.5], [1.5, 2.5, 3.5]) },
      { runId: "b", columns: columns([5, 10], [7, 8], [6, 7], [9, 9]) },
    ]);
    expect(Array.from(aligned.x)).toEqual([0, 5, 10, 20]);
    expect(aligned.columns[0]).toEqual([[1, null, 2, 3], [0.5, null, 1.5, 2.5], [1.5, null, 2.5, 3.5]]);
    expect(aligned.columns[1]).toEqual([[null, 7, 8, null], [null, 6, 7, null], [null, 9, 9, null]]);
    const data = toUplotData(aligned);
    expect(data.length).toBe(1 + 2 * 3);
    expect(data[0]).toBeInstanceOf(Float64Array);
  });

  it("draws non-finite values as gaps", () => {
    const aligned = alignM4([{ runId: "a", columns: columns([1, 2], ["NaN", 4], ["-Infinity", 4], ["Infinity", 4]) }]);
    expect(aligned.columns[0]).toEqual([[null, 4], [null, 4], [null, 4]]);
  });

  it("handles no runs and empty runs", () => {
    expect(Array.from(alignM4([]).x)).toEqual([]);
    const aligned = alignM4([{ runId: "a", columns: columns([], [], [], []) }]);
    expect(aligned.x.length).toBe(0);
    expect(aligned.columns).toEqual([[[], [], []]]);
  });
});
