// The chart tooltip's values: each run's value nearest the cursor (pure; tested).

/**
 * The value of `column` at `idx`, or, where the run has no bucket there, at the nearest index
 * within `reach` that has one (runs are aligned on the union of their buckets' x, so another
 * run's bucket is rarely at exactly the same x). null when there is none.
 */
export function valueNear(column: readonly (number | null)[], idx: number, reach = 64): number | null {
  for (let d = 0; d <= reach; d++) {
    const before = column[idx - d];
    if (before != null) return before;
    const after = column[idx + d];
    if (after != null) return after;
  }
  return null;
}

/** A value as the tooltip shows it. */
export function formatValue(value: number | null): string {
  if (value == null) return "–";
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(5)));
}
