import { describe, expect, it } from "vitest";

import { colorAt, PALETTE, withAlpha } from "./colors";

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
