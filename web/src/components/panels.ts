// The workspace's charts: a panel per metric, in sections by key prefix, with a search box,
// smoothing and a log scale. Each panel draws every visible run with one series request.

import type uPlot from "uplot";

import type { Api, SeriesColumns } from "../api/client";
import type { RunInfo } from "../api/schema";
import { seriesOf } from "../api/workspace";
import { lineChart } from "../charts/lineChart";
import { alignM4 } from "../charts/m4";
import { panelMatches, sectionKeys } from "../lib/panelKeys";
import { h, message } from "./dom";

export interface PanelsOptions {
  api: Api;
  entity: string;
  project: string;
  search: string;
  smoothing: number;
  colorOf(run: RunInfo): string;
  onSearch(text: string): void;
  onSmoothing(value: number): void;
}

export interface Panels {
  element: HTMLElement;
  /** The metric keys and the runs to draw; panels whose key is new are fetched. */
  setKeys(keys: string[]): void;
  setRuns(runs: RunInfo[]): void;
  /** Fetches again the panels of `keys` (all when omitted). */
  refresh(keys?: Iterable<string>): void;
}

interface Panel {
  key: string;
  element: HTMLElement;
  plot: HTMLElement;
  chart: uPlot | null;
  answer: Record<string, SeriesColumns> | null;
  generation: number;
}

function panelWidth(): number {
  // Two panels a row in the page (max 1240px, 1.5rem padding), less each panel's padding and border.
  const available = Math.max(640, Math.min(1240, document.body.clientWidth) - 48);
  return Math.floor((available - 12) / 2) - 26;
}

export function panelsView(options: PanelsOptions): Panels {
  let runs: RunInfo[] = [];
  let keys: string[] = [];
  let smoothing = options.smoothing;
  let logScale = false;
  let search = options.search;
  const panels = new Map<string, Panel>();

  const searchBox = h("input", { type: "search", placeholder: "Search panels", value: search,
                                 "data-testid": "panel-search", class: "filter" });
  searchBox.addEventListener("input", () => {
    search = searchBox.value;
    options.onSearch(search);
    applySearch();
  });
  const smoothValue = h("output", { "data-testid": "smoothing-value" }, smoothing.toFixed(2));
  const smoothInput = h("input", { type: "range", min: 0, max: 0.99, step: 0.01, value: smoothing,
                                   "data-testid": "smoothing" });
  smoothInput.addEventListener("input", () => {
    smoothing = Number(smoothInput.value);
    smoothValue.textContent = smoothing.toFixed(2);
    options.onSmoothing(smoothing);
    for (const panel of panels.values()) draw(panel);
  });
  const logInput = h("input", { type: "checkbox", "data-testid": "log-scale" });
  logInput.addEventListener("change", () => {
    logScale = logInput.checked;
    for (const panel of panels.values()) draw(panel);
  });
  const body = h("div", { class: "sections" });
  const element = h("section", { class: "panels", "data-testid": "panels" },
    h("div", { class: "toolbar" }, searchBox,
      h("label", {}, "Smoothing ", smoothInput, " ", smoothValue),
      h("label", {}, logInput, " Log scale")),
    body);

  function applySearch(): void {
    for (const section of body.querySelectorAll<HTMLElement>("[data-testid=panel-section]")) {
      let any = false;
      for (const el of section.querySelectorAll<HTMLElement>("[data-testid=panel]")) {
        const match = panelMatches(el.dataset["key"] ?? "", search);
        el.hidden = !match;
        any ||= match;
      }
      section.hidden = !any;
    }
  }

  function draw(panel: Panel): void {
    panel.chart?.destroy();
    panel.chart = null;
    if (!panel.answer) return;
    const answer = panel.answer;
    const withData = runs.filter((r) => (answer[r.run_id]?.last_step.length ?? 0) > 0);
    panel.element.dataset["runCount"] = String(withData.length);
    panel.element.dataset["runs"] = withData.map((r) => r.run_id).join(",");
    if (withData.length === 0) {
      panel.plot.replaceChildren(message("empty", runs.length ? "No data for the shown runs." : "No runs shown."));
      return;
    }
    panel.plot.replaceChildren();
    const aligned = alignM4(withData.map((r) => ({ runId: r.run_id, columns: answer[r.run_id]! })));
    panel.element.dataset["points"] = String(aligned.columns.reduce((n, [last]) => n + last.filter((v) => v != null).length, 0));
    panel.chart = lineChart(panel.plot, aligned, {
      title: panel.key, width: panelWidth(), height: 220, labels: withData.map((r) => r.name ?? r.run_id),
      colors: withData.map((r) => options.colorOf(r)), smoothing, logScale,
    });
  }

  async function load(panel: Panel): Promise<void> {
    const generation = ++panel.generation;
    panel.element.dataset["state"] = "loading";
    try {
      const answer = await seriesOf(options.api, options.entity, options.project, panel.key,
                                    runs.map((r) => r.run_id), panelWidth());
      if (generation !== panel.generation) return;
      panel.answer = answer;
      draw(panel);
      panel.element.dataset["state"] = "ready";
    } catch (e) {
      if (generation !== panel.generation) return;
      panel.plot.replaceChildren(message("error", String(e)));
      panel.element.dataset["state"] = "error";
    }
  }

  function makePanel(key: string): Panel {
    const plot = h("div", { class: "chart", "data-testid": "chart" });
    const element = h("div", { class: "chart-panel", "data-testid": "panel", "data-key": key }, plot);
    return { key, element, plot, chart: null, answer: null, generation: 0 };
  }

  function layout(): void {
    if (keys.length === 0) {
      body.replaceChildren(message("empty", "These runs have logged no metrics yet."));
      return;
    }
    body.replaceChildren(...sectionKeys(keys).map((section) => {
      const name = section.name || "Other";
      return h("details", { open: true, class: "panel-section", "data-testid": "panel-section",
                            "data-section": section.name },
        h("summary", {}, h("span", { class: "section-name" }, name), ` (${section.keys.length})`),
        h("div", { class: "panel-grid" }, section.keys.map((k) => panels.get(k)!.element)));
    }));
    applySearch();
  }

  return {
    element,
    setKeys(next: string[]): void {
      const fresh = next.filter((k) => !panels.has(k));
      for (const key of fresh) panels.set(key, makePanel(key));
      for (const key of [...panels.keys()]) {
        if (!next.includes(key)) {
          panels.get(key)!.chart?.destroy();
          panels.delete(key);
        }
      }
      const changed = fresh.length > 0 || next.length !== keys.length;
      keys = next;
      if (changed) layout();
      for (const key of fresh) void load(panels.get(key)!);
    },
    setRuns(next: RunInfo[]): void {
      runs = next;
    },
    refresh(which?: Iterable<string>): void {
      const list = which ? [...which] : [...panels.keys()];
      for (const key of list) {
        const panel = panels.get(key);
        if (panel) void load(panel);
      }
    },
  };
}
