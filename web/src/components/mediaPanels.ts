// The media panels: one per media key the runs logged (images, histograms, tables, audio, video, HTML),
// in sections by key prefix like the chart panels, following the same panel search. Each fetches its
// key for every shown run in one request, only once it is near the viewport: data-state is "idle"
// until then, then "loading", "ready" or "error". While runs log, a drawn panel fetches only the steps
// after those it holds, for the runs that logged; files not uploaded yet are asked again on retry().
// They sit in the same grid as the chart panels (./panelGrid.ts): reordered and resized per section, their
// order and sizes saved in the same workspace layout under their own section names (mediaSection). A panel
// never resized is as tall as its content; one given a height fits its content to it: images scale to it,
// the step slider stays above what scrolls, tables and many runs scroll.

import { MediaFiles, mediaOf } from "../api/media";
import type { Api } from "../api/client";
import type { RunInfo } from "../api/schema";
import { cellRenderer } from "../media/cells";
import { histogramView } from "../media/histogramView";
import { mediaKeys, mediaLabel, mediaSections } from "../media/mediaKeys";
import { steppedView } from "../media/steppedView";
import { appendLogged, lastLoggedStep } from "../media/steps";
import { tableRenderer } from "../media/tableView";
import type { Logged, MediaType } from "../media/types";
import type { MediaView } from "../media/view";
import { emptyLayout, type Layout, MAX_PANEL_COLUMNS, mediaSection } from "../lib/layout";
import { panelMatches, sectionOf } from "../lib/panelKeys";
import { h, message } from "./dom";
import { nearViewport } from "./lazy";
import { onPageLeft } from "./pageLeft";
import { type Geometry, panelGrid } from "./panelGrid";

export interface MediaPanelsOptions {
  api: Api;
  entity: string;
  project: string;
  search: string;
  colorOf(run: RunInfo): string;
  /** Called when the panels go from none to some or back (the page shows their heading only then). */
  onAny?(any: boolean): void;
  /** The workspace's layout (default: the default one, and no layout controls). */
  layout?: Layout;
  /** Called with the layout after each change made here (order, sizes): with it, panels can be
   *  reordered and resized. */
  onLayout?(layout: Layout): void;
}

export interface MediaPanels {
  element: HTMLElement;
  /** The media keys and their types (GET …/keys' `media`); panels whose key is new load when near. */
  setKeys(media: Record<string, string>): void;
  /** The runs to show (the first MAX_MEDIA_RUNS); drawn panels fetch the runs they do not hold yet. */
  setRuns(runs: readonly RunInfo[]): void;
  /** The panel search (shared with the chart panels). */
  setSearch(text: string): void;
  /** Runs logged rows: each drawn panel fetches the steps after those it holds, for these runs only. */
  follow(changed: readonly RunInfo[]): void;
  /** Fetch again the files that were not uploaded yet (called on each live poll). */
  retry(): void;
  /** The layout changed elsewhere (the chart panels', the density): take it. */
  setLayout(layout: Layout): void;
}

/** The most runs a media panel shows side by side: each run is a cell of images or a player. */
export const MAX_MEDIA_RUNS = 20;

interface MediaPanel {
  key: string;
  type: MediaType;
  element: HTMLElement;
  empty: HTMLElement;
  view: MediaView;
  /** Per run, every value logged under the key (runs that logged none hold []). */
  held: Record<string, Logged[]> | null;
  near: boolean;
  fetched: boolean;
  stale: boolean;
  /** Requests in flight. */
  loading: number;
  generation: number;
  requests: number;
  /** Runs that logged while a fetch was in flight: followed once it lands. */
  behind: Map<string, RunInfo>;
  /** Its section (key prefix), and its size in the grid (what its content is fitted to). */
  section: string;
  geometry: Geometry | null;
}

/** Tables and HTML are wide: unless resized they take the widest span (the whole row of most grids). */
const WIDE: readonly MediaType[] = ["table-file", "html-file"];
/** A media panel's padding and border (styles.css .chart-panel): its content is this much narrower. */
const PANEL_CHROME = 26;
/** In a panel given a height: the room above an image (step slider, run label) and below it (caption, note). */
const IMAGE_CHROME = 76;
/** A histogram's heat map: its height in a panel never resized, and its least. */
const HEAT_MAP_HEIGHT = 160;
const MIN_HEAT_MAP_HEIGHT = 60;

export function mediaPanelsView(options: MediaPanelsOptions): MediaPanels {
  const files = new MediaFiles(options.api, options.entity, options.project);
  let runs: RunInfo[] = [];
  let search = options.search;
  const panels = new Map<string, MediaPanel>();
  const byElement = new Map<Element, MediaPanel>();
  const lazy = nearViewport((el, near) => {
    const panel = byElement.get(el);
    if (!panel) return;
    panel.near = near;
    if (near && (panel.stale || !panel.fetched)) void load(panel);
  });
  const capNote = h("p", { class: "note", "data-testid": "media-runs-capped", hidden: true });
  const body = h("div", { class: "sections" });
  const element = h("section", { class: "panels media-panels", "data-testid": "media-panels" }, capNote, body);
  // Another page: the panels' object URLs go, and no fetch still in flight draws.
  onPageLeft(element, () => { for (const panel of [...panels.values()]) drop(panel); });
  const grid = panelGrid({
    body, layout: options.layout ?? emptyLayout(), onLayout: options.onLayout, layoutSection: mediaSection,
    gridTestId: "media-grid", chrome: PANEL_CHROME,
    defaultSize: (key) => WIDE.includes(panels.get(key)?.type ?? "histogram")
      ? { columns: MAX_PANEL_COLUMNS, height: null } : { columns: 1, height: null },
    defaultHeight: () => null, // as tall as what it shows
    contentHeight: (key) => Math.round(panels.get(key)?.view.element.getBoundingClientRect().height ?? 0),
    sized: (key, geometry) => { const panel = panels.get(key); if (panel) sized(panel, geometry); },
  });

  /** Fits a panel's content to its size: with a height, the view is that tall (its cells scroll, images
   *  are at most as tall as the room left); a histogram's heat maps are drawn again at a new size. */
  function sized(panel: MediaPanel, geometry: Geometry): void {
    const before = panel.geometry;
    panel.geometry = geometry;
    const { height } = geometry;
    panel.element.classList.toggle("sized", height !== null);
    panel.view.element.style.height = height === null ? "" : `${height}px`;
    if (height === null) panel.element.style.removeProperty("--media-image-height");
    else panel.element.style.setProperty("--media-image-height", `${Math.max(32, height - IMAGE_CHROME)}px`);
    const redraw = panel.type === "histogram" && panel.held !== null && before !== null
      && (Math.abs(before.width - geometry.width) > 8 || before.height !== height);
    if (redraw) show(panel);
  }

  /** A histogram panel's heat map height for `count` runs: stacked, they share a panel given a height. */
  function heatMapHeight(panel: MediaPanel, count: number): number {
    const height = panel.geometry?.height ?? null;
    if (height === null) return HEAT_MAP_HEIGHT;
    return Math.max(MIN_HEAT_MAP_HEIGHT, Math.floor(height / Math.max(1, count)) - 44);
  }

  function viewFor(type: MediaType, panel: () => MediaPanel): MediaView {
    if (type === "histogram") {
      return histogramView(() => Math.max(240, panel().geometry?.width ?? 534),
                           (count) => heatMapHeight(panel(), count));
    }
    if (type === "table-file") return steppedView(tableRenderer(files));
    return steppedView(cellRenderer(files));
  }

  function makePanel(key: string, type: MediaType): MediaPanel {
    const empty = message("empty", "");
    empty.hidden = true;
    const element = h("div", { class: `chart-panel media-panel${WIDE.includes(type) ? " wide" : ""}`,
                               "data-testid": "media-panel", "data-key": key, "data-type": type, "data-state": "idle",
                               "data-requests": 0 },
      h("div", { class: "media-title" }, key, " ", h("span", { class: "kind" }, mediaLabel(type))), empty);
    const panel: MediaPanel = { key, type, element, empty, view: viewFor(type, () => panel), held: null,
                                near: !lazy.lazy, fetched: false, stale: false, loading: 0, generation: 0,
                                requests: 0, behind: new Map(), section: sectionOf(key), geometry: null };
    element.append(panel.view.element);
    byElement.set(element, panel);
    grid.add(key, panel.section, element);
    return panel;
  }

  function drop(panel: MediaPanel): void {
    panel.generation += 1;
    panel.view.destroy();
    lazy.unobserve(panel.element);
    byElement.delete(panel.element);
    grid.remove(panel.key);
    panels.delete(panel.key);
  }

  function show(panel: MediaPanel): void {
    const held = panel.held ?? {};
    const shown = runs.filter((r) => (held[r.run_id]?.length ?? 0) > 0);
    panel.element.dataset["runCount"] = String(shown.length);
    panel.empty.hidden = shown.length > 0;
    panel.empty.textContent = runs.length ? "Nothing logged under this key by the shown runs." : "No runs shown.";
    panel.view.show(shown.map((r) => ({ runId: r.run_id, label: r.name ?? r.run_id, color: options.colorOf(r),
                                        entries: held[r.run_id]! })));
  }

  /** One request for the key's values of runs `ids` (from `minStep`), counted on the panel. */
  async function fetchMedia(panel: MediaPanel, ids: string[], minStep?: number): Promise<Record<string, Logged[]>> {
    panel.loading += 1;
    panel.element.dataset["state"] = "loading";
    panel.requests += 1;
    panel.element.dataset["requests"] = String(panel.requests);
    try {
      return await mediaOf(options.api, options.entity, options.project, panel.key, ids, { minStep });
    } finally {
      panel.loading -= 1;
    }
  }

  function failed(panel: MediaPanel, generation: number, error: unknown): void {
    if (generation !== panel.generation) return;
    panel.empty.hidden = false;
    panel.empty.textContent = String(error);
    panel.empty.className = "message error";
    panel.element.dataset["state"] = "error";
  }

  function landed(panel: MediaPanel): void {
    panel.empty.className = "message empty";
    show(panel);
    panel.element.dataset["state"] = "ready";
    if (panel.behind.size) void follow(panel, [...panel.behind.values()]);
  }

  async function load(panel: MediaPanel): Promise<void> {
    const generation = ++panel.generation;
    panel.fetched = true;
    panel.stale = false;
    panel.behind.clear();
    const ids = runs.map((r) => r.run_id);
    try {
      const answer = await fetchMedia(panel, ids);
      if (generation !== panel.generation) return;
      panel.held = Object.fromEntries(ids.map((id) => [id, answer[id] ?? []]));
      landed(panel);
    } catch (e) {
      failed(panel, generation, e);
    }
  }

  /** Fetches, for the given runs, only the values after the last step the panel holds (from the start
   *  for runs it does not hold yet); everything again for a run that was rewound. */
  async function follow(panel: MediaPanel, changed: readonly RunInfo[]): Promise<void> {
    if (!panel.fetched) return;
    if (!panel.near) {
      panel.stale = true;
      return;
    }
    if (panel.loading > 0) {
      for (const run of changed) panel.behind.set(run.run_id, run);
      return;
    }
    const held = panel.held;
    const shown = changed.filter((r) => runs.some((v) => v.run_id === r.run_id));
    if (shown.length === 0) return;
    const rewound = (r: RunInfo) => typeof r.summary["_step"] === "number" && r.summary["_step"] < lastLoggedStep(held?.[r.run_id]);
    if (!held || shown.some(rewound)) {
      void load(panel);
      return;
    }
    const ids = shown.map((r) => r.run_id);
    const minStep = Math.min(...ids.map((id) => lastLoggedStep(held[id]))) + 1;
    panel.behind.clear();
    const generation = ++panel.generation;
    try {
      const answer = await fetchMedia(panel, ids, minStep);
      if (generation !== panel.generation) return;
      const merged = { ...held };
      for (const id of ids) merged[id] = appendLogged(held[id] ?? [], answer[id] ?? []);
      panel.held = merged;
      landed(panel);
    } catch (e) {
      failed(panel, generation, e);
    }
  }

  function applySearch(): void {
    for (const section of body.querySelectorAll<HTMLElement>("[data-testid=media-section]")) {
      let any = false;
      for (const el of section.querySelectorAll<HTMLElement>("[data-testid=media-panel]")) {
        const match = panelMatches(el.dataset["key"] ?? "", search);
        el.hidden = !match;
        any ||= match;
      }
      section.hidden = !any;
    }
  }

  function build(): void {
    const keys = [...panels.values()].map((p) => ({ key: p.key, type: p.type }));
    grid.clear();
    body.replaceChildren(...mediaSections(keys).map((section) =>
      h("details", { open: true, class: "panel-section", "data-testid": "media-section", "data-section": section.name },
        h("summary", {}, h("span", { class: "section-name" }, section.name || "Other"), ` (${section.keys.length})`),
        grid.grid(section.name, section.keys))));
    grid.apply();
    applySearch();
  }

  return {
    element,
    setKeys(media: Record<string, string>): void {
      const next = mediaKeys(media);
      const wasAny = panels.size > 0;
      let changed = false;
      for (const panel of [...panels.values()]) {
        if (!next.some((k) => k.key === panel.key && k.type === panel.type)) {
          drop(panel);
          changed = true;
        }
      }
      const fresh = next.filter((k) => !panels.has(k.key));
      for (const { key, type } of fresh) panels.set(key, makePanel(key, type));
      if (fresh.length || changed) build();
      for (const { key } of fresh) lazy.observe(panels.get(key)!.element);
      if (!lazy.lazy) for (const { key } of fresh) void load(panels.get(key)!);
      if (wasAny !== panels.size > 0) options.onAny?.(panels.size > 0);
    },
    setRuns(shown: readonly RunInfo[]): void {
      const next = shown.slice(0, MAX_MEDIA_RUNS);
      capNote.hidden = shown.length <= MAX_MEDIA_RUNS;
      capNote.textContent = `Media panels show the first ${MAX_MEDIA_RUNS} of the ${shown.length} runs shown, in table order.`;
      const same = next.length === runs.length && next.every((r, i) => r.run_id === runs[i]!.run_id);
      runs = next;
      if (same) return;
      for (const panel of panels.values()) {
        if (!panel.fetched) continue;
        const missing = panel.held ? next.filter((r) => !(r.run_id in panel.held!)) : next;
        if (missing.length) void follow(panel, missing);
        else show(panel);
      }
    },
    setSearch(text: string): void {
      search = text;
      applySearch();
    },
    follow(changed: readonly RunInfo[]): void {
      for (const panel of panels.values()) void follow(panel, changed);
    },
    retry(): void {
      for (const panel of panels.values()) if (panel.fetched) panel.view.retry();
    },
    setLayout(next: Layout): void {
      grid.setLayout(next);
    },
  };
}
