// Saving a document that changes in bursts (the workspace layout while a panel is dragged, resized
// or moved several times): the latest version is sent once the changes pause, one request at a
// time, and a version that changed while one was in flight is sent after it. Pure of the DOM; tested.

export type SaveState = "saved" | "pending" | "saving" | "error";

export interface SaveQueue<T> {
  /** A new version to save (replacing any not sent yet). */
  save(doc: T): void;
  /** Send what is pending now, without waiting for the pause. */
  flush(): void;
}

export function saveQueue<T>(send: (doc: T) => Promise<void>, delayMs: number,
                             onState: (state: SaveState, error?: unknown) => void): SaveQueue<T> {
  let pending: { doc: T } | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let inFlight = false;

  async function run(): Promise<void> {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (inFlight || pending === null) return;
    const { doc } = pending;
    pending = null;
    inFlight = true;
    onState("saving");
    let failed: unknown = null;
    try {
      await send(doc);
    } catch (e) {
      failed = e ?? new Error("save failed");
    }
    inFlight = false;
    if (pending !== null) {
      void run(); // changed meanwhile: that version wins
    } else if (failed !== null) {
      onState("error", failed);
    } else {
      onState("saved");
    }
  }

  return {
    save(doc: T): void {
      pending = { doc };
      onState("pending");
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => void run(), delayMs);
    },
    flush(): void {
      void run();
    },
  };
}
