import { describe, expect, it } from "vitest";

import {
  emptyLayout, fitColumns, fromDocument, GAP, MEDIA_SECTION_PREFIX, mediaSection, moveBy, moveTo, orderKeys, sizeOf,
  snapHeight, spanFor, spanWidth, toDocument, withOrder, withSection, withSize,
} from "./layout";
import { chartKeys, sectionOf } from "./panelKeys";

describe("column fitting", () => {
  it("fits as many columns as the density allows", () => {
    // the charts area of a 1920 px screen with the runs sidebar open, and closed
    expect(fitColumns(1380, "comfortable")).toBe(3);
    expect(fitColumns(1830, "comfortable")).toBe(4);
    expect(fitColumns(1830, "compact")).toBe(5);
    expect(fitColumns(1830, "large")).toBe(2);
    // exactly n columns and their gaps
    expect(fitColumns(420 * 2 + GAP, "comfortable")).toBe(2);
    expect(fitColumns(420 * 2 + GAP - 1, "comfortable")).toBe(1);
  });

  it("keeps at least one column and at most twelve", () => {
    expect(fitColumns(0, "large")).toBe(1);
    expect(fitColumns(100_000, "compact")).toBe(12);
  });

  it("gives a panel the pixels of its columns and the gaps between them", () => {
    expect(spanWidth(1236, 3, 1)).toBe(404);
    expect(spanWidth(1236, 3, 2)).toBe(404 * 2 + GAP);
    expect(spanWidth(1236, 3, 3)).toBe(1236);
    expect(spanWidth(1236, 3, 5)).toBe(1236); // wider than the grid: the whole row
  });

  it("finds the span nearest a dragged width", () => {
    expect(spanFor(404, 1236, 3)).toBe(1);
    expect(spanFor(700, 1236, 3)).toBe(2);
    expect(spanFor(5000, 1236, 3)).toBe(3);
    expect(spanFor(5000, 5000, 12)).toBe(6);
    expect(spanFor(10, 1236, 3)).toBe(1);
  });

  it("snaps heights within bounds", () => {
    expect(snapHeight(250)).toBe(240);
    expect(snapHeight(10)).toBe(120);
    expect(snapHeight(99_999)).toBe(1200);
  });
});

describe("order", () => {
  const keys = ["a", "b", "c", "d"];

  it("puts saved keys first, then the rest as given; unknown saved keys are skipped", () => {
    expect(orderKeys(keys, ["c", "zz", "a"])).toEqual(["c", "a", "b", "d"]);
    expect(orderKeys(keys, [])).toEqual(keys);
    expect(orderKeys(keys, ["b", "b"])).toEqual(["b", "a", "c", "d"]);
  });

  it("moves by one place, clamped at the ends", () => {
    expect(moveBy(keys, "b", 1)).toEqual(["a", "c", "b", "d"]);
    expect(moveBy(keys, "b", -1)).toEqual(["b", "a", "c", "d"]);
    expect(moveBy(keys, "a", -1)).toEqual(keys);
    expect(moveBy(keys, "d", 1)).toEqual(keys);
    expect(moveBy(keys, "zz", 1)).toEqual(keys);
  });

  it("drops a panel in the target's place", () => {
    expect(moveTo(keys, "a", "c")).toEqual(["b", "c", "a", "d"]);
    expect(moveTo(keys, "d", "b")).toEqual(["a", "d", "b", "c"]);
    expect(moveTo(keys, "a", "a")).toEqual(keys);
  });

  it("keeps saved keys not shown now after the shown ones", () => {
    expect(withOrder(["x", "a", "b"], ["b", "a"])).toEqual(["b", "a", "x"]);
  });
});

describe("the layout document", () => {
  it("round-trips, leaving out what is the default", () => {
    let layout = emptyLayout();
    layout = withSection(layout, "train", (s) => { s.order = ["train/b", "train/a"]; });
    layout = withSize(layout, "train", "train/a", { columns: 2, height: 360 });
    layout = withSize(layout, "train", "train/b", { columns: 3, height: null });
    layout = withSize(layout, "train", "train/b", { columns: 1, height: null }); // back to the default: not kept
    layout = withSection(layout, "val", () => {});
    layout = { ...layout, density: "compact", sidebarCollapsed: true };
    const doc = toDocument(layout);
    expect(doc).toEqual({ density: "compact", sidebar_collapsed: true, sections: {
      train: { order: ["train/b", "train/a"], sizes: { "train/a": { columns: 2, height: 360 } } } } });
    const back = fromDocument({ ...doc, updated_at: 12 });
    expect(sizeOf(back, "train", "train/a")).toEqual({ columns: 2, height: 360 });
    expect(sizeOf(back, "train", "train/b")).toEqual({ columns: 1, height: null });
    expect(back.sections["train"]!.order).toEqual(["train/b", "train/a"]);
    expect(back.density).toBe("compact");
    expect(back.sidebarCollapsed).toBe(true);
  });

  it("takes defaults for a document never saved", () => {
    expect(fromDocument({ updated_at: null })).toEqual(emptyLayout());
    expect(fromDocument({ sections: { "": { sizes: { lr: { height: 200 } } } } }).sections[""]!.sizes["lr"])
      .toEqual({ columns: 1, height: 200 });
  });

  it("changes one section without touching the others", () => {
    const before = withSection(emptyLayout(), "a", (s) => { s.order = ["a/x"]; });
    const after = withSection(before, "b", (s) => { s.order = ["b/y"]; });
    expect(after.sections["a"]).toBe(before.sections["a"]);
    expect(before.sections["b"]).toBeUndefined();
  });
});

describe("sizes against a panel's default", () => {
  const wide = { columns: 6, height: null };

  it("keeps a size that differs from the panel's default, even one column", () => {
    const layout = withSize(emptyLayout(), mediaSection(""), "predictions", { columns: 1, height: null }, wide);
    expect(sizeOf(layout, mediaSection(""), "predictions", wide)).toEqual({ columns: 1, height: null });
    // saved and read back (the server leaves out columns: 1), it is still one column
    const doc = toDocument(layout);
    expect(doc.sections).toEqual({ "_media:": { sizes: { predictions: { columns: 1 } } } });
    const back = fromDocument({ sections: { "_media:": { sizes: { predictions: {} } } } });
    expect(sizeOf(back, mediaSection(""), "predictions", wide)).toEqual({ columns: 1, height: null });
  });

  it("drops a size equal to the panel's default", () => {
    let layout = withSize(emptyLayout(), "train", "train/loss", { columns: 2, height: 200 });
    layout = withSize(layout, "train", "train/loss", { columns: 1, height: null });
    expect(layout.sections["train"]!.sizes).toEqual({});
    expect(toDocument(layout).sections).toEqual({});
    const media = withSize(emptyLayout(), mediaSection("a"), "a/t", wide, wide);
    expect(toDocument(media).sections).toEqual({});
    expect(sizeOf(media, mediaSection("a"), "a/t", wide)).toEqual(wide);
  });
});

describe("media panels' sections", () => {
  it("are apart from every chart section, so a media key and a metric key never share a size or order", () => {
    expect(mediaSection("samples")).toBe("_media:samples");
    expect(mediaSection("")).toBe("_media:");
    // chart sections are the prefixes of chart keys, and chart keys never start with "_"
    const keys = chartKeys(["samples/loss", "_media:samples/x", "_runtime", "media:samples/y", "loss"]);
    for (const key of keys) expect(sectionOf(key).startsWith(MEDIA_SECTION_PREFIX)).toBe(false);
    let layout = withSize(emptyLayout(), "samples", "samples/x", { columns: 2, height: null });
    layout = withSize(layout, mediaSection("samples"), "samples/x", { columns: 3, height: 400 });
    layout = withSection(layout, mediaSection("samples"), (s) => { s.order = ["samples/y", "samples/x"]; });
    const back = fromDocument(toDocument(layout));
    expect(sizeOf(back, "samples", "samples/x")).toEqual({ columns: 2, height: null });
    expect(sizeOf(back, mediaSection("samples"), "samples/x")).toEqual({ columns: 3, height: 400 });
    expect(back.sections["samples"]!.order).toEqual([]);
    expect(back.sections["_media:samples"]!.order).toEqual(["samples/y", "samples/x"]);
  });
});
