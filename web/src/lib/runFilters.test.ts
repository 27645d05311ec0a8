import { describe, expect, it } from "vitest";

import {
  applyConditions, columnKind, type Condition, conditionError, filterDocument, formatCondition, literalPattern, matches,
  mergeKinds, parseCondition, parseNumber,
} from "./runFilters";
import { testRun } from "./testRuns";

const run = testRun;

const runs = [
  run("a", { config: { lr: 0.1, opt: { name: "adam" } }, summary: { loss: 0.5 }, tags: ["x", "best"], notes: "first try" }),
  run("b", { config: { lr: 0.01 }, summary: { loss: "NaN" }, state: "running" }),
  run("c", { config: { lr: 1, opt: { name: "sgd" } }, summary: { loss: "Infinity" }, tags: ["x"], group: "g" }),
  run("d", { summary: { loss: "-Infinity" }, state: "crashed" }),
];

const c = (column: string, op: string, value: string): Condition => ({ column, op, value });
const ids = (conditions: Condition[]) =>
  applyConditions(runs, conditions, (col) => columnKind(runs, col)).map((r) => r.run_id);

describe("condition URL form", () => {
  it("round-trips conditions, whatever their column and value hold", () => {
    for (const cond of [c("config.lr", "gt", "0.01"), c("tags", "has", "a~b c,d&e=f"), c("config.a~b%20c", "eq", "~"),
                        c("notes", "contains", ""), c("summary.x", "bogus", "1"), c("", "", "")]) {
      expect(parseCondition(formatCondition(cond))).toEqual(cond);
    }
    expect(formatCondition(c("config.lr", "gt", "0.01"))).toBe("config.lr~gt~0.01");
  });

  it("parses malformed text without throwing", () => {
    expect(parseCondition("config.lr")).toEqual(c("config.lr", "", ""));
    expect(parseCondition("config.lr~gt")).toEqual(c("config.lr", "gt", ""));
    expect(parseCondition("%E0%A4%A~eq~1")).toEqual(c("%E0%A4%A", "eq", "1"));
  });
});

describe("condition validity", () => {
  it("knows each column's kind", () => {
    expect(columnKind(runs, "config.lr")).toBe("number");
    expect(columnKind(runs, "summary.loss")).toBe("number"); // NaN and ±Infinity count as numbers
    expect(columnKind(runs, "config.opt.name")).toBe("string");
    expect(columnKind(runs, "config.missing")).toBe("unknown");
    expect(columnKind(runs, "tags")).toBe("tags");
    expect(columnKind(runs, "state")).toBe("state");
    expect(columnKind(runs, "created")).toBe("number");
    expect(columnKind(runs, "notes")).toBe("string");
  });

  it("says why a condition is ignored", () => {
    expect(conditionError(c("config.lr", "gt", "0.1"), "number")).toBeNull();
    expect(conditionError(c("config.lr", "gt", "abc"), "number")).toMatch(/Not a number/);
    expect(conditionError(c("config.lr", "zz", "1"), "number")).toMatch(/Unknown operator/);
    expect(conditionError(c("config.lr", "has", "1"), "number")).toMatch(/does not apply/);
    expect(conditionError(c("name", "lt", "1"), "string")).toMatch(/does not apply/);
    expect(conditionError(c("name", "contains", " "), "string")).toMatch(/Enter a value/);
    expect(conditionError(c("state", "is", "asleep"), "state")).toMatch(/Unknown state/);
    expect(conditionError(c("created", "gt", "2024-01-02"), "number")).toBeNull();
    expect(conditionError(c("config.new", "lt", "1"), "unknown")).toBeNull();
    expect(parseNumber("NaN")).toBeNaN();
    expect(parseNumber("-inf")).toBe(-Infinity);
    expect(parseNumber(" 1e-3 ")).toBe(0.001);
    expect(parseNumber("")).toBeUndefined();
    expect(parseNumber("2024-01-02", "created")).toBe(Date.parse("2024-01-02") / 1000);
    expect(parseNumber("2024-01-02", "runtime")).toBeUndefined();
  });

  it("ignores invalid conditions instead of filtering everything out", () => {
    expect(ids([c("config.lr", "gt", "abc")])).toEqual(["a", "b", "c", "d"]);
    expect(ids([c("config.lr", "nope", "1"), c("tags", "has", "x")])).toEqual(["a", "c"]);
    expect(() => ids([c("", "", ""), c("config.lr", "", "")])).not.toThrow();
  });
});

describe("matching", () => {
  it("compares numbers numerically", () => {
    expect(ids([c("config.lr", "gt", "0.05")])).toEqual(["a", "c"]);
    expect(ids([c("config.lr", "le", "0.1")])).toEqual(["a", "b"]);
    expect(ids([c("config.lr", "eq", "0.10")])).toEqual(["a"]); // not the text "0.10"
    expect(ids([c("config.lr", "lt", "1e0")])).toEqual(["a", "b"]);
  });

  it("handles the API's NaN and Infinity strings", () => {
    expect(ids([c("summary.loss", "gt", "1")])).toEqual(["c"]); // NaN is not > 1, Infinity is
    expect(ids([c("summary.loss", "lt", "1")])).toEqual(["a", "d"]);
    expect(ids([c("summary.loss", "eq", "NaN")])).toEqual(["b"]);
    expect(ids([c("summary.loss", "ne", "NaN")])).toEqual(["a", "c", "d"]);
    expect(ids([c("summary.loss", "eq", "Infinity")])).toEqual(["c"]);
    expect(ids([c("summary.loss", "ge", "-inf")])).toEqual(["a", "c", "d"]);
  });

  it("fails a run without the column except for ≠ and has not", () => {
    expect(ids([c("config.lr", "ne", "0.1")])).toEqual(["b", "c", "d"]);
    expect(ids([c("config.lr", "lt", "100")])).toEqual(["a", "b", "c"]);
    expect(ids([c("config.opt.name", "ne", "adam")])).toEqual(["b", "c", "d"]);
    expect(ids([c("config.opt.name", "contains", "")])).toEqual(["a", "b", "c", "d"]); // empty: ignored
    expect(ids([c("notes", "contains", "TRY")])).toEqual(["a"]);
    expect(ids([c("notes", "ne", "first try")])).toEqual(["b", "c", "d"]);
    expect(ids([c("group", "eq", "g")])).toEqual(["c"]);
  });

  it("matches tags and states", () => {
    expect(ids([c("tags", "has", "x")])).toEqual(["a", "c"]);
    expect(ids([c("tags", "has", "bes")])).toEqual([]); // a whole tag, not a part of one
    expect(ids([c("tags", "nothas", "best")])).toEqual(["b", "c", "d"]);
    expect(ids([c("state", "is", "running")])).toEqual(["b"]);
    expect(ids([c("state", "isnot", "finished")])).toEqual(["b", "d"]);
    expect(ids([c("tags", "has", "x"), c("config.lr", "gt", "0.5")])).toEqual(["c"]); // AND
    expect(matches(runs[0]!, c("name", "eq", "a"))).toBe(true);
    expect(matches(runs[0]!, c("name", "eq", "A"))).toBe(false);
  });
});

describe("the server's filter document", () => {
  const doc = (text: string, ...conditions: Condition[]) => filterDocument(text, conditions, (col) => columnKind(runs, col));

  it("is null when nothing narrows the listing", () => {
    expect(doc("")).toBeNull();
    expect(doc("  ", c("config.lr", "gt", "abc"), c("runtime", "gt", "10"), c("notes", "contains", "x"))).toBeNull();
  });

  it("translates numeric comparisons, with non-finite numbers as the API writes them", () => {
    expect(doc("", c("config.lr", "gt", "0.01"))).toEqual({ "config.lr": { $gt: 0.01 } });
    expect(doc("", c("summary.loss", "le", "inf"))).toEqual({ "summary.loss": { $lte: "Infinity" } });
    expect(doc("", c("summary.loss", "eq", "NaN"))).toEqual({ "summary.loss": { $in: ["NaN"] } });
    expect(doc("", c("summary.loss", "lt", "nan"))).toBeNull(); // holds for no run: the table shows none
    expect(doc("", c("created", "ge", "2024-01-01T00:00:00Z"))).toEqual({ created_at: { $gte: 1704067200 } });
  });

  it("widens equality on text columns to the numbers and booleans the table matches by their text", () => {
    expect(doc("", c("config.opt.name", "eq", "adam"))).toEqual({ "config.opt.name": { $in: ["adam"] } });
    expect(doc("", c("group", "eq", "4"))).toEqual({ group: { $in: ["4", 4] } });
    expect(doc("", c("group", "ne", "true"))).toEqual({ group: { $nin: ["true", true] } });
  });

  it("keeps runs without a name (shown by their id) and values that are not text", () => {
    expect(doc("", c("name", "contains", "a.b"))).toEqual(
      { $or: [{ name: { $regex: "a\\.b", $options: "i" } }, { run_id: { $regex: "a\\.b", $options: "i" } }] });
    expect(doc("", c("config.opt.name", "contains", "ad"))).toEqual({
      $or: [{ "config.opt.name": { $regex: "ad", $options: "i" } },
            { "config.opt.name": { $exists: true, $not: { $regex: "" } } }],
    });
  });

  it("translates tags, states and the free-text filter, and ANDs the parts", () => {
    expect(doc("Best  x", c("tags", "nothas", "old"), c("state", "is", "running"))).toEqual({ $and: [
      { $or: ["name", "run_id", "tags"].map((f) => ({ [f]: { $regex: "best", $options: "i" } })) },
      { $or: ["name", "run_id", "tags"].map((f) => ({ [f]: { $regex: "x", $options: "i" } })) },
      { tags: { $ne: "old" } },
      { state: "running" },
    ] });
  });

  it("escapes every ASCII punctuation mark and nothing else", () => {
    expect(literalPattern("a+b (c)? [d] {1} ^$ | \\ é 1")).toBe("a\\+b \\(c\\)\\? \\[d\\] \\{1\\} \\^\\$ \\| \\\\ é 1");
  });

  it("merges column kinds so that a narrower listing never changes a column's kind", () => {
    expect(mergeKinds("number", "unknown")).toBe("number");
    expect(mergeKinds("unknown", "string")).toBe("string");
    expect(mergeKinds("number", "string")).toBe("string");
    expect(mergeKinds("string", "number")).toBe("string");
  });
});
