// Artifact versions as a table: each version (a link to its page), aliases, size, files, when and by
// which run it was logged. The artifacts tab lists an artifact's versions with it, the run page those
// a run logged or used.

import type { ArtifactVersion, RunInfo } from "../api/schema";
import { shownAliases } from "../lib/aliases";
import { formatBytes, formatDate } from "../lib/format";
import { parseRunRef, runKey } from "../lib/runRefs";
import type { PageContext } from "./context";
import { h } from "./dom";

export function versionsTable(
  ctx: PageContext,
  testid: string,
  versions: readonly ArtifactVersion[],
  options: { withName?: boolean; withRun?: boolean; runs?: ReadonlyMap<string, RunInfo> } = {},
): HTMLTableElement {
  const headers = ["Version", ...(options.withName ? ["Type"] : []), "Aliases", "Size", "Files", "Created",
                   ...(options.withRun ? ["Logged by"] : [])];
  return h("table", { class: "versions-table", "data-testid": testid },
    h("thead", {}, h("tr", {}, headers.map((name) => h("th", {}, name)))),
    h("tbody", {}, versions.map((v) => {
      const label = options.withName ? `${v.name}:${v.version}` : v.version;
      const link = ctx.link({ page: "artifact", entity: v.entity, project: v.project, name: v.name, version: v.version }, label);
      link.dataset["testid"] = "version-link";
      return h("tr", { "data-testid": "version-row", "data-name": v.name, "data-version": v.version },
        h("td", {}, link),
        options.withName ? h("td", {}, v.type) : null,
        h("td", {}, shownAliases(v.aliases).map((a) => h("span", { class: "tag", "data-testid": "version-alias" }, a))),
        h("td", {}, formatBytes(v.size)),
        h("td", {}, v.file_count),
        h("td", {}, formatDate(v.created_at)),
        options.withRun ? h("td", {}, v.logged_by ? runLink(ctx, v, v.logged_by, options.runs) : "–") : null);
    })));
}

/** A run by its name when looked up, else as the version names it ("entity/project/run_id" for another
 *  project's). */
function runLink(ctx: PageContext, version: ArtifactVersion, id: string, runs?: ReadonlyMap<string, RunInfo>): HTMLAnchorElement {
  const ref = parseRunRef(id, version.entity, version.project);
  const link = ctx.link({ page: "run", entity: ref.entity, project: ref.project, runId: ref.runId },
    runs?.get(runKey(ref))?.name ?? id);
  link.title = runKey(ref);
  link.dataset["testid"] = "version-run";
  return link;
}
