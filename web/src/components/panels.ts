// The workspace's charts: a panel per metric, in sections by key prefix, with a search box,
// smoothing and a log scale. Each panel draws every visible run with one series request, made
// only once the panel is (nearly) in the viewport: data-state is "idle" until then (collapsed
// sections and panels hidden by the search fetch nothing), then "loading", "ready" or "error".
// Refreshes (runs shown, x axis) fetch again only panels already drawn; those out of view are marked
// stale and fetched when they come back into view. While runs log, a drawn panel fetches only the
// steps after those it holds, for the runs that changed (../charts/live.ts).
// Panels sit in a grid of as many columns as fit the width at the layout's density (./panelGrid.ts); in
// the workspace they can be reordered and resized per section, and the layout is saved by the page.
// A chart is as wide in pixels as its panel, and asks for that many buckets.

import type uPlot from "uplot";

import { fillColumns, X_COLUMNS, type Api, type SeriesColumns } from "../api/client";
import type { RunInfo } from "../api/schema";
import { seriesOf } from "../api/workspace";
import { lineChart } from "../charts/lineChart";
import { aggregateGroups } from "../charts/groups";
import { appendTail, lastStepOf, needsRebucketing, rewound } from "../charts/live";
import { alignM4 } from "../charts/m4";
import { DEFAULT_X, mapToX, panelX, RELATIVE_TIME, STEP, WALL_TIME, xLabel, type XKey } from "../charts/xaxis";
import { seriesRequest, stepRange, type XRange } from "../charts/zoom";
import { DENSITIES, type Density, emptyLayout, type Layout } from "../lib/layout";
import { isHidden } from "../lib/metricDefinitions";
import { panelMatches, sectionKeys, sectionOf } from "../lib/panelKeys";
import { groupRuns } from "../lib/runColumns";
import { h, message } from "./dom";
import { nearViewport } from "./lazy";
import { panelGrid } from "./panelGrid";

export interface PanelsOptions {
  api: Api;
  entity: string;
  project: string;
  search: string;
  smoothing: number;
  /** The x axis: "" (each panel's default), "_step", "_runtime", "_timestamp" or a metric key. */
  x: string;
  colorOf(run: RunInfo): string;
  /** The colour of a group of runs (by its key), when the runs are grouped. */
  groupColor(key: string): string;
  onSearch(text: string): void;
  onSmoothing(value: number): void;
  onX(key: string): void;
  /** The workspace's layout (default: the default one, and no layout controls). */
  layout?: Layout;
  /** Called with the layout after each change made here (order, sizes, density): with it, panels
   *  can be reordered and resized and the density chosen. */
  onLayout?(layout: Layout): void;
}

export interface Panels {
  element: HTMLElement;
  /** The metric keys (define_metric's hidden ones get no panel, but may be the x axis); panels whose key
   *  is new are fetched when they come into view. */
  setKeys(keys: string[]): void;
  /** The runs to draw; drawn panels fetch the runs they do not hold yet. */
  setRuns(runs: RunInfo[]): void;
  /** Group the runs by a column ("group", "job_type", "config.<key>"): a mean line and min–max band per group. */
  setGroup(by: string | null): void;
  /** Runs logged more: each drawn panel fetches the steps after those it holds, for these runs only. */
  follow(changed: readonly RunInfo[]): void;
  /** The layout changed elsewhere (the media panels'): take it. */
  setLayout(layout: Layout): void;
}

interface Panel {
  key: string;
  element: HTMLElement;
  plot: HTMLElement;
  chart: uPlot | null;
  /** Per run, the metric's columns by step as fetched (with the tails appended while it logs). */
  metric: Record<string, SeriesColumns> | null;
  /** Per run, the x metric's columns (null when x is the step). */
  xSeries: Record<string, SeriesColumns> | null;
  /** The x axis the data is for (the workspace's choice, or the panel's default). */
  x: XKey;
  /** What is drawn: per run, the metric's columns at their x. */
  answer: Record<string, SeriesColumns> | null;
  /** Per run, the drawn points' (step, x) pairs (to map a zoomed x-range back to steps). */
  points: [number, number][];
  /** The zoomed step range (null: the whole series). */
  zoom: XRange | null;
  requests: number;
  generation: number;
  /** In the viewport or near it (./lazy.ts; always true without IntersectionObserver). */
  near: boolean;
  /** Fetched at least once (so refreshes concern it). */
  fetched: boolean;
  /** Its data is out of date: fetch again when it comes near the viewport. */
  stale: boolean;
  /** Runs that logged while a fetch was in flight: followed once it lands. */
  behind: Map<string, RunInfo>;
  /** Its section (key prefix), and the buckets of its last full fetch (its chart's width then). */
  section: string;
  buckets: number;
}

/** The most runs a panel draws (the first ones the table shows): more would not be told apart, and
 * each panel's request names them all. */
export const MAX_DRAWN_RUNS = 100;

/** A panel's padding and border (styles.css .chart-panel): its chart is this much narrower. */
const PANEL_CHROME = 26;
/** A width change that makes a drawn chart ask for its buckets again (wider or narrower by this factor). */
const REBUCKET = 1.25;

export function panelsView(options: PanelsOptions): Panels {
  let runs: RunInfo[] = [];
  /** Every metric key (the x axis choices), and those with a panel (not hidden by define_metric). */
  let keys: string[] = [];
  let panelKeys: string[] = [];
  let smoothing = options.smoothing;
  let logScale = false;
  let search = options.search;
  let xKey = options.x;
  let groupBy: string | null = null;
  const panels = new Map<string, Panel>();
  const byElement = new Map<Element, Panel>();
  const editable = options.onLayout !== undefined;
  const lazy = nearViewport((el, near) => {
    const panel = byElement.get(el);
    if (!panel) return;
    panel.near = near;
    if (panel.near && (panel.stale || !panel.fetched)) void load(panel);
  });

  /** Fetches a panel now if it is near the viewport, else when it comes near (panels never fetched stay idle). */
  function update(panel: Panel): void {
    if (!panel.fetched) return;
    if (panel.near) void load(panel);
    else panel.stale = true;
  }

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
  const xSelect = h("select", { "data-testid": "x-axis" });
  function xOptions(): void {
    const choices: [string, string][] = [[DEFAULT_X, "Default"], [STEP, "Step"], [RELATIVE_TIME, "Relative time"],
      [WALL_TIME, "Wall time"],
      ...keys.filter((k) => !k.startsWith("_")).map((k): [string, string] => [k, k])];
    if (!choices.some(([k]) => k === xKey)) choices.push([xKey, xKey]);
    xSelect.replaceChildren(...choices.map(([value, label]) => h("option", { value }, label)));
    xSelect.value = xKey;
  }
  xOptions();
  xSelect.addEventListener("change", () => {
    xKey = xSelect.value;
    options.onX(xKey);
    for (const panel of panels.values()) {
      panel.zoom = null;
      update(panel);
    }
  });
  const densitySelect = h("select", { "data-testid": "density", "aria-label": "Panel size" },
    (Object.keys(DENSITIES) as Density[]).map((d) => h("option", { value: d }, DENSITIES[d].label)));
  densitySelect.addEventListener("change", () => {
    const next = { ...grid.layout(), density: densitySelect.value as Density };
    grid.setLayout(next);
    options.onLayout?.(next);
  });
  const body = h("div", { class: "sections" });
  const capNote = h("p", { class: "note", "data-testid": "runs-capped", hidden: true });
  const element = h("section", { class: "panels", "data-testid": "panels" },
    h("div", { class: "toolbar" }, searchBox,
      h("label", {}, "Smoothing ", smoothInput, " ", smoothValue),
      h("label", {}, logInput, " Log scale"),
      h("label", {}, "X axis ", xSelect),
      editable && h("label", {}, "Panels ", densitySelect)),
    capNote, body);

  const grid = panelGrid({
    body, layout: options.layout ?? emptyLayout(), onLayout: options.onLayout, layoutSection: (prefix) => prefix,
    gridTestId: "panel-grid", chrome: PANEL_CHROME,
    defaultHeight: (density) => DENSITIES[density].height,
    contentHeight: () => DENSITIES[grid.layout().density].height, // never asked: a chart always has a height
    sized: (key, { width, height }) => { const panel = panels.get(key); if (panel) sized(panel, width, height!); },
  });
  densitySelect.value = grid.layout().density;

  /** The panel's chart size in pixels (its height is never null: the density gives one). */
  function geometry(panel: Panel): { width: number; height: number } {
    const { width, height } = grid.geometry(panel.key);
    return { width, height: height! };
  }

  /** The panel at its size: its chart takes it, and asks for its buckets again when its width changed much. */
  function sized(panel: Panel, width: number, height: number): void {
    panel.plot.style.minHeight = `${height + 20}px`;
    if (panel.chart && (panel.chart.width !== width || panel.chart.height !== height)) {
      panel.chart.setSize({ width, height });
    }
    if (panel.fetched && panel.buckets > 0 && (width > panel.buckets * REBUCKET || width * REBUCKET < panel.buckets)) {
      update(panel);
    }
  }

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

  /** The drawn columns from the fetched ones: each run's metric at its x. */
  function derive(panel: Panel): void {
    const answer: Record<string, SeriesColumns> = {};
    const points: [number, number][] = [];
    for (const [runId, columns] of Object.entries(panel.metric ?? {})) {
      if (panel.xSeries) {
        const mapped = mapToX(columns, panel.xSeries[runId] ?? emptyColumns());
        answer[runId] = mapped.columns;
        mapped.steps.forEach((step, i) => points.push([step, mapped.columns.last_step[i]!]));
      } else {
        answer[runId] = columns;
      }
    }
    panel.answer = answer;
    panel.points = points;
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
    let aligned = alignM4(withData.map((r) => ({ runId: r.run_id, columns: answer[r.run_id]! })));
    panel.element.dataset["points"] = String(aligned.columns.reduce((n, [last]) => n + last.filter((v) => v != null).length, 0));
    let labels = withData.map((r) => r.name ?? r.run_id);
    let colors = withData.map((r) => options.colorOf(r));
    if (groupBy) {
      const groups = groupRuns(withData, groupBy);
      aligned = aggregateGroups(aligned, groups.map((g) => ({ name: g.label, runs: g.runs.map((r) => withData.indexOf(r)) })));
      labels = groups.map((g) => `${g.label} (${g.runs.length})`);
      colors = groups.map((g) => options.groupColor(g.key));
    }
    panel.element.dataset["lines"] = String(labels.length);
    panel.element.dataset["colors"] = colors.join(",");
    const xs = aligned.x;
    panel.element.dataset["xMin"] = String(xs[0] ?? "");
    panel.element.dataset["xMax"] = String(xs[xs.length - 1] ?? "");
    panel.chart = lineChart(panel.plot, aligned, {
      title: panel.key, width: geometry(panel).width, height: geometry(panel).height, labels, colors, smoothing, logScale,
      xLabel: xLabel(panel.x), xTime: panel.x === WALL_TIME,
      onZoom: (range) => {
        const steps = panel.x === STEP ? stepRange(range) : stepRange(range, panel.points);
        if (!steps) return;
        panel.zoom = steps;
        void load(panel);
      },
      onResetZoom: () => {
        if (!panel.zoom) return;
        panel.zoom = null;
        void load(panel);
      },
    });
  }

  type Fetched = [Record<string, SeriesColumns>, Record<string, SeriesColumns> | null];

  /** One fetch for a panel: the metric of runs `ids`, and the x series unless x is the step; the
   *  panel shows "loading" and counts it. */
  function fetchSeries(panel: Panel, x: XKey, ids: string[], buckets: number,
                       range: { minStep?: number; maxStep?: number }): Promise<Fetched> {
    panel.element.dataset["state"] = "loading";
    panel.requests += 1;
    panel.element.dataset["requests"] = String(panel.requests);
    const { api, entity, project } = options;
    return Promise.all([
      seriesOf(api, entity, project, panel.key, ids, buckets, range),
      x === STEP ? Promise.resolve(null) : seriesOf(api, entity, project, x, ids, buckets, range, X_COLUMNS),
    ]);
  }

  /** A failed fetch, unless a newer one has started since. */
  function failed(panel: Panel, generation: number, error: unknown): void {
    if (generation !== panel.generation) return;
    panel.plot.replaceChildren(message("error", String(error)));
    panel.element.dataset["state"] = "error";
  }

  async function load(panel: Panel): Promise<void> {
    const generation = ++panel.generation;
    panel.fetched = true;
    panel.stale = false;
    panel.behind.clear();
    panel.buckets = geometry(panel).width;
    const request = seriesRequest(panel.zoom, panel.buckets);
    const x = panelX(xKey, panel.key, runs);
    try {
      const [metric, xSeries] = await fetchSeries(panel, x, runs.map((r) => r.run_id), request.buckets,
                                                  { minStep: request.minStep, maxStep: request.maxStep });
      if (generation !== panel.generation) return;
      Object.assign(panel, { metric, xSeries, x });
      derive(panel);
      panel.element.dataset["zoom"] = panel.zoom ? `${panel.zoom.min}-${panel.zoom.max}` : "";
      panel.element.dataset["downsampled"] = String(Object.values(metric).some((c) => c.downsampled));
      panel.element.dataset["xLabel"] = xLabel(x);
      draw(panel);
      panel.element.dataset["state"] = "ready";
      if (panel.behind.size) void follow(panel, [...panel.behind.values()]);
    } catch (e) {
      failed(panel, generation, e);
    }
  }

  /** Fetches, for the given runs, only the steps after those the panel holds (from the start for runs
   *  it does not hold yet), and draws them appended; a full fetch when that cannot be right. */
  async function follow(panel: Panel, changed: readonly RunInfo[]): Promise<void> {
    if (!panel.fetched) return;
    if (!panel.near) {
      panel.stale = true;
      return;
    }
    if (panel.element.dataset["state"] === "loading") {
      for (const run of changed) panel.behind.set(run.run_id, run);
      return;
    }
    const shown = changed.filter((r) => runs.some((v) => v.run_id === r.run_id));
    if (shown.length === 0) return;
    const held = panel.metric;
    const x = panelX(xKey, panel.key, runs);
    // A zoomed panel shows a fixed range; a changed axis or a rewound run needs everything again.
    if (!held || panel.zoom || x !== panel.x || shown.some((r) => rewound(r, held[r.run_id]))) {
      void load(panel);
      return;
    }
    const after = (series: Record<string, SeriesColumns> | null, runId: string) => lastStepOf(series?.[runId]);
    const ids = shown.map((r) => r.run_id);
    const heldUntil = (id: string) => Math.min(after(held, id), panel.xSeries ? after(panel.xSeries, id) : Infinity);
    const minStep = Math.min(...ids.map(heldUntil)) + 1;
    const buckets = panel.buckets || geometry(panel).width;
    panel.behind.clear(); // what changes from now on is followed once this lands
    const generation = ++panel.generation;
    try {
      const [metric, xSeries] = await fetchSeries(panel, x, ids, buckets, { minStep });
      if (generation !== panel.generation) return;
      const merged = { ...held };
      const mergedX = panel.xSeries ? { ...panel.xSeries } : null;
      for (const id of ids) {
        if (metric[id]) merged[id] = appendTail(held[id] ?? emptyColumns(), metric[id], after(held, id));
        if (mergedX && xSeries?.[id]) mergedX[id] = appendTail(mergedX[id] ?? emptyColumns(), xSeries[id], after(mergedX, id));
      }
      Object.assign(panel, { metric: merged, xSeries: mergedX });
      if (Object.values(merged).some((c) => needsRebucketing(c, buckets))) {
        void load(panel);
        return;
      }
      derive(panel);
      draw(panel);
      panel.element.dataset["state"] = "ready";
      if (panel.behind.size) void follow(panel, [...panel.behind.values()]);
    } catch (e) {
      failed(panel, generation, e);
    }
  }

  function makePanel(key: string): Panel {
    const plot = h("div", { class: "chart", "data-testid": "chart" });
    const element = h("div", { class: "chart-panel", "data-testid": "panel", "data-key": key, "data-state": "idle",
                               "data-requests": 0 }, plot);
    const panel: Panel = { key, element, plot, chart: null, metric: null, xSeries: null, x: STEP, answer: null, points: [],
                           zoom: null, requests: 0, generation: 0, near: !lazy.lazy, fetched: false, stale: false,
                           behind: new Map(), section: sectionOf(key), buckets: 0 };
    byElement.set(element, panel);
    grid.add(key, panel.section, element);
    return panel;
  }

  function build(): void {
    if (panelKeys.length === 0) {
      body.replaceChildren(message("empty", "These runs have logged no metrics yet."));
      return;
    }
    grid.clear();
    body.replaceChildren(...sectionKeys(panelKeys).map((section) => {
      const name = section.name || "Other";
      return h("details", { open: true, class: "panel-section", "data-testid": "panel-section",
                            "data-section": section.name },
        h("summary", {}, h("span", { class: "section-name" }, name), ` (${section.keys.length})`),
        grid.grid(section.name, section.keys));
    }));
    grid.apply();
    applySearch();
  }

  return {
    element,
    setKeys(all: string[]): void {
      const next = all.filter((k) => !isHidden(k, runs));
      const fresh = next.filter((k) => !panels.has(k));
      for (const key of fresh) panels.set(key, makePanel(key));
      for (const key of fresh) lazy.observe(panels.get(key)!.element);
      for (const key of [...panels.keys()]) {
        if (!next.includes(key)) {
          const panel = panels.get(key)!;
          panel.chart?.destroy();
          panel.generation += 1;
          lazy.unobserve(panel.element);
          byElement.delete(panel.element);
          grid.remove(key);
          panels.delete(key);
        }
      }
      const changed = fresh.length > 0 || next.length !== panelKeys.length || all.length !== keys.length;
      keys = all;
      panelKeys = next;
      if (changed) {
        build();
        xOptions();
      }
      // Without IntersectionObserver every panel is "near": fetch them all now. Otherwise the
      // observer fetches each as it comes near the viewport.
      if (!lazy.lazy) for (const key of fresh) void load(panels.get(key)!);
    },
    setRuns(shown: RunInfo[]): void {
      const next = shown.slice(0, MAX_DRAWN_RUNS);
      capNote.hidden = shown.length <= MAX_DRAWN_RUNS;
      capNote.textContent = `Charts draw the first ${MAX_DRAWN_RUNS} of the ${shown.length} runs shown, in table order.`;
      const same = next.length === runs.length && next.every((r, i) => r.run_id === runs[i]!.run_id);
      runs = next;
      if (same) return;
      for (const panel of panels.values()) {
        if (!panel.fetched) continue;
        const missing = panel.metric ? next.filter((r) => !(r.run_id in panel.metric!)) : next;
        if (missing.length) void follow(panel, missing);
        else draw(panel);
      }
    },
    setGroup(by: string | null): void {
      if (by === groupBy) return;
      groupBy = by;
      for (const panel of panels.values()) draw(panel);
    },
    follow(changed: readonly RunInfo[]): void {
      for (const panel of panels.values()) void follow(panel, changed);
    },
    setLayout(next: Layout): void {
      densitySelect.value = next.density;
      grid.setLayout(next);
    },
  };
}

function emptyColumns(): SeriesColumns {
  return fillColumns({ downsampled: false });
}
