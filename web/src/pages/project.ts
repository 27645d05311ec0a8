// A project workspace: the runs table (filter, sort, group, columns, show/hide), a chart panel
// per metric drawing every shown run and a media panel per media key; its state is in the URL and it
// follows runs as they log. The runs table is a sidebar beside the charts that can collapse; the
// panels' layout (order, sizes, density) and the sidebar's state are saved on the server per project.

import { mediaTypesOf } from "../api/media";
import type { RunList } from "../api/client";
import type { HistoryKeys, RunInfo } from "../api/schema";
import { historyMark, watchRuns } from "../api/workspace";
import { GroupColors, RunColors } from "../charts/colors";
import type { PageContext } from "../components/context";
import { h, message } from "../components/dom";
import { mediaPanelsView } from "../components/mediaPanels";
import { panelsView } from "../components/panels";
import { projectTabs } from "../components/projectTabs";
import { runsTable, type TableState } from "../components/runsTable";
import { emptyLayout, fromDocument, type Layout, toDocument } from "../lib/layout";
import { chartKeys } from "../lib/panelKeys";
import { saveQueue, type SaveState } from "../lib/saveQueue";
import { formatRoute, type Route, type WorkspaceState, workspaceState } from "../lib/route";

type ProjectRoute = Extract<Route, { page: "project" }>;

/** How a run's name appears in the runs table. */
function runName(ctx: PageContext, run: RunInfo): Node {
  return ctx.link({ page: "run", entity: run.entity, project: run.project, runId: run.run_id },
    h("span", { title: run.run_id, "data-testid": "run-name" }, run.name ?? run.run_id));
}

export async function projectPage(ctx: PageContext, route: ProjectRoute): Promise<HTMLElement> {
  const { entity, project } = route;
  const state: WorkspaceState = workspaceState(route);
  let [list, layout] = await Promise.all([ctx.api.runs(entity, project), layoutOf(ctx, entity, project)]);
  const page = h("main", { class: "page workspace" },
    h("p", { class: "crumbs" }, ctx.link({ page: "home" }, "Projects"), ` / ${entity} /`),
    h("h1", {}, project),
    projectTabs(ctx, entity, project, "workspace"));
  if (list.runs.length === 0) {
    // A project is often opened as its first run starts: show it once it has one.
    page.append(message("empty", "No runs in this project yet: they appear here as they start."));
    watchRuns(ctx.api, entity, project, list, () => ctx.navigate(route, { replace: true }), () => page.isConnected);
    return page;
  }

  const colors = new RunColors();
  colors.assign(list.runs);
  const colorOf = (run: RunInfo) => colors.of(run);
  const groupColors = new GroupColors();
  const groupColor = (key: string) => groupColors.of(key);

  const saveUrl = () => {
    const url = formatRoute({ page: "project", entity, project, ...state });
    if (location.pathname + location.search !== url) history.replaceState(null, "", url);
  };

  // The layout is saved a moment after it stops changing (a drag or several clicks make one request).
  const layoutStatus = h("span", { class: "layout-status", "data-testid": "layout-status", "data-state": "saved",
                                   role: "status" });
  const saver = saveQueue<Layout>(async (next) => { await ctx.api.saveWorkspaceLayout(entity, project, toDocument(next)); },
    400, (saveState: SaveState, error?: unknown) => {
      layoutStatus.dataset["state"] = saveState;
      layoutStatus.textContent = saveState === "error" ? `Layout not saved: ${String(error)}`
        : saveState === "saved" ? "" : "Saving layout…";
    });
  const saveLayout = (next: Layout) => {
    layout = next;
    saver.save(layout);
  };
  // Chart and media panels share the layout: a change made in one is handed to the other (density, sizes).
  const mediaHeading = h("h2", { hidden: true }, "Media");
  const media = mediaPanelsView({
    api: ctx.api, entity, project, search: state.panels, colorOf,
    onAny: (any) => { mediaHeading.hidden = !any; },
    layout,
    onLayout: (next) => {
      saveLayout({ ...next, sidebarCollapsed: layout.sidebarCollapsed });
      panels.setLayout(layout);
    },
  });
  const panels = panelsView({
    api: ctx.api, entity, project, search: state.panels, smoothing: state.smooth, x: state.x, colorOf, groupColor,
    onSearch: (text) => { state.panels = text; saveUrl(); media.setSearch(text); },
    onSmoothing: (value) => { state.smooth = value; saveUrl(); },
    onX: (key) => { state.x = key; saveUrl(); },
    layout,
    onLayout: (next) => {
      saveLayout({ ...next, sidebarCollapsed: layout.sidebarCollapsed });
      media.setLayout(layout);
    },
  });
  const table = runsTable({
    state: { q: state.q, sort: state.sort, group: state.group, filters: state.filters, cols: state.cols,
             hide: state.hide, sel: state.sel },
    colorOf,
    groupColor,
    nameCell: (run) => runName(ctx, run),
    onStateChange: (s: TableState) => { Object.assign(state, s); saveUrl(); panels.setGroup(state.group); relist(); },
    onVisibleChange: () => {
      panels.setRuns(table.visibleRuns());
      media.setRuns(table.visibleRuns());
    },
    onCompare: (ids) => ctx.navigate({ page: "compare", entity, project, runs: ids }),
  });
  table.setRuns(list.runs, list.total);
  panels.setGroup(state.group);
  panels.setRuns(table.visibleRuns());
  media.setRuns(table.visibleRuns());
  setKeys(await keysOf(ctx, entity, project));

  // The runs sidebar: collapsed, it is a narrow strip with the button that opens it again.
  const toggle = h("button", { type: "button", class: "sidebar-toggle", "data-testid": "sidebar-toggle",
                               "aria-controls": "run-sidebar-body" });
  const runCount = h("span", { class: "kind", "data-testid": "sidebar-run-count" });
  const sidebar = h("aside", { class: "run-sidebar", "data-testid": "run-sidebar", "aria-label": "Runs" },
    h("div", { class: "sidebar-head" }, h("h2", {}, "Runs ", runCount), toggle),
    h("div", { class: "sidebar-body", id: "run-sidebar-body" }, table.element));
  const layoutBody = h("div", { class: "workspace-body" }, sidebar,
    h("div", { class: "workspace-main" },
      h("div", { class: "charts-head" }, h("h2", {}, "Charts"), layoutStatus), panels.element, mediaHeading,
      media.element));
  const showSidebar = (collapsed: boolean) => {
    layoutBody.classList.toggle("sidebar-collapsed", collapsed);
    sidebar.dataset["collapsed"] = String(collapsed);
    toggle.setAttribute("aria-expanded", String(!collapsed));
    toggle.title = collapsed ? "Show the runs" : "Hide the runs";
    toggle.setAttribute("aria-label", toggle.title);
    toggle.textContent = collapsed ? "»" : "«";
  };
  toggle.addEventListener("click", () => {
    const collapsed = !layout.sidebarCollapsed;
    showSidebar(collapsed);
    saveLayout({ ...layout, sidebarCollapsed: collapsed });
    panels.setLayout(layout);
    media.setLayout(layout);
  });
  showSidebar(layout.sidebarCollapsed);
  const countRuns = () => { runCount.textContent = `(${list.total})`; };
  countRuns();
  page.append(layoutBody);
  const showRuns = (next: RunList) => {
    list = next;
    countRuns();
    colors.assign(next.runs);
    table.setRuns(next.runs, next.total);
    panels.setRuns(table.visibleRuns());
    media.setRuns(table.visibleRuns());
  };

  function setKeys(answer: HistoryKeys): void {
    panels.setKeys(chartKeys(answer.keys));
    media.setKeys(mediaTypesOf(answer));
  }

  // Live: rows, and the new steps of the metrics that changed runs log, without a reload.
  // It stops once the page has left the document (or never made it there: a newer render won).
  let attached = false;
  let ticks = 0;
  const marks = new Map(list.runs.map((r) => [r.run_id, historyMark(r)]));
  const watch = watchRuns(ctx.api, entity, project, list, (next) => {
    showRuns(next);
    media.retry(); // a row's file is uploaded after the row: ask again for those not there yet
    const logged = list.runs.filter((r) => marks.get(r.run_id) !== historyMark(r));
    for (const run of logged) marks.set(run.run_id, historyMark(run));
    if (logged.length === 0) return;
    void keysOf(ctx, entity, project).then((keys) => {
      setKeys(keys);
      panels.follow(logged);
      media.follow(logged);
    });
  }, () => {
    attached ||= page.isConnected;
    return attached ? page.isConnected : ++ticks < 5;
  });

  // The list follows the table's free-text filter and conditions: the server narrows all of the
  // project's runs by them (not only the newest MAX_RUNS the page holds), a moment after typing stops.
  let listedFilter = "";
  let relistTimer: ReturnType<typeof setTimeout> | undefined;
  let relists = 0;
  function relist(): void {
    clearTimeout(relistTimer);
    relistTimer = setTimeout(() => {
      const filter = table.serverFilter();
      if (filter === listedFilter) return;
      const asked = ++relists;
      ctx.api.runs(entity, project, filter).then((next) => {
        if (asked !== relists) return; // a later change asked again
        listedFilter = filter;
        watch.reset(next, filter);
        showRuns(next);
        for (const run of next.runs) marks.set(run.run_id, historyMark(run));
      }, () => { /* the list stays as it was; the next change asks again */ });
    }, RELIST_DELAY_MS);
  }
  relist(); // conditions from the URL
  return page;
}

/** How long after the last change to the table's filter the list is asked for again. */
const RELIST_DELAY_MS = 300;

/** The project's saved layout; the default one when it cannot be read (the page works without it). */
async function layoutOf(ctx: PageContext, entity: string, project: string): Promise<Layout> {
  try {
    return fromDocument(await ctx.api.workspaceLayout(entity, project));
  } catch {
    return emptyLayout();
  }
}

/** The keys the project's runs logged: numeric ones (chart panels) and media ones with their type. */
function keysOf(ctx: PageContext, entity: string, project: string): Promise<HistoryKeys> {
  return ctx.api.projectKeys(entity, project);
}
