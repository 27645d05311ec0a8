// A project workspace: the runs table (filter, sort, group, columns, show/hide), a chart panel
// per metric drawing every shown run and a media panel per media key; its state is in the URL and it
// follows runs as they log.

import { mediaTypesOf } from "../api/media";
import type { HistoryKeys, RunInfo } from "../api/schema";
import { historyMark, watchRuns } from "../api/workspace";
import { GroupColors, RunColors } from "../charts/colors";
import type { PageContext } from "../components/context";
import { h, message } from "../components/dom";
import { mediaPanelsView } from "../components/mediaPanels";
import { panelsView } from "../components/panels";
import { projectTabs } from "../components/projectTabs";
import { runsTable, type TableState } from "../components/runsTable";
import { chartKeys } from "../lib/panelKeys";
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
  let runs = await ctx.api.runs(entity, project);
  const page = h("main", { class: "page workspace" },
    h("p", { class: "crumbs" }, ctx.link({ page: "home" }, "Projects"), ` / ${entity} /`),
    h("h1", {}, project),
    projectTabs(ctx, entity, project, "workspace"));
  if (runs.length === 0) {
    // A project is often opened as its first run starts: show it once it has one.
    page.append(message("empty", "No runs in this project yet: they appear here as they start."));
    watchRuns(ctx.api, entity, project, runs, () => ctx.navigate(route, { replace: true }), () => page.isConnected);
    return page;
  }

  const colors = new RunColors();
  colors.assign(runs);
  const colorOf = (run: RunInfo) => colors.of(run);
  const groupColors = new GroupColors();
  const groupColor = (key: string) => groupColors.of(key);

  const saveUrl = () => {
    const url = formatRoute({ page: "project", entity, project, ...state });
    if (location.pathname + location.search !== url) history.replaceState(null, "", url);
  };

  const mediaHeading = h("h2", { hidden: true }, "Media");
  const media = mediaPanelsView({
    api: ctx.api, entity, project, search: state.panels, colorOf,
    onAny: (any) => { mediaHeading.hidden = !any; },
  });
  const panels = panelsView({
    api: ctx.api, entity, project, search: state.panels, smoothing: state.smooth, x: state.x, colorOf, groupColor,
    onSearch: (text) => { state.panels = text; saveUrl(); media.setSearch(text); },
    onSmoothing: (value) => { state.smooth = value; saveUrl(); },
    onX: (key) => { state.x = key; saveUrl(); },
  });
  const table = runsTable({
    state: { q: state.q, sort: state.sort, group: state.group, filters: state.filters, cols: state.cols,
             hide: state.hide, sel: state.sel },
    colorOf,
    groupColor,
    nameCell: (run) => runName(ctx, run),
    onStateChange: (s: TableState) => { Object.assign(state, s); saveUrl(); panels.setGroup(state.group); },
    onVisibleChange: () => {
      panels.setRuns(table.visibleRuns());
      media.setRuns(table.visibleRuns());
    },
    onCompare: (ids) => ctx.navigate({ page: "compare", entity, project, runs: ids }),
  });
  table.setRuns(runs);
  panels.setGroup(state.group);
  panels.setRuns(table.visibleRuns());
  media.setRuns(table.visibleRuns());
  setKeys(await keysOf(ctx, entity, project));

  page.append(h("h2", {}, "Runs"), table.element, h("h2", {}, "Charts"), panels.element, mediaHeading, media.element);

  function setKeys(answer: HistoryKeys): void {
    panels.setKeys(chartKeys(answer.keys));
    media.setKeys(mediaTypesOf(answer));
  }

  // Live: rows, and the new steps of the metrics that changed runs log, without a reload.
  // It stops once the page has left the document (or never made it there: a newer render won).
  let attached = false;
  let ticks = 0;
  const marks = new Map(runs.map((r) => [r.run_id, historyMark(r)]));
  watchRuns(ctx.api, entity, project, runs, (next) => {
    runs = next;
    colors.assign(next);
    table.setRuns(next);
    panels.setRuns(table.visibleRuns());
    media.setRuns(table.visibleRuns());
    media.retry(); // a row's file is uploaded after the row: ask again for those not there yet
    const logged = next.filter((r) => marks.get(r.run_id) !== historyMark(r));
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
  return page;
}

/** The keys the project's runs logged: numeric ones (chart panels) and media ones with their type. */
function keysOf(ctx: PageContext, entity: string, project: string): Promise<HistoryKeys> {
  return ctx.api.projectKeys(entity, project);
}
