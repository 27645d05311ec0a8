import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { ObjectUrls } from "./objectUrls";

describe("object URLs", () => {
  let live: Set<string>;
  beforeEach(() => {
    live = new Set();
    let n = 0;
    vi.spyOn(URL, "createObjectURL").mockImplementation(() => {
      const url = `blob:test/${n++}`;
      live.add(url);
      return url;
    });
    vi.spyOn(URL, "revokeObjectURL").mockImplementation((url) => void live.delete(url));
  });
  afterEach(() => vi.restoreAllMocks());

  it("revokes every URL it made, and its parts' too", () => {
    const urls = new ObjectUrls();
    urls.create(new Blob(["a"]));
    const part = urls.child();
    part.create(new Blob(["b"]));
    expect(live.size).toBe(2);
    part.revokeAll();
    expect(live.size).toBe(1);
    const next = urls.child();
    next.create(new Blob(["c"]));
    urls.revokeAll();
    expect(live.size).toBe(0);
    expect(next.active).toBe(false);
  });

  it("a URL asked for once revoked is revoked at once (a fetch that lands after its cell changed)", () => {
    const urls = new ObjectUrls();
    urls.revokeAll();
    urls.create(new Blob(["late"]));
    urls.child().create(new Blob(["later"]));
    expect(live.size).toBe(0);
  });
});
