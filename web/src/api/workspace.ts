// API helpers for the project workspace (on top of ./client.ts).

import { DRAWN_COLUMNS, MAX_RUNS, type Api, type M4Column, type RunList, type SeriesColumns } from "./client";
import { streamRunChanges } from "./events";
import type { RunInfo } from "./schema";

/** A run's state as far as charts and the table care: it changed when any of these did. */
export function runFingerprint(run: RunInfo): string {
  return `${run.updated_at}|${run.last_seq}|${run.state}|${run.heartbeat_at}`;
}

/** Where a run's history is: it changed when a row was logged (not on heartbeats, system samples,
 *  console lines or edited tags, which change the run but not its charts). */
export function historyMark(run: RunInfo): string {
  return `${String(run.summary["_step"])}|${String(run.summary["_runtime"])}`;
}

/** The ids of runs that are new or changed in `next` compared with `previous` (pure; tested). */
export function changedRuns(previous: readonly RunInfo[], next: readonly RunInfo[]): Set<string> {
  const before = new Map(previous.map((r) => [r.run_id, runFingerprint(r)]));
  return new Set(next.filter((r) => before.get(r.run_id) !== runFingerprint(r)).map((r) => r.run_id));
}

/**
 * One metric of many runs (one request) with only `columns` (by default what a chart draws; the
 * others are empty arrays); an empty answer without asking when there are no runs.
 */
export async function seriesOf(
  api: Api, entity: string, project: string, key: string, runIds: string[], buckets: number,
  range: { minStep?: number; maxStep?: number } = {}, columns: readonly M4Column[] = DRAWN_COLUMNS,
): Promise<Record<string, SeriesColumns>> {
  if (runIds.length === 0) return {};
  return (await api.projectSeries(entity, project, key, runIds, buckets, range, columns)).runs;
}

/** The runs of `current` with `changed` put in (replacing the same ids), newest first (pure; tested). */
export function mergeRuns(current: readonly RunInfo[], changed: readonly RunInfo[]): RunInfo[] {
  const byId = new Map(current.map((r) => [r.run_id, r]));
  for (const run of changed) byId.set(run.run_id, run);
  return [...byId.values()].sort((a, b) => b.created_at - a.created_at);
}

/** How far back each poll asks again: a write that began before the newest time seen may commit after it. */
const OVERLAP_SECONDS = 10;
/** While the events stream is open the list is still asked for this often: a run that stops
 *  heartbeating turns "crashed" without a write the stream would tell of. */
const STREAMING_POLL_MS = 30_000;
/** How long to wait before opening the events stream again after it failed (polling meanwhile). */
const STREAM_RETRY_MS = 10_000;

/** What `watchRuns` answers: `reset` starts over from a list just fetched through another filter. */
export interface RunsWatch {
  reset(list: RunList, filter: string): void;
}

/**
 * Watches a project's runs (those `filter` lets through, a JSON filter document or "") and calls
 * `onChange` with the whole list, newest first and at most MAX_RUNS, when a run is new, changed or
 * gone, until `alive()` says no. The server's events stream says when something changed (a quiet
 * project then costs no requests, and every client of a replica shares one store query); each
 * change asks only for the runs changed since the newest change seen (and the running ones), at
 * most once per `intervalMs`. Without the stream it polls every `intervalMs`. When the project's
 * run count says a run was deleted (unfiltered: the list's length disagrees; filtered: the count
 * changed), the list is fetched whole once. Errors are retried.
 */
export function watchRuns(
  api: Api, entity: string, project: string, initial: RunList,
  onChange: (list: RunList) => void,
  alive: () => boolean, intervalMs = 2000, filter = "",
): RunsWatch {
  let current = initial.runs;
  let total = initial.total;
  const newest = (runs: readonly RunInfo[], since: number) => runs.reduce((t, r) => Math.max(t, r.updated_at), since);
  let since = newest(current, 0);
  let streaming = false;
  let dirty = false;
  let refreshing = false;
  let lastRefresh = Date.now();
  let generation = 0; // a reset makes the answers of requests made before it stale

  const refresh = async () => {
    if (refreshing || !alive()) return;
    refreshing = true;
    dirty = false;
    lastRefresh = Date.now();
    const asked = generation;
    try {
      const answer = await api.runsChangedSince(entity, project, since - OVERLAP_SECONDS, filter);
      let next = mergeRuns(current, answer.runs).slice(0, MAX_RUNS);
      const gone = filter ? answer.total !== total : next.length !== Math.min(answer.total, MAX_RUNS);
      if (gone) next = (await api.runs(entity, project, filter)).runs;
      if (!alive() || asked !== generation) return;
      since = newest(answer.runs, since);
      const changed = changedRuns(current, next).size > 0 || next.length !== current.length || answer.total !== total;
      current = next;
      total = answer.total;
      if (changed) onChange({ runs: next, total });
    } catch {
      dirty = true; // try again at the next tick
    } finally {
      refreshing = false;
    }
  };

  const tick = () => {
    if (!alive()) return;
    const due = Date.now() - lastRefresh >= (streaming ? STREAMING_POLL_MS : intervalMs);
    if (dirty || due) void refresh();
    setTimeout(tick, intervalMs);
  };
  setTimeout(tick, intervalMs);

  const onEvent = () => {
    if (Date.now() - lastRefresh >= intervalMs) void refresh();
    else dirty = true;
  };
  const stream = async () => {
    while (alive()) {
      streaming = true;
      try {
        await streamRunChanges(api, entity, project, since - OVERLAP_SECONDS, onEvent, alive);
      } catch {
        // polled meanwhile; opened again below
      }
      streaming = false;
      await new Promise((resolve) => setTimeout(resolve, STREAM_RETRY_MS));
    }
  };
  void stream();
  return {
    reset(list: RunList, nextFilter: string): void {
      generation++;
      current = list.runs;
      total = list.total;
      filter = nextFilter;
      since = newest(current, since);
    },
  };
}
