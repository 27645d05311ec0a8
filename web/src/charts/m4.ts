// Server-downsampled M4 columns (first/last/min/max per bucket) → uPlot's aligned columnar data (pure; tested).

import type { SeriesColumns } from "../api/client";
import { toNumber } from "../lib/format";

export interface RunSeries {
  runId: string;
  columns: SeriesColumns;
}

/** uPlot data: one shared x column (steps), then for each run its `last`, `min` and `max` columns. */
export interface AlignedM4 {
  runIds: string[];
  x: Float64Array;
  /** [last, min, max] per run, aligned on x; null where the run has no bucket at that step. */
  columns: Array<[(number | null)[], (number | null)[], (number | null)[]]>;
}

function finite(value: unknown): number | null {
  const n = toNumber(value);
  return Number.isFinite(n) ? n : null;
}

/**
 * Aligns several runs' buckets on one x axis. Each bucket is drawn at its `last_step`: the line
 * goes through each bucket's last value, and the band spans the bucket's min..max, so a spike
 * that the downsampling kept is still visible.
 */
export function alignM4(runs: RunSeries[]): AlignedM4 {
  const steps = new Set<number>();
  for (const run of runs) for (const step of run.columns.last_step) steps.add(step);
  const x = Float64Array.from([...steps].sort((a, b) => a - b));
  const index = new Map<number, number>();
  x.forEach((step, i) => index.set(step, i));
  const columns = runs.map((run): [(number | null)[], (number | null)[], (number | null)[]] => {
    const last: (number | null)[] = new Array(x.length).fill(null);
    const min: (number | null)[] = new Array(x.length).fill(null);
    const max: (number | null)[] = new Array(x.length).fill(null);
    const c = run.columns;
    c.last_step.forEach((step, b) => {
      const i = index.get(step)!;
      last[i] = finite(c.last[b]);
      min[i] = finite(c.min[b]);
      max[i] = finite(c.max[b]);
    });
    return [last, min, max];
  });
  return { runIds: runs.map((r) => r.runId), x, columns };
}

/** The flat list uPlot takes: [x, last₀, min₀, max₀, last₁, …]. */
export function toUplotData(aligned: AlignedM4): [Float64Array, ...(number | null)[][]] {
  return [aligned.x, ...aligned.columns.flat()];
}
