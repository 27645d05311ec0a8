import { describe, expect, it } from "vitest";

import type { RunInfo } from "../api/schema";
import { chartKeys, panelMatches, sectionKeys, sectionOf } from "./panelKeys";
import {
  columnValue, compareValues, defaultColumns, discoverColumns, filterRuns, flatten, groupableColumns, groupRuns,
  nextSort, parseSort, sortRuns,
} from "./runColumns";
import { testRun } from "./testRuns";

const run = testRun;

const runs = [
  run("a", { config: { lr: 0.1, opt: { name: "adam" } }, summary: { "train/loss": 0.5, _step: 9 }, group: "g1",
             tags: ["x"] }),
  run("b", { config: { lr: 0.01, bs: 32 }, summary: { "train/loss": 0.2, "val/acc": 0.9 }, group: "g2" }),
  run("c", { config: { lr: 1 }, summary: { "train/loss": "NaN", note: "hi" }, group: "g1", tags: ["best"] }),
  run("d", { name: "delta", summary: {} }),
];

describe("column discovery", () => {
  it("flattens nested keys and drops _ keys", () => {
    expect(flatten({ a: { b: 1, _c: 2 }, _d: 3, e: [1] })).toEqual({ "a.b": 1, e: [1] });
    // A media value in a summary (its last image, table...) is no column.
    expect(flatten({ samples: { _type: "image-file", path: "media/images/x.png", width: 8 }, loss: 1 })).toEqual({ loss: 1 });
  });

  it("finds config and summary keys, most common first", () => {
    const keys = discoverColumns(runs);
    expect(keys.config).toEqual(["lr", "bs", "opt.name"]);
    expect(keys.summary).toEqual(["train/loss", "note", "val/acc"]);
    expect(defaultColumns(keys, 1, 1)).toEqual([
      "name", "state", "created", "runtime", "tags", "group", "job_type", "notes", "config.lr", "summary.train/loss",
    ]);
    expect(columnValue(run("n", { notes: "a\nb" }), "notes")).toBe("a\nb");
    expect(columnValue(run("n", { notes: "" }), "notes")).toBeUndefined();
    expect(columnValue(runs[0]!, "config.opt.name")).toBe("adam");
    expect(columnValue(runs[3]!, "config.lr")).toBeUndefined();
  });
});

describe("sorting", () => {
  it("compares numbers numerically, strings naturally, numbers first", () => {
    expect(compareValues(2, 10)).toBeLessThan(0);
    expect(compareValues("run2", "run10")).toBeLessThan(0);
    expect(compareValues(5, "a")).toBeLessThan(0);
  });

  it("sorts by a column both ways, missing values last", () => {
    const ids = (rs: RunInfo[]) => rs.map((r) => r.run_id);
    expect(ids(sortRuns(runs, { column: "config.lr", desc: false }))).toEqual(["b", "a", "c", "d"]);
    expect(ids(sortRuns(runs, { column: "config.lr", desc: true }))).toEqual(["c", "a", "b", "d"]);
    expect(ids(sortRuns(runs, { column: "name", desc: true }))).toEqual(["delta", "c", "b", "a"].map((n) =>
      n === "delta" ? "d" : n));
    expect(ids(sortRuns(runs, null))).toEqual(["a", "b", "c", "d"]);
  });

  it("parses and cycles sort states", () => {
    expect(parseSort("-config.lr")).toEqual({ column: "config.lr", desc: true });
    expect(parseSort(null)).toBeNull();
    expect(nextSort(null, "name")).toEqual({ column: "name", desc: false });
    expect(nextSort({ column: "name", desc: false }, "name")).toEqual({ column: "name", desc: true });
    expect(nextSort({ column: "name", desc: true }, "name")).toBeNull();
  });
});

describe("filtering and grouping", () => {
  it("filters by name, id and tags", () => {
    expect(filterRuns(runs, "BEST").map((r) => r.run_id)).toEqual(["c"]);
    expect(filterRuns(runs, "del").map((r) => r.run_id)).toEqual(["d"]);
    expect(filterRuns(runs, "  ")).toHaveLength(4);
  });

  it("groups in order of first appearance, with a group for missing values", () => {
    const groups = groupRuns(runs, "group");
    expect(groups.map((g) => [g.label, g.runs.length])).toEqual([["g1", 2], ["g2", 1], ["(none)", 1]]);
    expect(groupRuns(runs, "config.lr").map((g) => g.label)).toEqual(["0.1", "0.01", "1", "(none)"]);
  });

  it("groups by tag: a group per tag, a run in each of its tags' groups", () => {
    const tagged = [run("a", { tags: ["x", "y"] }), run("b", { tags: [] }), run("c", { tags: ["y", "y"] }),
                    run("d", { tags: ["(none)"] })];
    const groups = groupRuns(tagged, "tags");
    expect(groups.map((g) => [g.label, g.runs.map((r) => r.run_id)])).toEqual([
      ["x", ["a"]], ["y", ["a", "c"]], ["(none)", ["b"]], ["(none)", ["d"]],
    ]);
    // The same run object in two groups; keys stay distinct (a tag named "(none)" too).
    expect(groups[0]!.runs[0]).toBe(groups[1]!.runs[0]);
    expect(new Set(groups.map((g) => g.key)).size).toBe(groups.length);
    expect(groupableColumns(discoverColumns(runs))).toEqual(["group", "job_type", "tags", "config.lr", "config.bs",
                                                            "config.opt.name"]);
  });
});

describe("panels", () => {
  it("are the logged keys, sorted, without internal ones", () => {
    expect(chartKeys(["val/acc", "_runtime", "train/loss", "model._hidden", "train/loss", "epoch"]))
      .toEqual(["epoch", "train/loss", "val/acc"]);
  });

  it("sections keys by prefix, unprefixed last", () => {
    expect(sectionOf("a/b/c")).toBe("a/b");
    expect(sectionOf("loss")).toBe("");
    expect(sectionKeys(["loss", "val/acc", "train/loss", "train/acc"])).toEqual([
      { name: "train", keys: ["train/acc", "train/loss"] },
      { name: "val", keys: ["val/acc"] },
      { name: "", keys: ["loss"] },
    ]);
    expect(panelMatches("train/loss", "LOSS")).toBe(true);
    expect(panelMatches("val/acc", "loss")).toBe(false);
  });
});
