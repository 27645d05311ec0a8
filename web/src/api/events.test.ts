import { describe, expect, it } from "vitest";
import { parseEvents } from "./events";

describe("parseEvents", () => {
  it("splits complete events and keeps the incomplete tail", () => {
    const { events, rest } = parseEvents(': connected\n\nevent: runs\ndata: {"runs":[]}\n\nevent: ru');
    expect(events).toEqual([{ event: "runs", data: '{"runs":[]}' }]);
    expect(rest).toBe("event: ru");
  });

  it("joins data lines, drops keep-alives and reads CRLF", () => {
    const { events } = parseEvents(": keep-alive\r\n\r\ndata: a\r\ndata:b\r\n\r\n");
    expect(events).toEqual([{ event: "message", data: "a\nb" }]);
  });

  it("a tail split anywhere parses to the same events once complete", () => {
    const stream = 'event: runs\ndata: {"x":1}\n\n: keep-alive\n\nevent: runs\ndata: {"x":2}\n\n';
    for (let cut = 0; cut <= stream.length; cut++) {
      const first = parseEvents(stream.slice(0, cut));
      const second = parseEvents(first.rest + stream.slice(cut));
      expect([...first.events, ...second.events].map((e) => e.data)).toEqual(['{"x":1}', '{"x":2}']);
    }
  });
});
