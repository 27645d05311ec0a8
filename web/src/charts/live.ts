// Live charts fetch only what is new: a run's columns get the buckets after the last step they
// already hold (pure; tested).

import { M4_COLUMNS, type SeriesColumns } from "../api/client";
import type { RunInfo } from "../api/schema";

/** The last step a run's columns reach (-1 when they are empty). */
export function lastStepOf(columns: SeriesColumns | undefined): number {
  const steps = columns?.last_step ?? [];
  return steps.length ? steps[steps.length - 1]! : -1;
}

/** `columns` followed by the buckets of `tail` that end after `afterStep` (a tail fetched from an
 *  earlier step for several runs at once repeats some). Columns left empty by the request stay empty. */
export function appendTail(columns: SeriesColumns, tail: SeriesColumns, afterStep: number): SeriesColumns {
  const keep = tail.last_step.flatMap((step, i) => (step > afterStep ? [i] : []));
  const out = { ...columns, downsampled: columns.downsampled || tail.downsampled };
  for (const name of M4_COLUMNS) {
    const added = tail[name] as readonly unknown[];
    if (added.length) (out as Record<string, unknown>)[name] = [...(columns[name] as unknown[]), ...keep.map((i) => added[i])];
  }
  return out;
}

/** Whether appended tails have made a run's columns so long that the whole range should be fetched
 *  again, downsampled to the panel's width. */
export function needsRebucketing(columns: SeriesColumns, buckets: number): boolean {
  return columns.last_step.length > 2 * buckets;
}

/** Whether a run's newest step is before the last one held: it was rewound (resume_from), so what is
 *  held is no longer its history. */
export function rewound(run: RunInfo, held: SeriesColumns | undefined): boolean {
  const step = run.summary["_step"];
  return typeof step === "number" && step < lastStepOf(held);
}
