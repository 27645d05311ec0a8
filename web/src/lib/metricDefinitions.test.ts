import { describe, expect, it } from "vitest";

import type { MetricDefinition, RunInfo } from "../api/schema";
import { definitionOf, isHidden, stepMetricOf } from "./metricDefinitions";

const run = (metrics: MetricDefinition[]) => ({ metrics }) as unknown as RunInfo;

describe("metric definitions", () => {
  const defs: MetricDefinition[] = [
    { name: "val/*", step_metric: "epoch" },
    { name: "val/loss/*", step_metric: "batch" },
    { name: "val/acc", step_metric: "global" },
  ];

  it("prefers the metric's own definition, then the longest glob", () => {
    expect(definitionOf("val/acc", defs)?.step_metric).toBe("global");
    expect(definitionOf("val/loss/x", defs)?.step_metric).toBe("batch");
    expect(definitionOf("val/f1", defs)?.step_metric).toBe("epoch");
    expect(definitionOf("train/loss", defs)).toBeNull();
  });

  it("globs leave out internal keys", () => {
    expect(definitionOf("_runtime", [{ name: "*", step_metric: "epoch" }])).toBeNull();
  });

  it("takes the step metric of the first run that defines one", () => {
    const runs = [run([]), run([{ name: "val/*", step_metric: "epoch" }]), run([{ name: "val/*", step_metric: "x" }])];
    expect(stepMetricOf("val/acc", runs)).toBe("epoch");
    expect(stepMetricOf("loss", runs)).toBe("");
    expect(stepMetricOf("loss", [{} as RunInfo])).toBe("");
  });

  it("a metric any run hides is hidden", () => {
    const runs = [run([]), run([{ name: "epoch", hidden: true }])];
    expect(isHidden("epoch", runs)).toBe(true);
    expect(isHidden("loss", runs)).toBe(false);
  });
});
