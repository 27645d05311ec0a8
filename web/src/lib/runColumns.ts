// The runs table's model: which columns there are, a run's value in each, sorting, filtering and
// grouping (pure; tested). Column ids: name, state, created, runtime, tags, group, job_type, notes,
// config.<key> and summary.<key> (nested keys joined with "."). Column conditions: ./runFilters.ts.

import type { RunInfo } from "../api/schema";
import { formatDate, formatDuration, toNumber } from "./format";

export const BUILTIN_COLUMNS = ["name", "state", "created", "runtime", "tags", "group", "job_type", "notes"] as const;

const LABELS: Record<string, string> = {
  name: "Name", state: "State", created: "Created", runtime: "Runtime", tags: "Tags", group: "Group",
  job_type: "Job type", notes: "Notes",
};

export function columnLabel(id: string): string {
  return LABELS[id] ?? id;
}

/** How long a run ran: its recorded runtime once ended; while running, up to its last heartbeat
 *  (fresher than the runtime of its last logged row). */
export function runtimeOf(run: RunInfo): number {
  const fromSummary = run.summary["_runtime"];
  if (typeof fromSummary === "number" && run.state !== "running") return fromSummary;
  const end = run.state === "running" ? run.heartbeat_at : run.updated_at;
  return Math.max(0, end - run.created_at);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Nested objects as one level of "a.b" keys; keys starting with "_" (at any level) are left out, and
 *  so are media values (`{"_type": ...}`: a summary's last image or table is no column). */
export function flatten(value: Record<string, unknown>, prefix = ""): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key.startsWith("_")) continue;
    const path = prefix + key;
    if (isPlainObject(v) && typeof v["_type"] === "string") continue;
    if (isPlainObject(v) && Object.keys(v).length > 0) Object.assign(out, flatten(v, path + "."));
    else out[path] = v;
  }
  return out;
}

const flatCache = new WeakMap<object, Record<string, unknown>>();
function flat(value: Record<string, unknown>): Record<string, unknown> {
  let f = flatCache.get(value);
  if (!f) {
    f = flatten(value);
    flatCache.set(value, f);
  }
  return f;
}

/** A metric value: a number, or the API's strings for non-finite numbers. */
export function isNumeric(value: unknown): boolean {
  return typeof value === "number" || value === "NaN" || value === "Infinity" || value === "-Infinity";
}

function byFrequency(counts: Map<string, number>): string[] {
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k]) => k);
}

export interface ColumnKeys {
  /** Config keys, most common first. */
  config: string[];
  /** Summary keys with scalar values, most common first. */
  summary: string[];
}

export function discoverColumns(runs: readonly RunInfo[]): ColumnKeys {
  const config = new Map<string, number>();
  const summary = new Map<string, number>();
  for (const run of runs) {
    for (const key of Object.keys(flat(run.config))) config.set(key, (config.get(key) ?? 0) + 1);
    for (const [key, v] of Object.entries(flat(run.summary))) {
      if (isNumeric(v) || typeof v === "string" || typeof v === "boolean") summary.set(key, (summary.get(key) ?? 0) + 1);
    }
  }
  return { config: byFrequency(config), summary: byFrequency(summary) };
}

/** The keys of `before`, in their order, then those only `after` has. */
export function mergeColumnKeys(before: ColumnKeys, after: ColumnKeys): ColumnKeys {
  const merge = (a: string[], b: string[]) => {
    const seen = new Set(a);
    return [...a, ...b.filter((k) => !seen.has(k))];
  };
  return { config: merge(before.config, after.config), summary: merge(before.summary, after.summary) };
}

/** The columns shown before anyone chooses: the built-in ones, the first few config keys and summary metrics. */
export function defaultColumns(keys: ColumnKeys, configCount = 3, summaryCount = 3): string[] {
  return [
    ...BUILTIN_COLUMNS,
    ...keys.config.slice(0, configCount).map((k) => `config.${k}`),
    ...keys.summary.slice(0, summaryCount).map((k) => `summary.${k}`),
  ];
}

/** A run's value in a column (undefined when it has none). */
export function columnValue(run: RunInfo, id: string): unknown {
  switch (id) {
    case "name": return run.name ?? run.run_id;
    case "state": return run.state;
    case "created": return run.created_at;
    case "runtime": return runtimeOf(run);
    case "tags": return run.tags.join(", ");
    case "group": return run.group || undefined;
    case "job_type": return run.job_type || undefined;
    case "notes": return run.notes || undefined;
  }
  if (id.startsWith("config.")) return flat(run.config)[id.slice(7)];
  if (id.startsWith("summary.")) return flat(run.summary)[id.slice(8)];
  return undefined;
}

/** A value as a cell shows it. */
export function formatValue(id: string, value: unknown): string {
  if (value === undefined || value === null || value === "") return "–";
  if (id === "created" && typeof value === "number") return formatDate(value);
  if (id === "runtime" && typeof value === "number") return formatDuration(value);
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    return String(Number(value.toPrecision(4)));
  }
  if (typeof value === "string" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

function rank(value: unknown): number {
  if (typeof value === "number" || typeof value === "boolean" || isNumeric(value)) return 0;
  if (typeof value === "string") return 1;
  return 2;
}

/** Orders two present values: numbers (numerically), then strings (naturally), then the rest. */
export function compareValues(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 0) {
    const x = typeof a === "boolean" ? Number(a) : toNumber(a);
    const y = typeof b === "boolean" ? Number(b) : toNumber(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return Number(Number.isNaN(x)) - Number(Number.isNaN(y));
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (ra === 1) return (a as string).localeCompare(b as string, undefined, { numeric: true });
  return JSON.stringify(a).localeCompare(JSON.stringify(b));
}

export interface Sort {
  column: string;
  desc: boolean;
}

export function parseSort(text: string | null | undefined): Sort | null {
  if (!text) return null;
  const desc = text.startsWith("-");
  const column = desc ? text.slice(1) : text;
  return column ? { column, desc } : null;
}

export function formatSort(sort: Sort | null): string | null {
  return sort ? (sort.desc ? "-" : "") + sort.column : null;
}

/** Clicking a header: ascending, then descending, then back to the default order. */
export function nextSort(current: Sort | null, column: string): Sort | null {
  if (!current || current.column !== column) return { column, desc: false };
  return current.desc ? null : { column, desc: true };
}

/** Runs sorted by a column (stable; runs without a value last in either direction). */
export function sortRuns(runs: readonly RunInfo[], sort: Sort | null): RunInfo[] {
  if (!sort) return runs.slice();
  const keyed = runs.map((run, i) => ({ run, i, v: columnValue(run, sort.column) }));
  keyed.sort((a, b) => {
    const ma = a.v === undefined || a.v === null;
    const mb = b.v === undefined || b.v === null;
    if (ma || mb) return ma === mb ? a.i - b.i : ma ? 1 : -1;
    const c = compareValues(a.v, b.v);
    return (sort.desc ? -c : c) || a.i - b.i;
  });
  return keyed.map((k) => k.run);
}

/** Runs whose name, id or a tag contains every word of `text` (case-insensitive). */
/** The free-text filter's words (lower case): every one must be in a run's name, id or a tag. */
export function filterWords(text: string): string[] {
  return text.toLowerCase().split(/\s+/).filter((w) => w !== "");
}

export function filterRuns(runs: readonly RunInfo[], text: string): RunInfo[] {
  const words = filterWords(text);
  if (words.length === 0) return runs.slice();
  return runs.filter((run) => {
    const haystack = [run.name ?? "", run.run_id, ...run.tags].join("\n").toLowerCase();
    return words.every((w) => haystack.includes(w));
  });
}

export interface RunGroup {
  key: string;
  label: string;
  runs: RunInfo[];
}

const NONE_KEY = "\u0000none";

/** Runs grouped by a column's value, groups in order of their first run (so sorting orders them too).
 *  By "tags": a group per tag, so a run with several tags is in each of their groups (the same run
 *  object: callers must not assume the groups are disjoint); runs without tags in "(none)". */
export function groupRuns(runs: readonly RunInfo[], by: string): RunGroup[] {
  const groups = new Map<string, RunGroup>();
  const add = (key: string, label: string, run: RunInfo) => {
    let group = groups.get(key);
    if (!group) {
      group = { key, label, runs: [] };
      groups.set(key, group);
    }
    group.runs.push(run);
  };
  for (const run of runs) {
    if (by === "tags") {
      const tags = [...new Set(run.tags)];
      if (tags.length === 0) add(NONE_KEY, "(none)", run);
      for (const tag of tags) add(tag, tag, run);
      continue;
    }
    const value = columnValue(run, by);
    const missing = value === undefined || value === null || value === "";
    if (missing) add(NONE_KEY, "(none)", run);
    else add(typeof value === "string" ? value : JSON.stringify(value), formatValue(by, value), run);
  }
  return [...groups.values()];
}

/** The columns one can group by: group, job type, tags (a group per tag) and the config keys. */
export function groupableColumns(keys: ColumnKeys): string[] {
  return ["group", "job_type", "tags", ...keys.config.map((k) => `config.${k}`)];
}
