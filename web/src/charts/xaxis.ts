// The chart's x axis: step, relative time, wall time or any logged metric (pure; tested).
// For an axis other than step, the x series is fetched with the same buckets and each bucket's
// step is mapped to its x by interpolating between the x series' (step, value) points.

import type { SeriesColumns } from "../api/client";
import type { RunInfo } from "../api/schema";
import { toNumber } from "../lib/format";
import { stepMetricOf } from "../lib/metricDefinitions";

/** The x key: "_step", "_runtime" (relative time), "_timestamp" (wall time) or a metric key; as the
 *  workspace's choice also "" (each panel's default). */
export type XKey = string;

export const DEFAULT_X = "";
export const STEP = "_step";
export const RELATIVE_TIME = "_runtime";
export const WALL_TIME = "_timestamp";

/** The x a panel of `key` draws against: the workspace's choice, or by default the step_metric that
 *  define_metric gave the key, else the step. */
export function panelX(choice: XKey, key: string, runs: readonly RunInfo[]): XKey {
  if (choice !== DEFAULT_X) return choice;
  const step = stepMetricOf(key, runs);
  return step && step !== key ? step : STEP;
}

export function xLabel(key: XKey): string {
  if (key === STEP || key === DEFAULT_X) return "step";
  if (key === RELATIVE_TIME) return "relative time (s)";
  if (key === WALL_TIME) return "wall time";
  return key;
}

/** A step → x lookup built from an x series' M4 columns (every first/last/min/max point). */
export function stepToX(x: SeriesColumns): (step: number) => number | null {
  const pairs = new Map<number, number>();
  const add = (steps: readonly number[], values: readonly unknown[]) => steps.forEach((s, i) => {
    const v = toNumber(values[i]);
    if (Number.isFinite(s) && Number.isFinite(v) && !pairs.has(s)) pairs.set(s, v);
  });
  add(x.last_step, x.last);
  add(x.first_step, x.first);
  add(x.min_step, x.min);
  add(x.max_step, x.max);
  const steps = [...pairs.keys()].sort((a, b) => a - b);
  const values = steps.map((s) => pairs.get(s)!);
  return (step: number) => {
    if (steps.length === 0 || step < steps[0]! || step > steps[steps.length - 1]!) return null;
    let lo = 0;
    let hi = steps.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (steps[mid]! <= step) lo = mid;
      else hi = mid;
    }
    if (steps[lo] === step) return values[lo]!;
    if (steps[hi] === step) return values[hi]!;
    const t = (step - steps[lo]!) / (steps[hi]! - steps[lo]!);
    return values[lo]! + t * (values[hi]! - values[lo]!);
  };
}

/**
 * A metric's columns with each bucket drawn at the x of its last step instead (buckets whose step
 * has no x are left out). The result's `last_step` holds x; the `step` array keeps the steps.
 */
export function mapToX(columns: SeriesColumns, x: SeriesColumns): { columns: SeriesColumns; steps: number[] } {
  const lookup = stepToX(x);
  const keep: number[] = [];
  const xs: number[] = [];
  columns.last_step.forEach((step, i) => {
    const value = lookup(step);
    if (value != null) {
      keep.push(i);
      xs.push(value);
    }
  });
  // Columns that were not asked for are empty and stay so.
  const pick = <T>(a: readonly T[]) => (a.length ? keep.map((i) => a[i]!) : []);
  return {
    columns: {
      ...columns,
      bucket_start: pick(columns.bucket_start), first_step: pick(columns.first_step), first: pick(columns.first),
      last_step: xs, last: pick(columns.last), min_step: pick(columns.min_step), min: pick(columns.min),
      max_step: pick(columns.max_step), max: pick(columns.max), count: pick(columns.count),
    },
    steps: pick(columns.last_step),
  };
}
