import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { saveQueue, type SaveState } from "./saveQueue";

describe("saving a layout", () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  it("sends only the latest of a burst, once it pauses", async () => {
    const sent: number[] = [];
    const states: SaveState[] = [];
    const queue = saveQueue<number>(async (n) => { sent.push(n); }, 300, (s) => states.push(s));
    queue.save(1);
    queue.save(2);
    await vi.advanceTimersByTimeAsync(200);
    queue.save(3);
    await vi.advanceTimersByTimeAsync(299);
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toEqual([3]);
    expect(states.at(-1)).toBe("saved");
  });

  it("sends one request at a time, and what changed meanwhile after it", async () => {
    const sent: number[] = [];
    let release: () => void = () => {};
    const queue = saveQueue<number>((n) => {
      sent.push(n);
      return new Promise<void>((resolve) => { release = resolve; });
    }, 10, () => {});
    queue.save(1);
    await vi.advanceTimersByTimeAsync(10);
    queue.save(2);
    queue.save(3);
    await vi.advanceTimersByTimeAsync(10);
    expect(sent).toEqual([1]); // 1 still in flight
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual([1, 3]);
  });

  it("says when a save failed, and saves again on the next change", async () => {
    const states: SaveState[] = [];
    let fail = true;
    const queue = saveQueue<number>(async () => { if (fail) throw new Error("offline"); }, 5, (s) => states.push(s));
    queue.save(1);
    await vi.advanceTimersByTimeAsync(5);
    expect(states.at(-1)).toBe("error");
    fail = false;
    queue.save(2);
    queue.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(states.at(-1)).toBe("saved");
  });
});
