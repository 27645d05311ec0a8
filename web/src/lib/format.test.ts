import { describe, expect, it } from "vitest";

import { formatAgo, formatBytes, formatDuration, toNumber } from "./format";

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

  it("sizes", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(5 * 1024 * 1024)).toBe("5.0 MiB");
    expect(formatBytes(3 * 1024 ** 3)).toBe("3.0 GiB");
    expect(formatBytes(2 * 1024 ** 5)).toBe("2048.0 TiB");
    expect(formatBytes(-1)).toBe("–");
  });

  it("reads the API's non-finite numbers", () => {
    expect(toNumber(1.5)).toBe(1.5);
    expect(toNumber("Infinity")).toBe(Infinity);
    expect(toNumber("-Infinity")).toBe(-Infinity);
    expect(toNumber("NaN")).toBeNaN();
  });
});
