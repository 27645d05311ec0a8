import { describe, expect, it } from "vitest";

import { rowWindow } from "./virtual";

describe("rowWindow", () => {
  it("renders only the visible rows plus the overscan", () => {
    expect(rowWindow(0, 300, 30, 10_000, 5)).toEqual({ start: 0, end: 16, padTop: 0, padBottom: (10_000 - 16) * 30 });
    const w = rowWindow(3000, 300, 30, 10_000, 5);
    expect(w).toEqual({ start: 95, end: 116, padTop: 95 * 30, padBottom: (10_000 - 116) * 30 });
    expect(w.padTop + (w.end - w.start) * 30 + w.padBottom).toBe(10_000 * 30);
  });

  it("stays within the list at either end", () => {
    expect(rowWindow(0, 300, 30, 3, 5)).toEqual({ start: 0, end: 3, padTop: 0, padBottom: 0 });
    const last = rowWindow(10_000 * 30, 300, 30, 10_000, 5);
    expect(last.end).toBe(10_000);
    expect(last.padBottom).toBe(0);
    expect(last.end - last.start).toBeLessThanOrEqual(11 + 10);
    expect(rowWindow(-50, 300, 30, 100, 0).start).toBe(0);
  });

  it("handles empty lists and odd inputs", () => {
    expect(rowWindow(0, 300, 30, 0)).toEqual({ start: 0, end: 0, padTop: 0, padBottom: 0 });
    expect(rowWindow(Number.NaN, 0, 30, 50, 0)).toEqual({ start: 0, end: 1, padTop: 0, padBottom: 49 * 30 });
  });
});
