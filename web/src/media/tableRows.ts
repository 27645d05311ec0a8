// A logged table's rows as a panel shows them: filtered by a text, sorted by a column, one page at a
// time (pure; tested).

import { isImageRef, type TableData } from "./types";

export interface TableSort {
  column: number;
  descending: boolean;
}

export interface TableQuery {
  sort: TableSort | null;
  filter: string;
  /** 0-based; clamped to the pages there are. */
  page: number;
  pageSize: number;
}

export const PAGE_SIZE = 20;

export interface TablePage {
  /** The rows of the page, each with its index in the table. */
  rows: { index: number; cells: unknown[] }[];
  /** Rows that pass the filter. */
  matching: number;
  pages: number;
  page: number;
}

/** A cell as text (for the filter, and what a non-image cell shows): an image by its caption. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (isImageRef(value)) return value.caption ?? "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function rank(value: unknown): number {
  if (value === null || value === undefined || (typeof value === "number" && Number.isNaN(value))) return 3;
  if (typeof value === "number" || typeof value === "boolean") return 0;
  if (typeof value === "string") return 1;
  return 2;
}

/** Numbers (and booleans) numerically, then text (natural order), then other values; empty cells last. */
export function compareCells(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 0) return Number(a) - Number(b);
  if (ra === 3) return 0;
  return cellText(a).localeCompare(cellText(b), undefined, { numeric: true });
}

/** Clicking a header: ascending, then descending, then back to the table's order. */
export function nextSort(current: TableSort | null, column: number): TableSort | null {
  if (!current || current.column !== column) return { column, descending: false };
  return current.descending ? null : { column, descending: true };
}

/** The page of rows for a query: every word of the filter must be in some cell (ignoring case); a sort
 *  keeps equal rows in table order, and empty cells last either way. */
export function tablePage(table: TableData, query: TableQuery): TablePage {
  const words = query.filter.toLowerCase().split(/\s+/).filter(Boolean);
  let rows = table.data.map((cells, index) => ({ index, cells }));
  if (words.length) {
    rows = rows.filter(({ cells }) => {
      const text = cells.map(cellText).join("\u0000").toLowerCase();
      return words.every((w) => text.includes(w));
    });
  }
  const sort = query.sort;
  if (sort) {
    rows = [...rows].sort((x, y) => {
      const a = x.cells[sort.column];
      const b = y.cells[sort.column];
      const empty = rank(a) === 3 || rank(b) === 3;
      const order = compareCells(a, b);
      return (sort.descending && !empty ? -order : order) || x.index - y.index;
    });
  }
  const size = Math.max(1, query.pageSize);
  const pages = Math.max(1, Math.ceil(rows.length / size));
  const page = Math.min(Math.max(0, query.page), pages - 1);
  return { rows: rows.slice(page * size, (page + 1) * size), matching: rows.length, pages, page };
}

/** A table file's JSON as TableData (a malformed one as an error, not a crash later). */
export function parseTable(json: unknown): TableData {
  const t = json as Partial<TableData> | null;
  if (!t || !Array.isArray(t.columns) || !Array.isArray(t.data) || !t.data.every(Array.isArray)) {
    throw new Error("not a table file (expected {columns, data})");
  }
  return { columns: t.columns.map(String), data: t.data };
}
