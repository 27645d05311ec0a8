// Choosing a step across runs: a media panel's slider runs over every step any of its runs logged the
// key at, and each run shows its value at that step or the latest before it (pure; tested).

import type { Logged } from "./types";

/** Every step logged by any of the runs, ascending, once each. */
export function allSteps(series: Iterable<readonly Logged<unknown>[]>): number[] {
  const steps = new Set<number>();
  for (const entries of series) for (const e of entries) steps.add(e.step);
  return [...steps].sort((a, b) => a - b);
}

/** A run's value at `step`: the last logged at or before it (entries in step order); null before its first. */
export function valueAt<T>(entries: readonly Logged<T>[], step: number): Logged<T> | null {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (entries[mid]!.step <= step) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? entries[lo - 1]! : null;
}

/** The last step entries hold (-1 when empty). */
export function lastLoggedStep(entries: readonly Logged<unknown>[] | undefined): number {
  return entries?.length ? entries[entries.length - 1]!.step : -1;
}

/** `held` followed by the entries of `tail` after its last step (a tail asked for several runs from the
 *  earliest of their last steps repeats some). */
export function appendLogged<T>(held: readonly Logged<T>[], tail: readonly Logged<T>[]): Logged<T>[] {
  const after = lastLoggedStep(held);
  return [...held, ...tail.filter((e) => e.step > after)];
}

/** The step to show once the steps change: the newest when the newest was shown (a panel follows a
 *  live run), else the same step (or the nearest before it, else the first). */
export function nextChosenStep(previous: readonly number[], chosen: number | null, next: readonly number[]): number | null {
  if (next.length === 0) return null;
  const newest = next[next.length - 1]!;
  if (chosen === null || previous.length === 0 || chosen === previous[previous.length - 1]) return newest;
  if (next.includes(chosen)) return chosen;
  const before = next.filter((s) => s <= chosen);
  return before.length ? before[before.length - 1]! : next[0]!;
}
