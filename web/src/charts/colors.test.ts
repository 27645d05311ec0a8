import { describe, expect, it } from "vitest";

import { colorAt, GroupColors, PALETTE, RunColors, withAlpha } from "./colors";

describe("colors", () => {
  it("cycle through the palette", () => {
    expect(colorAt(0)).toBe(PALETTE[0]);
    expect(colorAt(PALETTE.length)).toBe(PALETTE[0]);
    expect(colorAt(-1)).toBe(PALETTE[PALETTE.length - 1]);
  });
  it("take an alpha channel", () => {
    expect(withAlpha("#000000", 1)).toBe("#000000ff");
    expect(withAlpha("#000000", 0)).toBe("#00000000");
  });
});

describe("RunColors", () => {
  const run = (run_id: string, created_at: number) => ({ run_id, created_at });

  it("colours runs by creation order, whatever order they are listed in", () => {
    const newestFirst = new RunColors();
    newestFirst.assign([run("c", 3), run("b", 2), run("a", 1)]);
    expect([newestFirst.of(run("a", 1)), newestFirst.of(run("b", 2)), newestFirst.of(run("c", 3))])
      .toEqual([colorAt(0), colorAt(1), colorAt(2)]);
  });

  it("keeps colours as runs arrive, and gives a reload the same ones", () => {
    const live = new RunColors();
    live.assign([run("b", 2), run("a", 1)]);
    live.assign([run("d", 4), run("c", 3), run("b", 2), run("a", 1)]);
    const reloaded = new RunColors();
    reloaded.assign([run("a", 1), run("b", 2), run("c", 3), run("d", 4)]);
    for (const r of [run("a", 1), run("b", 2), run("c", 3), run("d", 4)]) expect(live.of(r)).toBe(reloaded.of(r));
  });
});

describe("GroupColors", () => {
  it("gives each key one colour, in the order first asked", () => {
    const groups = new GroupColors();
    expect([groups.of("b"), groups.of("a"), groups.of("b")]).toEqual([colorAt(0), colorAt(1), colorAt(0)]);
  });
});
