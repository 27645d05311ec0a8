import { describe, expect, it } from "vitest";

import { formatValue, valueNear } from "./tooltip";

describe("tooltip values", () => {
  it("takes the value at the cursor, else the nearest one", () => {
    expect(valueNear([1, null, 3], 0)).toBe(1);
    expect(valueNear([null, null, 3, null], 1)).toBe(3);
    expect(valueNear([5, null, null, null], 2)).toBe(5);
    expect(valueNear([5, null, null, null], 3, 1)).toBeNull();
    expect(valueNear([], 0)).toBeNull();
  });

  it("formats values", () => {
    expect(formatValue(null)).toBe("–");
    expect(formatValue(3)).toBe("3");
    expect(formatValue(0.123456789)).toBe("0.12346");
  });
});
