// What define_metric() said about a metric, across a workspace's runs (pure; tested): the x axis
// its panel uses by default and whether it is hidden from the workspace.

import type { MetricDefinition, RunInfo } from "../api/schema";

/** A run's definition of `key`: its own, else the longest glob ("val/*") that matches it. */
export function definitionOf(key: string, metrics: readonly MetricDefinition[]): MetricDefinition | null {
  let best: MetricDefinition | null = null;
  for (const d of metrics) {
    if (d.name === key) return d;
    if (d.name.endsWith("*") && !key.startsWith("_") && key.startsWith(d.name.slice(0, -1))
        && (!best || d.name.length > best.name.length)) best = d;
  }
  return best;
}

/** The step_metric the first run that defines one gives `key` ("" when none does). */
export function stepMetricOf(key: string, runs: readonly RunInfo[]): string {
  for (const run of runs) {
    const step = definitionOf(key, run.metrics ?? [])?.step_metric;
    if (step) return step;
  }
  return "";
}

/** Whether a run defines `key` as hidden (define_metric(..., hidden=True)): it gets no panel. */
export function isHidden(key: string, runs: readonly RunInfo[]): boolean {
  return runs.some((run) => definitionOf(key, run.metrics ?? [])?.hidden === true);
}
