// Windowing for long lists (pure; tested): which rows of a fixed-row-height list a scrolled
// viewport shows, plus a few rows of overscan either side, and the space left above and below.

export interface RowWindow {
  /** First row to render (inclusive). */
  start: number;
  /** Row after the last one to render (exclusive). */
  end: number;
  /** Pixels of (unrendered) rows above the window. */
  padTop: number;
  /** Pixels of (unrendered) rows below the window. */
  padBottom: number;
}

/**
 * The rows to render for a viewport `viewport` pixels high scrolled `scrollTop` pixels down a list
 * of `total` rows `rowHeight` pixels high each. Never more than the viewport's rows plus
 * 2 × `overscan`; always within [0, total).
 */
export function rowWindow(scrollTop: number, viewport: number, rowHeight: number, total: number,
                          overscan = 8): RowWindow {
  if (total <= 0 || rowHeight <= 0) return { start: 0, end: 0, padTop: 0, padBottom: 0 };
  const top = Math.max(0, Number.isFinite(scrollTop) ? scrollTop : 0);
  const visible = Math.max(1, Math.ceil(Math.max(0, viewport) / rowHeight) + 1);
  let first = Math.floor(top / rowHeight);
  first = Math.min(first, Math.max(0, total - visible));
  const start = Math.max(0, first - overscan);
  const end = Math.min(total, first + visible + overscan);
  return { start, end, padTop: start * rowHeight, padBottom: (total - end) * rowHeight };
}
