// An artifact version's lineage: the run that logged it → the version → the runs that used it, each run
// a link to its page (by name when it could be looked up, else by id; another project's says which).

import type { ArtifactVersion, RunInfo } from "../api/schema";
import { parseRunRef, type RunRef, runKey } from "../lib/runRefs";
import type { PageContext } from "./context";
import { h, message } from "./dom";

/** The runs a version names, as refs (the one that logged it first). */
export function lineageRefs(version: ArtifactVersion): RunRef[] {
  const ids = [...(version.logged_by ? [version.logged_by] : []), ...version.used_by];
  return ids.map((id) => parseRunRef(id, version.entity, version.project));
}

export function lineageView(ctx: PageContext, version: ArtifactVersion, runs: ReadonlyMap<string, RunInfo>): HTMLElement {
  const runItem = (id: string, testid: string) => {
    const ref = parseRunRef(id, version.entity, version.project);
    const run = runs.get(runKey(ref));
    const where = ref.elsewhere ? `${ref.entity}/${ref.project}/` : "";
    const link = ctx.link({ page: "run", entity: ref.entity, project: ref.project, runId: ref.runId },
      `${where}${run?.name ?? ref.runId}`);
    link.dataset["testid"] = testid;
    link.dataset["runId"] = ref.runId;
    link.title = runKey(ref);
    return h("li", {}, link, run?.job_type ? h("span", { class: "hint" }, ` ${run.job_type}`) : null);
  };
  const producer = version.logged_by
    ? h("ul", {}, runItem(version.logged_by, "lineage-producer"))
    : message("empty", "Not logged by a run.");
  const consumers = version.used_by.length
    ? h("ul", {}, version.used_by.map((id) => runItem(id, "lineage-consumer")))
    : message("empty", "No run has used it yet.");
  return h("div", { class: "lineage", "data-testid": "lineage" },
    h("div", { class: "lineage-node" }, h("div", { class: "lineage-label" }, "Logged by"), producer),
    h("div", { class: "lineage-arrow", "aria-hidden": "true" }, "→"),
    h("div", { class: "lineage-node current" }, h("div", { class: "lineage-label" }, version.type),
      h("strong", { "data-testid": "lineage-version" }, `${version.name}:${version.version}`)),
    h("div", { class: "lineage-arrow", "aria-hidden": "true" }, "→"),
    h("div", { class: "lineage-node" },
      h("div", { class: "lineage-label" }, `Used by${version.used_by.length ? ` (${version.used_by.length})` : ""}`),
      consumers));
}
