// The view of media shown one step at a time (images, audio, video, HTML, tables): a step slider over
// every step the runs logged, and side by side, each run's value at that step (or the latest before
// it). A cell fetches its file only when what it shows changes, and a file not uploaded yet says so
// and is fetched again on retry().

import { notUploaded } from "../api/media";
import { h, message } from "../components/dom";
import { ObjectUrls } from "./objectUrls";
import { allSteps, nextChosenStep, valueAt } from "./steps";
import type { Logged, MediaRef } from "./types";
import { runLabel, type MediaView, type RunMedia } from "./view";

/** Draws one value of a run; `urls` holds the object URLs it makes (revoked when the cell changes). */
export type CellRenderer = (value: MediaRef, runId: string, urls: ObjectUrls) => Promise<Node>;

interface Cell {
  element: HTMLElement;
  content: HTMLElement;
  note: HTMLElement;
  /** What it shows (step and reference), to skip redrawing the same thing. */
  shown: string | null;
  /** The object URLs of what is in the document now. */
  urls: ObjectUrls;
  generation: number;
}

export function steppedView(render: CellRenderer): MediaView {
  let runs: RunMedia[] = [];
  let steps: number[] = [];
  let chosen: number | null = null;
  const cells = new Map<string, Cell>();

  const slider = h("input", { type: "range", min: 0, max: 0, step: 1, value: 0, "data-testid": "media-step",
                              "aria-label": "Step" });
  const stepValue = h("output", { "data-testid": "media-step-value" });
  const stepper = h("label", { class: "media-stepper" }, "Step ", slider, " ", stepValue);
  const grid = h("div", { class: "media-cells" });
  const element = h("div", { class: "media-view" }, stepper, grid);

  slider.addEventListener("input", () => {
    chosen = steps[Number(slider.value)] ?? null;
    showStep();
    renderCells();
  });

  function showStep(): void {
    const index = chosen === null ? 0 : steps.indexOf(chosen);
    slider.max = String(Math.max(0, steps.length - 1));
    slider.value = String(index);
    slider.hidden = steps.length < 2; // one step: just say which
    stepValue.textContent = chosen === null ? "" : String(chosen);
    element.dataset["step"] = chosen === null ? "" : String(chosen);
    element.dataset["steps"] = String(steps.length);
  }

  function cellOf(run: RunMedia): Cell {
    let cell = cells.get(run.runId);
    if (!cell) {
      const content = h("div", { class: "media-content" });
      const note = h("div", { class: "media-note", "data-testid": "media-note" });
      cell = { element: h("figure", { class: "media-cell", "data-testid": "media-cell", "data-run": run.runId },
                          runLabel(run), content, note),
               content, note, shown: null, urls: new ObjectUrls(), generation: 0 };
      cells.set(run.runId, cell);
    }
    return cell;
  }

  async function draw(cell: Cell, runId: string, entry: Logged): Promise<void> {
    const generation = ++cell.generation;
    // What it shows stays until the new value is drawn (no flicker while a slider moves); its URLs go then.
    const urls = new ObjectUrls();
    cell.element.dataset["state"] = "loading";
    cell.element.dataset["step"] = String(entry.step);
    let node: Node;
    try {
      node = await render(entry.value, runId, urls);
    } catch (e) {
      const missing = notUploaded(e);
      node = missing ? message("loading", "not uploaded yet") : message("error", String(e));
      if (generation === cell.generation) {
        cell.element.dataset["state"] = missing ? "missing" : "error";
        if (missing) cell.shown = null; // drawn again by retry() or the next show()
      }
    }
    if (generation !== cell.generation) {
      urls.revokeAll();
      return;
    }
    cell.content.replaceChildren(node);
    cell.urls.revokeAll();
    cell.urls = urls;
    cell.note.textContent = entry.step === chosen ? "" : `step ${entry.step}`;
    if (cell.element.dataset["state"] === "loading") cell.element.dataset["state"] = "ready";
  }

  function renderCells(): void {
    const ids = new Set(runs.map((r) => r.runId));
    for (const [id, cell] of cells) {
      if (!ids.has(id)) {
        cell.urls.revokeAll();
        cells.delete(id);
      }
    }
    grid.replaceChildren(...runs.map((run) => cellOf(run).element));
    for (const run of runs) {
      const cell = cellOf(run);
      const entry = chosen === null ? null : valueAt(run.entries, chosen);
      const shown = entry ? `${entry.step}|${JSON.stringify(entry.value)}` : "";
      if (shown === cell.shown) continue;
      cell.shown = shown;
      if (entry) void draw(cell, run.runId, entry);
      else {
        cell.generation += 1;
        cell.urls.revokeAll();
        cell.content.replaceChildren(message("empty", "Nothing logged by this step."));
        cell.note.textContent = "";
        cell.element.dataset["state"] = "empty";
      }
    }
  }

  return {
    element,
    show(next: RunMedia[]): void {
      const nextSteps = allSteps(next.map((r) => r.entries));
      chosen = nextChosenStep(steps, chosen, nextSteps);
      steps = nextSteps;
      runs = next;
      showStep();
      renderCells();
    },
    retry(): void {
      for (const run of runs) {
        const cell = cells.get(run.runId);
        const entry = chosen === null ? null : valueAt(run.entries, chosen);
        if (cell && entry && cell.element.dataset["state"] === "missing") void draw(cell, run.runId, entry);
      }
    },
    destroy(): void {
      for (const cell of cells.values()) {
        cell.generation += 1;
        cell.urls.revokeAll();
      }
    },
  };
}
