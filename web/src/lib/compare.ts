// The compare page's model (pure; tested): the config and summary of several runs side by side,
// one row per key, each marked when the runs' values differ.

import type { RunInfo } from "../api/schema";
import { flatten } from "./runColumns";

export interface CompareRow {
  /** "config.<key>" or "summary.<key>" (nested keys joined with "."). */
  key: string;
  /** One value per run, in the runs' order (undefined where a run has none). */
  values: unknown[];
  /** The values are not all the same (a missing value differs from any present one). */
  differs: boolean;
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Rows for flat records (one per run): every key any of them has, in first-seen order, sorted by section. */
export function diffRows(records: readonly Record<string, unknown>[]): CompareRow[] {
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const record of records) {
    for (const key of Object.keys(record)) {
      if (!seen.has(key)) {
        seen.add(key);
        keys.push(key);
      }
    }
  }
  return keys.map((key) => {
    const values = records.map((r) => (Object.prototype.hasOwnProperty.call(r, key) ? r[key] : undefined));
    return { key, values, differs: values.some((v) => !same(v, values[0])) };
  });
}

/** The compare rows of runs: their config keys (sorted), then their summary keys (sorted). */
export function compareRuns(runs: readonly RunInfo[]): CompareRow[] {
  const section = (name: "config" | "summary") => {
    const records = runs.map((run) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(flatten(run[name]))) out[`${name}.${k}`] = v;
      return out;
    });
    return diffRows(records).sort((a, b) => a.key.localeCompare(b.key));
  };
  return [...section("config"), ...section("summary")];
}
