// Compare runs: their config and summary side by side, one row per key, the rows whose values
// differ highlighted (and, on request, the only ones shown). The model is ../lib/compare.ts.

import type { RunInfo } from "../api/schema";
import type { PageContext } from "../components/context";
import { h, message } from "../components/dom";
import { compareRuns } from "../lib/compare";
import type { Route } from "../lib/route";
import { formatValue } from "../lib/runColumns";

type CompareRoute = Extract<Route, { page: "compare" }>;

const enc = encodeURIComponent;

export async function comparePage(ctx: PageContext, route: CompareRoute): Promise<HTMLElement> {
  const { entity, project } = route;
  const page = h("main", { class: "page compare" },
    h("p", { class: "crumbs" }, ctx.link({ page: "home" }, "Projects"), ` / ${entity} / `,
      ctx.link({ page: "project", entity, project }, project), " /"),
    h("h1", {}, "Compare runs"));
  const ids = [...new Set(route.runs)];
  if (ids.length === 0) {
    page.append(message("empty", "No runs to compare: pick some in the project's runs table."));
    return page;
  }
  const runs = await Promise.all(ids.map((id) =>
    ctx.api.get<RunInfo>(`/runs/${enc(entity)}/${enc(project)}/${enc(id)}`)));
  const rows = compareRuns(runs);
  const differing = rows.filter((r) => r.differs).length;

  const onlyDiff = h("input", { type: "checkbox", "data-testid": "only-differing" });
  const table = h("table", { class: "compare-table", "data-testid": "compare" },
    h("thead", {}, h("tr", {}, h("th", {}, "Key"), runs.map((run) =>
      h("th", { "data-testid": "compare-run", "data-run-id": run.run_id },
        ctx.link({ page: "run", entity, project, runId: run.run_id }, run.name ?? run.run_id))))),
    h("tbody", {}, rows.map((row) =>
      h("tr", { "data-testid": "compare-row", "data-key": row.key, "data-differs": String(row.differs),
                class: row.differs ? "differs" : null },
        h("th", { scope: "row" }, row.key),
        row.values.map((v) => h("td", {}, formatValue(row.key, v)))))));
  onlyDiff.addEventListener("change", () => table.classList.toggle("only-differing", onlyDiff.checked));
  page.append(
    h("div", { class: "toolbar" },
      h("span", { "data-testid": "compare-summary" },
        `${runs.length} runs, ${rows.length} keys, ${differing} differ`),
      h("label", {}, onlyDiff, " Only differing keys")),
    rows.length ? h("div", { class: "table-scroll" }, table) : message("empty", "These runs have no config or summary."));
  return page;
}
