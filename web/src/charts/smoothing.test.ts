import { describe, expect, it } from "vitest";

import { smoothEma } from "./smoothing";

describe("smoothEma", () => {
  it("returns the values unchanged with weight 0", () => {
    expect(smoothEma([1, null, 3], 0)).toEqual([1, null, 3]);
  });

  it("is debiased: the first point is the first value, a constant stays constant", () => {
    const out = smoothEma([5, 5, 5, 5], 0.9);
    for (const v of out) expect(v).toBeCloseTo(5, 10);
  });

  it("follows the EMA recurrence and keeps gaps", () => {
    const out = smoothEma([0, null, 10, NaN], 0.5);
    expect(out[0]).toBe(0);
    expect(out[1]).toBeNull();
    // average = 0*0.5 + 0.5*10 = 5, debiased by 1 - 0.25 = 0.75
    expect(out[2]).toBeCloseTo(5 / 0.75, 10);
    expect(out[3]).toBeNull();
  });

  it("damps noise", () => {
    const noisy = Array.from({ length: 200 }, (_, i) => (i % 2 ? 1 : -1));
    const out = smoothEma(noisy, 0.9).slice(50) as number[];
    expect(Math.max(...out.map(Math.abs))).toBeLessThan(0.2);
  });
});
