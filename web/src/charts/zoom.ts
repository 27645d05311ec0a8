// Zoom: an x-range selected on a chart → the series request that fetches finer buckets for it (pure; tested).

/** A range on the chart's x axis (in its units: steps, seconds or a metric's values). */
export interface XRange {
  min: number;
  max: number;
}

/** What to ask the series endpoint for. */
export interface SeriesRequest {
  buckets: number;
  minStep?: number;
  maxStep?: number;
}

/**
 * The step range to fetch for a selected x-range. On the step axis the range itself (widened to
 * whole steps); on another axis, the steps of the drawn points whose x lies in the range, widened
 * to their neighbours so the lines run to the edges. `points` are the drawn (step, x) pairs.
 * null when nothing can be fetched (an empty or reversed range, or no point in it).
 */
export function stepRange(range: XRange, points?: ReadonlyArray<readonly [number, number]>): XRange | null {
  if (!Number.isFinite(range.min) || !Number.isFinite(range.max) || range.max <= range.min) return null;
  if (!points) {
    const min = Math.max(0, Math.floor(range.min));
    const max = Math.ceil(range.max);
    return max >= min ? { min, max } : null;
  }
  const sorted = [...points].filter(([s, x]) => Number.isFinite(s) && Number.isFinite(x)).sort((a, b) => a[0] - b[0]);
  let first = -1;
  let last = -1;
  sorted.forEach(([, x], i) => {
    if (x >= range.min && x <= range.max) {
      if (first < 0) first = i;
      last = i;
    }
  });
  if (first < 0) return null;
  const lo = sorted[Math.max(0, first - 1)]![0];
  const hi = sorted[Math.min(sorted.length - 1, last + 1)]![0];
  return { min: Math.floor(lo), max: Math.ceil(hi) };
}

/** The request for `buckets` buckets over a step range (null: the whole series). */
export function seriesRequest(steps: XRange | null, buckets: number): SeriesRequest {
  const request: SeriesRequest = { buckets: Math.max(1, Math.round(buckets)) };
  if (steps) {
    request.minStep = steps.min;
    request.maxStep = steps.max;
  }
  return request;
}
