import { describe, expect, it } from "vitest";

import type { SeriesColumns } from "../api/client";
import type { RunInfo } from "../api/schema";
import { DEFAULT_X, mapToX, panelX, RELATIVE_TIME, STEP, stepToX, xLabel } from "./xaxis";

function columns(steps: number[], values: (number | string)[]): SeriesColumns {
  return {
    downsampled: false, bucket_start: steps, first_step: steps, first: values, last_step: steps, last: values,
    min_step: steps, min: values, max_step: steps, max: values, count: steps.map(() => 1),
  };
}

describe("x axis", () => {
  it("maps a step to its x, interpolating between known points", () => {
    const lookup = stepToX(columns([0, 10, 20], [100, 101, 105]));
    expect(lookup(0)).toBe(100);
    expect(lookup(20)).toBe(105);
    expect(lookup(15)).toBeCloseTo(103, 10);
    expect(lookup(21)).toBeNull();
    expect(lookup(-1)).toBeNull();
  });

  it("ignores non-finite x values", () => {
    const lookup = stepToX(columns([0, 5, 10], [0, "NaN", 10]));
    expect(lookup(5)).toBe(5);
  });

  it("redraws a metric's buckets at their x, dropping steps without one", () => {
    const metric = columns([0, 10, 20, 30], [4, 3, 2, 1]);
    const { columns: mapped, steps } = mapToX(metric, columns([0, 20], [0, 2]));
    expect(mapped.last_step).toEqual([0, 1, 2]);
    expect(mapped.last).toEqual([4, 3, 2]);
    expect(steps).toEqual([0, 10, 20]);
  });

  it("names the axes", () => {
    expect(xLabel("_step")).toBe("step");
    expect(xLabel("_runtime")).toContain("relative");
    expect(xLabel("train/acc")).toBe("train/acc");
  });
});

describe("panelX", () => {
  const runs = [{ metrics: [{ name: "val/*", step_metric: "epoch" }] }] as unknown as RunInfo[];

  it("follows define_metric's step_metric by default, else the step", () => {
    expect(panelX(DEFAULT_X, "val/acc", runs)).toBe("epoch");
    expect(panelX(DEFAULT_X, "train/loss", runs)).toBe(STEP);
  });

  it("a chosen axis applies to every panel", () => {
    expect(panelX(STEP, "val/acc", runs)).toBe(STEP);
    expect(panelX(RELATIVE_TIME, "val/acc", runs)).toBe(RELATIVE_TIME);
  });
});
