// Smoothing for chart lines: a debiased exponential moving average (pure; tested).

/**
 * The debiased EMA of `values` with weight `weight` in [0, 1): 0 returns the values unchanged.
 * Gaps (null or non-finite) stay gaps and do not reset the average. Debiasing divides by
 * 1 - weightⁿ, so the first points are not pulled towards zero.
 */
export function smoothEma(values: readonly (number | null)[], weight: number): (number | null)[] {
  if (!(weight > 0)) return values.slice();
  const w = Math.min(weight, 0.999);
  let average = 0;
  let n = 0;
  return values.map((v) => {
    if (v == null || !Number.isFinite(v)) return null;
    average = average * w + (1 - w) * v;
    n += 1;
    return average / (1 - Math.pow(w, n));
  });
}
