// A histogram key over steps as a heat map: x = step, y = value, colour = count. Each logged
// histogram (its own bin edges) is re-binned onto one shared value axis, spreading a bin's count over
// the rows it overlaps; colour is a count relative to the largest in its step, so the shape of each
// step's distribution shows whatever its total (pure; tested).

import type { HistogramRef, Logged } from "./types";

export interface HeatMap {
  /** The steps, ascending: one column each. */
  steps: number[];
  /** Column edges in steps (one more than the steps): a column reaches to the next step. */
  xEdges: number[];
  /** The value axis: rows of equal height from `lo` (row 0) to `hi`. */
  lo: number;
  hi: number;
  rows: number;
  /** counts[column * rows + row]: the re-binned counts. */
  counts: Float64Array;
  /** The largest count of each column (0 for an empty one). */
  columnMax: Float64Array;
}

function finite(xs: readonly number[]): number[] {
  return xs.filter((x) => Number.isFinite(x));
}

/** Column edges for steps: each column from its step to the next; the last as wide as the one before (or 1). */
export function columnEdges(steps: readonly number[]): number[] {
  if (steps.length === 0) return [];
  const last = steps[steps.length - 1]!;
  const gap = steps.length > 1 ? last - steps[steps.length - 2]! : 1;
  return [...steps, last + gap];
}

/** Re-bins every histogram onto `rows` rows over the value range of all their edges. */
export function heatMap(histograms: readonly Logged<HistogramRef>[], rows = 64): HeatMap {
  const valid = histograms.filter((h) => h.value.bins.length === h.value.values.length + 1 && h.value.values.length > 0);
  const edges = finite(valid.flatMap((h) => [h.value.bins[0]!, h.value.bins[h.value.bins.length - 1]!]));
  let lo = edges.length ? Math.min(...edges) : 0;
  let hi = edges.length ? Math.max(...edges) : 1;
  if (hi <= lo) {
    // Every value the same: a unit-wide axis around it.
    lo -= 0.5;
    hi += 0.5;
  }
  const steps = valid.map((h) => h.step);
  const counts = new Float64Array(valid.length * rows);
  const rowHeight = (hi - lo) / rows;
  const rowOf = (v: number) => Math.min(rows - 1, Math.max(0, Math.floor((v - lo) / rowHeight)));
  valid.forEach((h, column) => {
    const { bins, values } = h.value;
    values.forEach((count, i) => {
      const a = bins[i]!;
      const b = bins[i + 1]!;
      if (!(count > 0) || !Number.isFinite(a) || !Number.isFinite(b)) return;
      if (b <= a) {
        counts[column * rows + rowOf(a)]! += count;
        return;
      }
      // The share of the bin [a, b) that falls in each row it overlaps.
      for (let row = rowOf(a); row <= rowOf(b) && row < rows; row++) {
        const top = lo + (row + 1) * rowHeight;
        const bottom = lo + row * rowHeight;
        const overlap = Math.min(b, top) - Math.max(a, bottom);
        if (overlap > 0) counts[column * rows + row]! += (count * overlap) / (b - a);
      }
    });
  });
  const columnMax = new Float64Array(valid.length);
  for (let column = 0; column < valid.length; column++) {
    let max = 0;
    for (let row = 0; row < rows; row++) max = Math.max(max, counts[column * rows + row]!);
    columnMax[column] = max;
  }
  return { steps, xEdges: columnEdges(steps), lo, hi, rows, counts, columnMax };
}

/** The cell under a point of the map (x in steps, y a value), or null outside it. */
export function cellAt(map: HeatMap, x: number, y: number): { column: number; row: number } | null {
  if (map.steps.length === 0 || y < map.lo || y > map.hi) return null;
  if (x < map.xEdges[0]! || x >= map.xEdges[map.xEdges.length - 1]!) return null;
  let column = 0;
  while (column + 1 < map.steps.length && x >= map.xEdges[column + 1]!) column++;
  const row = Math.min(map.rows - 1, Math.floor(((y - map.lo) / (map.hi - map.lo)) * map.rows));
  return { column, row };
}

// A sequential scale from near white (a low count fades into the white panel) to dark blue (the peak):
// ColorBrewer's YlGnBu.
const STOPS: [number, number, number][] = [
  [255, 255, 217], [199, 233, 180], [65, 182, 196], [34, 94, 168], [8, 29, 88],
];

/** The colour of an intensity in [0, 1] (clamped), as [r, g, b]. */
export function colorScale(t: number): [number, number, number] {
  const x = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [STOPS[i]!, STOPS[i + 1]!];
  return [0, 1, 2].map((c) => Math.round(a[c]! + (b[c]! - a[c]!) * f)) as [number, number, number];
}

/** A cell's intensity: its count over its column's largest (0 for an empty column). */
export function intensity(map: HeatMap, column: number, row: number): number {
  const max = map.columnMax[column] ?? 0;
  return max > 0 ? (map.counts[column * map.rows + row] ?? 0) / max : 0;
}
