// What every media panel's view is given and does: the values of each run it shows, redrawn as runs
// and steps change.

import type { MediaFiles } from "../api/media";
import { h } from "../components/dom";
import type { Logged } from "./types";

/** One run's values under a panel's key, with how the run is labelled. */
export interface RunMedia {
  runId: string;
  label: string;
  color: string;
  entries: Logged[];
}

export interface MediaView {
  element: HTMLElement;
  /** Show these runs' values (called again with more entries as runs log). */
  show(runs: RunMedia[]): void;
  /** Fetch again the files that were not uploaded yet. */
  retry(): void;
  /** Revoke its object URLs; the view is not used again. */
  destroy(): void;
}

export interface ViewContext {
  files: MediaFiles;
}

/** A run's name with its colour, above what it shows. */
export function runLabel(run: RunMedia): HTMLElement {
  return h("div", { class: "media-run", "data-testid": "media-run", title: run.runId },
    h("span", { class: "swatch", style: `background:${run.color}` }), " ", run.label);
}
