// Column conditions of the runs table ("config.lr > 0.01", "tags has best", "state is running"):
// the model, its compact URL form, matching, and the server filter document they narrow the
// listing with (pure; tested). Conditions AND together; an invalid one (unknown operator, a
// non-number for a numeric operator) is ignored, with a hint.

import type { RunInfo } from "../api/schema";
import { columnValue, filterWords, isNumeric } from "./runColumns";
import { toNumber } from "./format";

/** Operators, as their URL tokens. */
export const OPS = ["eq", "ne", "lt", "le", "gt", "ge", "contains", "has", "nothas", "is", "isnot"] as const;
export type Op = (typeof OPS)[number];

export const OP_LABELS: Record<Op, string> = {
  eq: "=", ne: "≠", lt: "<", le: "≤", gt: ">", ge: "≥", contains: "contains", has: "has", nothas: "has not",
  is: "is", isnot: "is not",
};

/** A condition as written (op may be anything from a URL: `conditionError` says whether it applies). */
export interface Condition {
  column: string;
  op: string;
  value: string;
}

/** What a column holds, which decides its operators. "unknown": no run has a value in it (yet). */
export type ColumnKind = "number" | "string" | "tags" | "state" | "unknown";

export const RUN_STATES = ["running", "finished", "failed", "crashed"] as const;

const OPS_OF: Record<ColumnKind, readonly Op[]> = {
  number: ["eq", "ne", "lt", "le", "gt", "ge"],
  string: ["eq", "ne", "contains"],
  tags: ["has", "nothas"],
  state: ["is", "isnot"],
  unknown: ["eq", "ne", "lt", "le", "gt", "ge", "contains"],
};

export function opsFor(kind: ColumnKind): readonly Op[] {
  return OPS_OF[kind];
}

const NUMERIC_OPS: ReadonlySet<string> = new Set(["lt", "le", "gt", "ge"]);

function present(value: unknown): boolean {
  return value !== undefined && value !== null && value !== "";
}

/** A column's kind: fixed for the built-ins; config/summary columns are numbers when every value is. */
export function columnKind(runs: readonly RunInfo[], column: string): ColumnKind {
  if (column === "tags") return "tags";
  if (column === "state") return "state";
  if (column === "created" || column === "runtime") return "number";
  if (!column.startsWith("config.") && !column.startsWith("summary.")) return "string";
  let seen = false;
  for (const run of runs) {
    const v = columnValue(run, column);
    if (!present(v)) continue;
    if (!isNumeric(v)) return "string";
    seen = true;
  }
  return seen ? "number" : "unknown";
}

/** A column's kind over two sets of runs: text wins over numbers, and either over "unknown". */
export function mergeKinds(a: ColumnKind, b: ColumnKind): ColumnKind {
  if (a === b || b === "unknown") return a;
  if (a === "unknown") return b;
  return "string"; // number and string (tags and state never differ)
}

/** A condition's number: plain numbers, NaN and ±Infinity (as the API writes them); for "created" a
 *  date too (as seconds, like created_at). NaN (the number) when it is none of those. */
export function parseNumber(text: string, column = ""): number | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  if (/^nan$/i.test(t)) return NaN;
  if (/^\+?(inf|infinity)$/i.test(t)) return Infinity;
  if (/^-(inf|infinity)$/i.test(t)) return -Infinity;
  const n = Number(t);
  if (!Number.isNaN(n)) return n;
  if (column === "created") {
    const ms = Date.parse(t);
    if (!Number.isNaN(ms)) return ms / 1000;
  }
  return undefined;
}

/** Why a condition is ignored (shown next to it), or null when it applies. */
export function conditionError(condition: Condition, kind: ColumnKind): string | null {
  if (!condition.column) return "Choose a column";
  if (!(OPS as readonly string[]).includes(condition.op)) return `Unknown operator “${condition.op}”`;
  const op = condition.op as Op;
  if (!opsFor(kind).includes(op)) return `“${OP_LABELS[op]}” does not apply to ${condition.column}`;
  if (condition.value.trim() === "") return "Enter a value";
  if (NUMERIC_OPS.has(op) && parseNumber(condition.value, condition.column) === undefined) {
    return `Not a number: “${condition.value}”`;
  }
  if (kind === "state" && !(RUN_STATES as readonly string[]).includes(condition.value)) {
    return `Unknown state “${condition.value}”`;
  }
  return null;
}

/** Numeric equality where NaN equals NaN (so "summary.loss = NaN" finds the runs that diverged). */
function sameNumber(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

function asText(value: unknown): string {
  return typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** Whether a run passes a (valid) condition. A run without a value in the column fails every
 *  condition but "≠", "has not" and "is not". */
export function matches(run: RunInfo, condition: Condition): boolean {
  const { column, op, value } = condition;
  if (column === "tags") {
    const has = run.tags.includes(value.trim());
    return op === "nothas" ? !has : op === "has" ? has : true;
  }
  const negated = op === "ne" || op === "isnot" || op === "nothas";
  const actual = columnValue(run, column);
  if (!present(actual)) return negated;
  const wanted = parseNumber(value, column);
  const numeric = isNumeric(actual) && wanted !== undefined;
  switch (op) {
    case "eq":
    case "ne": {
      const same = numeric ? sameNumber(toNumber(actual), wanted) : asText(actual) === value.trim();
      return op === "eq" ? same : !same;
    }
    case "is": return asText(actual) === value.trim();
    case "isnot": return asText(actual) !== value.trim();
    case "contains": return asText(actual).toLowerCase().includes(value.trim().toLowerCase());
    case "lt": return numeric && toNumber(actual) < wanted;
    case "le": return numeric && toNumber(actual) <= wanted;
    case "gt": return numeric && toNumber(actual) > wanted;
    case "ge": return numeric && toNumber(actual) >= wanted;
  }
  return true; // an unknown operator is ignored
}

/** The runs that pass every valid condition (invalid ones are left out: their hint says why). */
export function applyConditions(runs: readonly RunInfo[], conditions: readonly Condition[],
                                kindOf: (column: string) => ColumnKind): RunInfo[] {
  const active = conditions.filter((c) => conditionError(c, kindOf(c.column)) === null);
  if (active.length === 0) return runs.slice();
  return runs.filter((run) => active.every((c) => matches(run, c)));
}

// URL form: `column~op~value` (e.g. "config.lr~gt~0.01"), "~" and "%" in the column
// percent-encoded so the first two "~" always split; the value is the rest, as typed.

export function formatCondition(condition: Condition): string {
  const column = condition.column.replace(/%/g, "%25").replace(/~/g, "%7E");
  return `${column}~${condition.op}~${condition.value}`;
}

/** A condition from its URL form; never throws (a malformed one comes back with an empty op, so
 *  it shows up as invalid rather than disappearing). */
export function parseCondition(text: string): Condition {
  const i = text.indexOf("~");
  const j = i < 0 ? -1 : text.indexOf("~", i + 1);
  const rawColumn = i < 0 ? text : text.slice(0, i);
  let column: string;
  try {
    column = decodeURIComponent(rawColumn);
  } catch {
    column = rawColumn;
  }
  if (j < 0) return { column, op: i < 0 ? "" : text.slice(i + 1), value: "" };
  return { column, op: text.slice(i + 1, j), value: text.slice(j + 1) };
}

// The server's filter document (a MongoDB-style document, see docs/api.md): the project's runs are
// listed through it, so a condition finds matching runs among all of them, not only among the
// newest the page loads. It never leaves out a run `matches` keeps (a superset): the table still
// applies the conditions to what comes back, which decides the rows, and handles what the server
// has no field for (runtime, notes). Where an exact translation would miss a run the table keeps
// (a number in a column of text, a name that falls back to the run id), the document is wider.

type FilterDocument = Record<string, unknown>;

/** Text that matches itself literally as a regular expression in Python and PostgreSQL alike
 *  (ASCII punctuation escaped; a backslash before a letter would mean something else in both). */
export function literalPattern(text: string): string {
  return text.replace(/[!-/:-@[-`{-~]/g, (c) => `\\${c}`);
}

const SERVER_FIELDS: Record<string, string> = { name: "name", state: "state", created: "created_at", tags: "tags",
                                                group: "group", job_type: "job_type" };
const COMPARISON_OPS: Record<string, string> = { lt: "$lt", le: "$lte", gt: "$gt", ge: "$gte" };

/** A number as the API writes it: non-finite ones as the strings stored summaries hold. */
function apiNumber(n: number): number | string {
  return Number.isNaN(n) ? "NaN" : n === Infinity ? "Infinity" : n === -Infinity ? "-Infinity" : n;
}

/** Contains `text`, ignoring case (as the table's `contains` and free-text filter match). */
function containing(text: string): FilterDocument {
  return { $regex: literalPattern(text), $options: "i" };
}

/** One valid condition as a filter document, or null when the server cannot narrow by it. */
function conditionDocument(condition: Condition, kind: ColumnKind): FilterDocument | null {
  const { column, op } = condition;
  const value = condition.value.trim();
  const nested = column.startsWith("config.") || column.startsWith("summary.");
  const field = nested ? column : SERVER_FIELDS[column];
  if (!field) return null; // runtime, notes: the table filters those itself
  const wanted = parseNumber(value, column);
  if (column === "name") {
    // A run without a name shows (and matches) its id.
    const either = (test: unknown) => ({ $or: [{ name: test }, { run_id: test }] });
    if (op === "eq") return either(value);
    if (op === "contains") return either(containing(value));
    return op === "ne" ? { name: { $ne: value } } : null;
  }
  if (op === "has" || op === "is") return { [field]: value };
  if (op === "nothas" || op === "isnot") return { [field]: { $ne: value } };
  if (op in COMPARISON_OPS) {
    // A comparison with NaN holds for no run: nothing to narrow by.
    return wanted === undefined || Number.isNaN(wanted) ? null : { [field]: { [COMPARISON_OPS[op]!]: apiNumber(wanted) } };
  }
  if (op === "eq" || op === "ne") {
    // The table compares numbers as numbers and anything else as its text: "4" also finds 4 and "true" true.
    const targets: unknown[] = kind === "number" && wanted !== undefined ? [apiNumber(wanted)] : [value];
    if (kind !== "number" && wanted !== undefined && !Number.isNaN(wanted)) targets.push(apiNumber(wanted));
    if (kind !== "number" && (value === "true" || value === "false")) targets.push(value === "true");
    return { [field]: op === "eq" ? { $in: targets } : { $nin: targets } };
  }
  if (op === "contains") {
    if (!nested) return { [field]: containing(value) };
    // The table also searches a number's or a list's text: keep every present value that is not text.
    return { $or: [{ [field]: containing(value) }, { [field]: { $exists: true, $not: { $regex: "" } } }] };
  }
  return null;
}

/**
 * The filter document for the free-text filter (every word in the name, id or a tag) and the valid
 * conditions, or null when nothing narrows the listing. `kindOf` says each column's kind, as for
 * `applyConditions`.
 */
export function filterDocument(text: string, conditions: readonly Condition[],
                               kindOf: (column: string) => ColumnKind): FilterDocument | null {
  const parts: FilterDocument[] = [];
  for (const word of filterWords(text)) {
    parts.push({ $or: ["name", "run_id", "tags"].map((f) => ({ [f]: containing(word) })) });
  }
  for (const condition of conditions) {
    const kind = kindOf(condition.column);
    if (conditionError(condition, kind) !== null) continue;
    const part = conditionDocument(condition, kind);
    if (part) parts.push(part);
  }
  return parts.length === 0 ? null : parts.length === 1 ? parts[0]! : { $and: parts };
}
