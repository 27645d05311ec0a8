import { describe, expect, it } from "vitest";

import { formatAgo, formatDuration, toNumber } from "./format";

describe("format", () => {
  it("durations", () => {
    expect(formatDuration(5.9)).toBe("5s");
    expect(formatDuration(187)).toBe("3m 07s");
    expect(formatDuration(3720)).toBe("1h 02m");
    expect(formatDuration(null)).toBe("–");
    expect(formatDuration(NaN)).toBe("–");
  });

  it("times ago", () => {
    expect(formatAgo(null, 1000)).toBe("never");
    expect(formatAgo(990, 1000)).toBe("just now");
    expect(formatAgo(1000 - 300, 1000)).toBe("5 min ago");
    expect(formatAgo(1000 - 7200, 1000)).toBe("2 h ago");
  });

  it("reads the API's non-finite numbers", () => {
    expect(toNumber(1.5)).toBe(1.5);
    expect(toNumber("Infinity")).toBe(Infinity);
    expect(toNumber("-Infinity")).toBe(-Infinity);
    expect(toNumber("NaN")).toBeNaN();
  });
});
