// A project: its runs, and one chart of a chosen metric drawing every run (server-downsampled M4).

import type { RunInfo } from "../api/schema";
import { lineChart } from "../charts/lineChart";
import { alignM4 } from "../charts/m4";
import { colorAt } from "../charts/colors";
import type { PageContext } from "../components/context";
import { h, message, table } from "../components/dom";
import { formatDate, formatDuration } from "../lib/format";

const MAX_CHART_RUNS = 100;
const KEY_SAMPLE_RUNS = 10;

export function runtimeOf(run: RunInfo): number {
  const fromSummary = run.summary["_runtime"];
  if (typeof fromSummary === "number") return fromSummary;
  const end = run.state === "running" ? run.heartbeat_at : run.updated_at;
  return Math.max(0, end - run.created_at);
}

export async function projectPage(
  ctx: PageContext,
  entity: string,
  project: string,
  metric: string | null,
): Promise<HTMLElement> {
  const runs = await ctx.api.runs(entity, project);
  const page = h("main", { class: "page" },
    h("p", { class: "crumbs" }, ctx.link({ page: "home" }, "Projects"), ` / ${entity} /`),
    h("h1", {}, project));
  if (runs.length === 0) {
    page.append(message("empty", "No runs in this project."));
    return page;
  }
  const charted = runs.slice(0, MAX_CHART_RUNS);
  page.append(await chartPanel(ctx, entity, project, metric, charted));
  page.append(h("h2", {}, `Runs (${runs.length})`));
  page.append(table(
    "runs",
    ["", "Name", "State", "Created", "Runtime", "Tags"],
    runs.map((run) => {
      const i = charted.indexOf(run);
      return [
        i >= 0 ? h("span", { class: "swatch", style: `background:${colorAt(i)}` }) : "",
        h("span", { title: run.run_id, "data-testid": "run-name" }, run.name ?? run.run_id),
        h("span", { class: `state ${run.state}` }, run.state),
        formatDate(run.created_at),
        formatDuration(runtimeOf(run)),
        h("span", { class: "tags" }, run.tags.map((t) => h("span", { class: "tag" }, t))),
      ];
    }),
  ));
  return page;
}

async function chartPanel(
  ctx: PageContext,
  entity: string,
  project: string,
  metric: string | null,
  runs: RunInfo[],
): Promise<HTMLElement> {
  const keyLists = await Promise.all(
    runs.slice(0, KEY_SAMPLE_RUNS).map((run) => ctx.api.historyKeys(entity, project, run.run_id)),
  );
  const keys = [...new Set(keyLists.flatMap((k) => k.keys))].filter((k) => !k.startsWith("_")).sort();
  const panel = h("section", { class: "chart-panel", "data-testid": "chart-panel" });
  if (keys.length === 0) {
    panel.append(message("empty", "These runs have logged no metrics yet."));
    return panel;
  }
  const chosen = metric && keys.includes(metric) ? metric : keys[0]!;
  const select = h("select", { id: "metric", "data-testid": "metric" },
    keys.map((k) => h("option", { value: k, selected: k === chosen }, k)));
  select.addEventListener("change", () => {
    ctx.navigate({ page: "project", entity, project, metric: select.value }, { replace: true });
  });
  const plot = h("div", { class: "chart", "data-testid": "chart" });
  panel.append(h("label", { for: "metric" }, "Metric "), select, plot);

  const width = Math.max(320, Math.min(1100, document.body.clientWidth - 48));
  const answer = await ctx.api.projectSeries(entity, project, chosen, runs.map((r) => r.run_id), width);
  const withData = runs.filter((r) => answer.runs[r.run_id]);
  const aligned = alignM4(withData.map((r) => ({ runId: r.run_id, columns: answer.runs[r.run_id]! })));
  // Colours follow the runs table (index among charted runs), not the subset that has this metric.
  const labels = withData.map((r) => r.name ?? r.run_id);
  lineChart(plot, aligned, { title: chosen, width, height: 320, labels,
                             colors: withData.map((r) => colorAt(runs.indexOf(r))) });
  return panel;
}
