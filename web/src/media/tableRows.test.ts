import { describe, expect, it } from "vitest";

import { cellText, compareCells, nextSort, parseTable, tablePage, type TableQuery } from "./tableRows";
import type { TableData } from "./types";

const image = (caption?: string) => ({ _type: "image-file", path: "media/images/a.png", ...(caption ? { caption } : {}) });

const table: TableData = {
  columns: ["id", "label", "score", "image"],
  data: [
    [0, "cat", 0.5, image("a cat")],
    [1, "dog", null, image()],
    [2, "bird", 0.9, image("a bird")],
    [10, "cat food", 0.1, null],
  ],
};

const query = (extra: Partial<TableQuery> = {}): TableQuery => ({ sort: null, filter: "", page: 0, pageSize: 20, ...extra });
const ids = (q: TableQuery) => tablePage(table, q).rows.map((r) => r.cells[0]);

describe("table rows", () => {
  it("shows the rows in table order, with their indexes", () => {
    const page = tablePage(table, query());
    expect(page.rows.map((r) => r.index)).toEqual([0, 1, 2, 3]);
    expect([page.matching, page.pages, page.page]).toEqual([4, 1, 0]);
  });

  it("sorts numbers numerically and text naturally, empty cells last both ways", () => {
    expect(ids(query({ sort: { column: 0, descending: true } }))).toEqual([10, 2, 1, 0]);
    expect(ids(query({ sort: { column: 2, descending: false } }))).toEqual([10, 0, 2, 1]);
    expect(ids(query({ sort: { column: 2, descending: true } }))).toEqual([2, 0, 10, 1]);
    expect(ids(query({ sort: { column: 1, descending: false } }))).toEqual([2, 0, 10, 1]);
    expect(compareCells("item 2", "item 10")).toBeLessThan(0);
    expect(compareCells(3, "a")).toBeLessThan(0);
  });

  it("a header click sorts ascending, descending, then not at all", () => {
    const asc = nextSort(null, 1);
    expect(asc).toEqual({ column: 1, descending: false });
    const desc = nextSort(asc, 1);
    expect(desc).toEqual({ column: 1, descending: true });
    expect(nextSort(desc, 1)).toBeNull();
    expect(nextSort(desc, 2)).toEqual({ column: 2, descending: false });
  });

  it("filters by every word, in any cell, ignoring case; images by caption", () => {
    expect(ids(query({ filter: "CAT" }))).toEqual([0, 10]);
    expect(ids(query({ filter: "cat food" }))).toEqual([10]);
    expect(ids(query({ filter: "bird" }))).toEqual([2]);
    expect(ids(query({ filter: "nothing" }))).toEqual([]);
    expect(tablePage(table, query({ filter: "nothing" })).pages).toBe(1);
    expect(cellText(image("x"))).toBe("x");
    expect(cellText({ a: 1 })).toBe('{"a":1}');
    expect(cellText(null)).toBe("");
  });

  it("pages, clamping a page past the end", () => {
    const many: TableData = { columns: ["n"], data: Array.from({ length: 45 }, (_, i) => [i]) };
    const second = tablePage(many, query({ page: 1 }));
    expect(second.rows.map((r) => r.cells[0])).toEqual(Array.from({ length: 20 }, (_, i) => 20 + i));
    expect(second.pages).toBe(3);
    const last = tablePage(many, query({ page: 7 }));
    expect([last.page, last.rows.length]).toEqual([2, 5]);
  });

  it("reads a table file and refuses anything else", () => {
    expect(parseTable({ columns: ["a"], data: [[1]] })).toEqual({ columns: ["a"], data: [[1]] });
    expect(() => parseTable({ columns: ["a"] })).toThrow(/not a table/);
    expect(() => parseTable(null)).toThrow(/not a table/);
  });
});
