import { describe, expect, it } from "vitest";

import { forgetKey, type KeyStore, saveKey, storedKey } from "./auth";

function memory(): KeyStore {
  const items = new Map<string, string>();
  return {
    getItem: (k) => items.get(k) ?? null,
    setItem: (k, v) => void items.set(k, v),
    removeItem: (k) => void items.delete(k),
  };
}

describe("stored API key", () => {
  it("is saved trimmed, read back, and forgotten", () => {
    const store = memory();
    expect(storedKey(store)).toBeNull();
    saveKey("  tk-abc \n", store);
    expect(storedKey(store)).toBe("tk-abc");
    forgetKey(store);
    expect(storedKey(store)).toBeNull();
  });
});
