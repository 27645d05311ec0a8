// A run's console output; while the run is running it polls for new lines (a live tail).

import type { ConsoleLine, RunApi } from "../api/run";
import { h, message } from "./dom";

const PAGE = 1000;
const POLL_MS = 1000;

export interface ConsoleView {
  element: HTMLElement;
  /** Load everything so far; then, while `live()` says so and the view is on the page, poll for more. */
  start(live: () => boolean): Promise<void>;
}

export function consoleView(run: RunApi): ConsoleView {
  const pre = h("pre", { class: "console", "data-testid": "console" });
  const note = h("div", {});
  const element = h("div", { class: "console-box" }, note, pre);
  let last = -1;

  const append = (lines: ConsoleLine[]) => {
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    for (const line of lines) {
      pre.append(h("div", { class: `line ${line.stream}`, "data-testid": "console-line" }, line.text));
      last = Math.max(last, line.line_no);
    }
    if (lines.length && atBottom) pre.scrollTop = pre.scrollHeight;
  };
  const fetchNew = async () => {
    for (;;) {
      const lines = await run.console(last, PAGE);
      append(lines);
      if (lines.length < PAGE) return;
    }
  };

  return {
    element,
    async start(live) {
      await fetchNew();
      if (last < 0 && !live()) note.replaceChildren(message("empty", "No console output."));
      let seen = false;
      const tick = async () => {
        if (element.isConnected) seen = true;
        else if (seen) return; // the page was left
        try {
          await fetchNew(); // once more after the run ended: its last lines
          if (last >= 0) note.replaceChildren();
        } catch {
          // a failed poll is retried at the next tick
        }
        if (live()) setTimeout(() => void tick(), POLL_MS);
      };
      if (live()) setTimeout(() => void tick(), POLL_MS);
    },
  };
}
