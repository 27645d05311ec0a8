// A project's Artifacts tab: its artifacts grouped by type, each with its version count and latest
// version; with an artifact chosen (/{entity}/{project}/artifacts/{name}), that artifact's versions.

import { ArtifactsApi } from "../api/artifacts";
import { runsByRef } from "../api/runLookup";
import type { ArtifactSummary, ArtifactVersion, RunInfo } from "../api/schema";
import type { PageContext } from "../components/context";
import { h, message } from "../components/dom";
import { projectTabs } from "../components/projectTabs";
import { versionsTable } from "../components/versionsTable";
import { groupByType } from "../lib/artifactGroups";
import { formatAgo } from "../lib/format";
import type { Route } from "../lib/route";
import { parseRunRef, type RunRef } from "../lib/runRefs";

type ArtifactsRoute = Extract<Route, { page: "artifacts" }>;

export async function artifactsPage(ctx: PageContext, route: ArtifactsRoute): Promise<HTMLElement> {
  const { entity, project, name } = route;
  const artifactsApi = new ArtifactsApi(ctx.api, entity, project);
  // The versions' failure (a name that is not there) is the versions pane's to say, not the page's.
  const [artifacts, versions] = await Promise.all([
    artifactsApi.list(),
    name === undefined ? null : artifactsApi.versions(name).catch((e: unknown) => e as Error),
  ]);
  const runs = Array.isArray(versions) ? await runsByRef(ctx.api, versions.flatMap(loggedByRef)) : new Map();
  const page = h("main", { class: "page artifacts-page" },
    h("p", { class: "crumbs" }, ctx.link({ page: "home" }, "Projects"), ` / ${entity} /`),
    h("h1", {}, project),
    projectTabs(ctx, entity, project, "artifacts"));
  if (artifacts.length === 0) {
    page.append(message("empty", "No artifacts in this project yet: runs make them with run.log_artifact(…)."));
    return page;
  }
  const list = h("div", { class: "artifact-types" }, groupByType(artifacts).map((group) =>
    h("section", { class: "artifact-type", "data-testid": "artifact-type", "data-type": group.type },
      h("h2", {}, group.type, " ", h("span", { class: "kind" }, `${group.artifacts.length}`)),
      artifactsTable(ctx, entity, project, group.artifacts, name))));
  page.append(h("div", { class: name === undefined ? "artifacts-layout" : "artifacts-layout with-versions" },
    list, name === undefined ? null : versionsPane(ctx, name, artifacts, versions!, runs)));
  return page;
}

function loggedByRef(version: ArtifactVersion): RunRef[] {
  return version.logged_by ? [parseRunRef(version.logged_by, version.entity, version.project)] : [];
}

function artifactsTable(
  ctx: PageContext, entity: string, project: string, artifacts: ArtifactSummary[], chosen: string | undefined,
): HTMLTableElement {
  const now = Date.now() / 1000;
  return h("table", { class: "artifacts-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Versions"), h("th", {}, "Latest"), h("th", {}, "Updated"))),
    h("tbody", {}, artifacts.map((a) => {
      const latest = a.latest;
      const nameLink = ctx.link({ page: "artifacts", entity, project, name: a.name }, a.name);
      nameLink.dataset["testid"] = "artifact-name";
      return h("tr", { "data-testid": "artifact-row", "data-name": a.name, class: a.name === chosen ? "chosen" : null,
                       title: a.description ?? "" },
        h("td", {}, nameLink),
        h("td", { "data-testid": "version-count" }, a.versions),
        h("td", {}, latest
          ? ctx.link({ page: "artifact", entity, project, name: a.name, version: latest }, latest) : "–"),
        h("td", {}, formatAgo(a.updated_at, now)));
    })));
}

function versionsPane(
  ctx: PageContext, name: string, artifacts: ArtifactSummary[], versions: ArtifactVersion[] | Error,
  runs: ReadonlyMap<string, RunInfo>,
): HTMLElement {
  const artifact = artifacts.find((a) => a.name === name);
  const pane = h("section", { class: "artifact-versions", "data-testid": "artifact-versions", "data-name": name },
    h("h2", {}, name, artifact ? h("span", { class: "kind" }, ` ${artifact.type}`) : null));
  if (artifact?.description) pane.append(h("p", { class: "description" }, artifact.description));
  if (versions instanceof Error) {
    pane.append(message("error", artifact ? String(versions) : `No artifact “${name}” in this project.`));
    return pane;
  }
  pane.append(versions.length ? versionsTable(ctx, "versions", versions, { withRun: true, runs })
    : message("empty", "No versions."));
  return pane;
}
