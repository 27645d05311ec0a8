// Grouped runs: each group drawn as the mean of its runs' lines with a band from their min to
// their max (pure; tested).

import type { AlignedM4 } from "./m4";

/** A run's line filled in between its points (linear in x), null outside its first..last point. */
export function interpolate(x: ArrayLike<number>, values: readonly (number | null)[]): (number | null)[] {
  const out: (number | null)[] = new Array(values.length).fill(null);
  let prev = -1;
  values.forEach((v, i) => {
    if (v == null) return;
    out[i] = v;
    if (prev >= 0 && i - prev > 1) {
      const x0 = x[prev]!;
      const v0 = values[prev]!;
      for (let j = prev + 1; j < i; j++) out[j] = v0 + ((x[j]! - x0) / (x[i]! - x0)) * (v - v0);
    }
    prev = i;
  });
  return out;
}

/**
 * One series per group: at each x, the mean of its runs' (interpolated) lines, and the min and
 * max of them as the band. `groups` lists each group's name and its runs' indexes in `aligned`.
 */
export function aggregateGroups(aligned: AlignedM4, groups: { name: string; runs: number[] }[]): AlignedM4 {
  const lines = aligned.columns.map(([last]) => interpolate(aligned.x, last));
  const columns = groups.map(({ runs }): [(number | null)[], (number | null)[], (number | null)[]] => {
    const mean: (number | null)[] = [];
    const min: (number | null)[] = [];
    const max: (number | null)[] = [];
    for (let i = 0; i < aligned.x.length; i++) {
      const values = runs.map((r) => lines[r]?.[i]).filter((v): v is number => v != null);
      mean.push(values.length ? values.reduce((a, b) => a + b, 0) / values.length : null);
      min.push(values.length ? Math.min(...values) : null);
      max.push(values.length ? Math.max(...values) : null);
    }
    return [mean, min, max];
  });
  return { runIds: groups.map((g) => g.name), x: aligned.x, columns };
}
