import { describe, expect, it } from "vitest";

import type { SeriesColumns } from "../api/client";
import type { RunInfo } from "../api/schema";
import { appendTail, lastStepOf, needsRebucketing, rewound } from "./live";

function drawn(steps: number[], values: number[], downsampled = false): SeriesColumns {
  return { downsampled, bucket_start: [], first_step: [], first: [], last_step: steps, last: values, min_step: [],
           min: values, max_step: [], max: values, count: [] };
}

describe("live tails", () => {
  it("appends only the buckets after the last step held", () => {
    const held = drawn([0, 1, 2], [5, 4, 3]);
    const merged = appendTail(held, drawn([1, 2, 3, 4], [4, 3, 2, 1]), lastStepOf(held));
    expect(merged.last_step).toEqual([0, 1, 2, 3, 4]);
    expect(merged.last).toEqual([5, 4, 3, 2, 1]);
    expect(merged.min).toEqual([5, 4, 3, 2, 1]);
    expect(merged.first).toEqual([]); // not asked for: stays empty
    expect(held.last_step).toEqual([0, 1, 2]); // the held columns are not changed
  });

  it("a run seen for the first time takes the whole tail", () => {
    const empty = drawn([], []);
    expect(lastStepOf(empty)).toBe(-1);
    expect(appendTail(empty, drawn([0, 1], [1, 2], true), -1)).toMatchObject({ last_step: [0, 1], downsampled: true });
  });

  it("asks for a fresh downsampling once tails have doubled the buckets", () => {
    expect(needsRebucketing(drawn([1, 2, 3], [1, 1, 1]), 2)).toBe(false);
    expect(needsRebucketing(drawn([1, 2, 3, 4, 5], [1, 1, 1, 1, 1]), 2)).toBe(true);
  });
});

describe("rewound", () => {
  it("is a run whose newest step is before the held ones", () => {
    const held = drawn([0, 5, 9], [1, 1, 1]);
    expect(rewound({ summary: { _step: 4 } } as unknown as RunInfo, held)).toBe(true);
    expect(rewound({ summary: { _step: 12 } } as unknown as RunInfo, held)).toBe(false);
    expect(rewound({ summary: {} } as unknown as RunInfo, held)).toBe(false);
  });
});
