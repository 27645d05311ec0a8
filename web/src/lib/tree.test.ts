import { describe, expect, it } from "vitest";

import { filterRows, treeRows } from "./tree";

const config = { optimizer: { name: "adam", lr: 0.001, betas: [0.9, 0.99] }, epochs: 3, model: { layers: { n: 4 } } };

describe("config trees", () => {
  it("shows a media value as one leaf: its type and file", () => {
    const summary = { samples: { _type: "image-file", path: "media/images/a.png", width: 8 },
                      weights: { _type: "histogram", values: [1, 2], bins: [0, 1, 2] },
                      pair: { _type: "images", items: [{}, {}] } };
    expect(treeRows(summary).map((r) => [r.path, r.group, r.value])).toEqual([
      ["samples", false, "image-file: media/images/a.png"],
      ["weights", false, "histogram (2 bins)"],
      ["pair", false, "images (2)"],
    ]);
  });

  it("lists groups before their children, with depth and dotted paths", () => {
    expect(treeRows(config).map((r) => [r.path, r.depth, r.group, r.value])).toEqual([
      ["optimizer", 0, true, ""],
      ["optimizer.name", 1, false, "adam"],
      ["optimizer.lr", 1, false, "0.001"],
      ["optimizer.betas", 1, false, "[0.9,0.99]"],
      ["epochs", 0, false, "3"],
      ["model", 0, true, ""],
      ["model.layers", 1, true, ""],
      ["model.layers.n", 2, false, "4"],
    ]);
  });

  it("hides private top-level keys on request", () => {
    expect(treeRows({ _step: 3, loss: 1 }, { hidePrivate: true }).map((r) => r.path)).toEqual(["loss"]);
  });

  it("filters by path or value, keeping the groups above a match and everything below a matching group", () => {
    const rows = treeRows(config);
    expect(filterRows(rows, "LR").map((r) => r.path)).toEqual(["optimizer", "optimizer.lr"]);
    expect(filterRows(rows, "adam").map((r) => r.path)).toEqual(["optimizer", "optimizer.name"]);
    expect(filterRows(rows, "model").map((r) => r.path)).toEqual(["model", "model.layers", "model.layers.n"]);
    expect(filterRows(rows, "nothing")).toEqual([]);
    expect(filterRows(rows, "  ")).toEqual(rows);
  });
});
