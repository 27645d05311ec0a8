// The server's live events (`GET /events`, server-sent events) read with fetch, so that the key goes
// in the Authorization header (EventSource cannot send one, and a key in the URL ends up in logs).

import type { Api } from "./client";

export interface ServerEvent {
  event: string;
  data: string;
}

/** The complete events at the start of `buffer`, and what is left of it (pure; tested). Comment lines
 *  (keep-alives) are dropped; an event without an `event:` field is a "message", as EventSource has it. */
export function parseEvents(buffer: string): { events: ServerEvent[]; rest: string } {
  const events: ServerEvent[] = [];
  const blocks = buffer.replace(/\r\n?/g, "\n").split("\n\n");
  const rest = blocks.pop() ?? "";
  for (const block of blocks) {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length) events.push({ event, data: data.join("\n") });
  }
  return { events, rest };
}

export interface RunChange {
  project: string;
  run_id: string;
  state: string;
  updated_at: number;
}

/**
 * Streams which runs of an entity (or one project) change after `since`, calling `onChange` with each
 * batch, until the stream ends, fails (the promise rejects) or `alive()` says no (it resolves).
 */
export async function streamRunChanges(
  api: Api, entity: string, project: string, since: number,
  onChange: (runs: RunChange[]) => void, alive: () => boolean,
): Promise<void> {
  const response = await api.request("GET", "/events", { entity, project, since });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    while (alive()) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the events stream ended");
      const parsed = parseEvents(buffer + value);
      buffer = parsed.rest;
      for (const event of parsed.events) {
        if (event.event === "runs" && alive()) onChange((JSON.parse(event.data) as { runs: RunChange[] }).runs);
      }
    }
  } finally {
    void reader.cancel().catch(() => undefined);
  }
}
