// One run: overview (with editable tags and notes), config, summary, its charts and media, system
// metrics, console output (a live tail while it runs), files, and the artifacts it logged and used.

import { mediaTypesOf } from "../api/media";
import { RunApi, type SystemMetrics } from "../api/run";
import { historyMark } from "../api/workspace";
import type { RunInfo } from "../api/schema";
import { colorAt } from "../charts/colors";
import { lineChart } from "../charts/lineChart";
import { systemSeries } from "../charts/system";
import { consoleView } from "../components/consoleView";
import type { PageContext } from "../components/context";
import { h, message } from "../components/dom";
import { filesList } from "../components/filesList";
import { labelsEditor } from "../components/labelsEditor";
import { mediaPanelsView } from "../components/mediaPanels";
import { notesEditor } from "../components/notesEditor";
import { panelsView } from "../components/panels";
import { runArtifactsView } from "../components/runArtifacts";
import { section } from "../components/section";
import { keyValueTree } from "../components/tree";
import { formatDate, formatDuration } from "../lib/format";
import { runtimeOf } from "../lib/runColumns";
import { chartKeys } from "../lib/panelKeys";

const STATE_POLL_MS = 2000;

function text(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

function chartWidth(columns: number): number {
  const page = Math.max(320, Math.min(1150, document.body.clientWidth - 48));
  return Math.max(300, Math.floor(page / columns) - 16);
}

export async function runPage(ctx: PageContext, entity: string, project: string, runId: string): Promise<HTMLElement> {
  const runApi = new RunApi(ctx.api, entity, project, runId);
  const keysOf = () => ctx.api.projectKeys(entity, project, [runId]);
  const [run, keys, files] = await Promise.all([runApi.info(), keysOf(), runApi.files()]);
  let current = run;

  const stateEl = h("span", { class: `state ${run.state}`, "data-testid": "run-state" }, run.state);
  const durationEl = h("span", { "data-testid": "run-duration" }, formatDuration(runtimeOf(run)));
  const page = h("main", { class: "page run-page" },
    h("p", { class: "crumbs" }, ctx.link({ page: "home" }, "Projects"), ` / ${entity} / `,
      ctx.link({ page: "project", entity, project }, project), " /"),
    h("h1", { "data-testid": "run-title" }, run.name ?? run.run_id, " ", h("span", { class: "run-id" }, run.run_id)));

  page.append(section("Overview", overview(ctx, runApi, run, stateEl, durationEl)));
  page.append(section("Config", keyValueTree("config", run.config, { searchable: true, empty: "No config." })));
  page.append(section("Summary", keyValueTree("summary", run.summary,
    { searchable: true, hidePrivate: true, empty: "No summary yet." })));

  // The workspace's panels for this one run: sections, search, smoothing, zoom, x axis, lazy loading,
  // and only the new steps while it runs.
  const charts = panelsView({
    api: ctx.api, entity, project, search: "", smoothing: 0, x: "", colorOf: () => colorAt(0), groupColor: () => colorAt(0),
    onSearch: () => {}, onSmoothing: () => {}, onX: () => {},
  });
  charts.setRuns([run]);
  charts.setKeys(chartKeys(keys.keys));
  page.append(section("Charts", charts.element));
  const media = mediaPanelsView({ api: ctx.api, entity, project, search: "", colorOf: () => colorAt(0),
                                  onAny: (any) => { mediaSection.hidden = !any; } });
  const mediaSection = section("Media", media.element);
  mediaSection.hidden = true;
  media.setRuns([run]);
  media.setKeys(mediaTypesOf(keys));
  page.append(mediaSection);
  const systemBox = h("div", { class: "charts", "data-testid": "system-charts" });
  page.append(section("System metrics", systemBox));
  const output = consoleView(runApi);
  page.append(section("Console output", output.element));
  page.append(section("Files", filesList(runApi, files)));
  page.append(section("Artifacts", runArtifactsView(ctx, entity, project, runId)));

  const [system] = await Promise.all([
    runApi.system(),
    output.start(() => current.state === "running"),
  ]);
  drawSystemCharts(systemBox, system);

  // While the run is running, keep its state and duration current (the console tails itself).
  if (run.state === "running") {
    let seen = false;
    const poll = async () => {
      if (page.isConnected) seen = true;
      else if (seen) return;
      try {
        const previous = current;
        current = await runApi.info();
        media.retry(); // a row's file is uploaded after the row: ask again for those not there yet
        if (historyMark(current) !== historyMark(previous)) {
          const next = await keysOf();
          charts.setRuns([current]);
          charts.setKeys(chartKeys(next.keys));
          charts.follow([current]);
          media.setRuns([current]);
          media.setKeys(mediaTypesOf(next));
          media.follow([current]);
        }
        stateEl.className = `state ${current.state}`;
        stateEl.textContent = current.state;
        durationEl.textContent = formatDuration(runtimeOf(current));
      } catch {
        // retried at the next tick
      }
      if (current.state === "running") setTimeout(() => void poll(), STATE_POLL_MS);
    };
    setTimeout(() => void poll(), STATE_POLL_MS);
  }
  return page;
}

function overview(
  ctx: PageContext,
  runApi: RunApi,
  run: RunInfo,
  stateEl: HTMLElement,
  durationEl: HTMLElement,
): HTMLElement {
  const meta = run.metadata;
  const git = (typeof meta["git"] === "object" && meta["git"] !== null ? meta["git"] : {}) as Record<string, unknown>;
  const rows: [string, string, Node | string | null][] = [];
  const add = (label: string, testid: string, value: Node | string | null) => {
    if (value !== null) rows.push([label, testid, value]);
  };
  add("State", "state", run.exit_code !== null && run.exit_code !== 0
    ? h("span", {}, stateEl, ` (exit code ${run.exit_code})`) : stateEl);
  add("Started", "started", formatDate(run.created_at));
  add("Duration", "duration", durationEl);
  add("Host", "host", run.host ?? text(meta["host"]));
  add("OS", "os", text(meta["os"]));
  add("Python", "python", text(meta["python"]));
  add("Program", "program", text(meta["program"]));
  const command = text(meta["command"]);
  add("Command", "command", command && h("code", {}, command));
  const commit = text(git["commit"]);
  if (commit) {
    const details = [text(git["branch"]), git["dirty"] === true ? "uncommitted changes" : null, text(git["remote"])]
      .filter((x) => x !== null);
    add("Git commit", "git", h("span", {}, h("code", { title: commit }, commit.slice(0, 12)),
      details.length ? ` (${details.join(", ")})` : ""));
  }
  add("Group", "group", run.group || null);
  add("Job type", "job-type", run.job_type || null);
  const branch = run.branch;
  if (branch && typeof branch["run_id"] === "string") {
    const verb = branch["kind"] === "fork" ? "forked from" : "resumed from";
    add("Parent", "parent", h("span", {}, `${verb} `,
      ctx.link({ page: "run", entity: run.entity, project: run.project, runId: branch["run_id"] }, branch["run_id"]),
      typeof branch["step"] === "number" ? ` at step ${branch["step"]}` : ""));
  }
  add("Tags", "tags", labelsEditor({ noun: "tag", plural: "tags", initial: run.tags,
                                     save: async (tags) => (await runApi.update({ tags })).tags }));
  add("Notes", "notes", notesEditor(run.notes, async (notes) => (await runApi.update({ notes })).notes));
  return h("table", { class: "overview", "data-testid": "overview" }, h("tbody", {},
    rows.map(([label, testid, value]) => h("tr", { "data-testid": `overview-${testid}` }, h("th", {}, label),
      h("td", {}, value)))));
}

function drawSystemCharts(box: HTMLElement, system: SystemMetrics): void {
  const names = Object.keys(system.metrics).sort();
  if (names.length === 0 || system.timestamps.length === 0) {
    box.append(message("empty", "No system metrics."));
    return;
  }
  const width = chartWidth(3);
  for (const name of names) {
    const plot = h("div", { class: "chart", "data-testid": "system-chart", "data-key": name });
    box.append(plot);
    // x: seconds since the first sample; the title gives the latest value.
    const latest = [...(system.metrics[name] ?? [])].reverse().find((v) => typeof v === "number");
    const title = latest === undefined ? name : `${name}: ${Number(latest.toPrecision(4))}`;
    lineChart(plot, systemSeries(system, name),
      { title, width, height: 160, labels: [name], xLabel: "seconds since start" });
  }
}
