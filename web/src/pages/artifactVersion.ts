// One artifact version (/{entity}/{project}/artifacts/{name}/{version}): what it is (type, description,
// size, digest), its aliases (editable; `latest` is the server's), its lineage (the run that logged it →
// it → the runs that used it), its metadata (searchable) and its files as a tree, each to download.

import { ArtifactsApi, manifestEntries } from "../api/artifacts";
import { runsByRef } from "../api/runLookup";
import type { ArtifactVersion } from "../api/schema";
import type { PageContext } from "../components/context";
import { h } from "../components/dom";
import { downloadLink } from "../components/download";
import { fileTreeView } from "../components/fileTreeView";
import { labelsEditor } from "../components/labelsEditor";
import { lineageRefs, lineageView } from "../components/lineage";
import { section } from "../components/section";
import { keyValueTree } from "../components/tree";
import { aliasProblem, removable, shownAliases, withAlias, withoutAlias } from "../lib/aliases";
import { formatBytes, formatDate } from "../lib/format";
import { formatRoute, type Route } from "../lib/route";

type ArtifactRoute = Extract<Route, { page: "artifact" }>;

export async function artifactVersionPage(ctx: PageContext, route: ArtifactRoute): Promise<HTMLElement> {
  const { entity, project, name } = route;
  const artifactsApi = new ArtifactsApi(ctx.api, entity, project);
  const version = await artifactsApi.version(name, route.version);
  const runs = await runsByRef(ctx.api, lineageRefs(version));

  const page = h("main", { class: "page artifact-page" },
    h("p", { class: "crumbs" }, ctx.link({ page: "home" }, "Projects"), ` / ${entity} / `,
      ctx.link({ page: "project", entity, project }, project), " / ",
      ctx.link({ page: "artifacts", entity, project }, "Artifacts"), " / ",
      ctx.link({ page: "artifacts", entity, project, name }, name), " /"),
    h("h1", { "data-testid": "artifact-title" }, `${version.name}:${version.version}`, " ",
      h("span", { class: "kind" }, version.type)));
  page.append(section("Overview", overview(artifactsApi, route, version)));
  page.append(section("Lineage", lineageView(ctx, version, runs)));
  page.append(section("Metadata", keyValueTree("metadata", version.metadata,
    { searchable: true, empty: "No metadata." })));
  page.append(section("Files", fileTreeView(manifestEntries(version), (file) => {
    // The version by its number, not the URL's alias: an alias may move while the page is open.
    return downloadLink(artifactsApi.fileUrl(name, version.version, file.path), file.name,
      () => artifactsApi.fileBlob(name, version.version, file.path));
  })));
  return page;
}

function overview(artifactsApi: ArtifactsApi, route: ArtifactRoute, version: ArtifactVersion): HTMLElement {
  const aliases = labelsEditor({
    noun: "alias", plural: "aliases", initial: version.aliases, placeholder: "add an alias",
    locked: (alias) => !removable(alias), problem: aliasProblem, withLabel: withAlias, withoutLabel: withoutAlias,
    shown: shownAliases,
    save: async (next) => {
      const saved = await artifactsApi.update(version.name, version.version, { aliases: next });
      // Opened by an alias that may have just moved: the URL names the version itself from now on.
      const here = formatRoute({ ...route, version: saved.version });
      if (location.pathname !== here) history.replaceState(null, "", here);
      return saved.aliases;
    },
  });
  const rows: [string, string, Node | string][] = [
    ["Type", "type", version.type],
    ["Aliases", "aliases", h("span", {}, aliases,
      h("div", { class: "hint" }, "An alias added here moves from the version that had it."))],
    ["Size", "size", `${formatBytes(version.size)} in ${version.file_count === 1 ? "1 file" : `${version.file_count} files`}`],
    ["Created", "created", formatDate(version.created_at)],
    ["Digest", "digest", h("code", { title: "SHA-256 of the manifest" }, version.digest)],
  ];
  if (version.description) rows.splice(1, 0, ["Description", "description", version.description]);
  return h("table", { class: "overview", "data-testid": "overview" }, h("tbody", {},
    rows.map(([label, testid, value]) => h("tr", { "data-testid": `overview-${testid}` }, h("th", {}, label),
      h("td", {}, value)))));
}
