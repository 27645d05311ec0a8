// The UI's location: which page, and its state, as a shareable URL (pure; tested).

import { type Condition, formatCondition, parseCondition } from "./runFilters";

export type Route =
  | { page: "home" }
  | { page: "signin"; next: string }
  | ({ page: "project"; entity: string; project: string } & Partial<WorkspaceState>)
  | { page: "run"; entity: string; project: string; runId: string }
  | { page: "compare"; entity: string; project: string; runs: string[] }
  /** A project's artifacts by type; with `name`, that artifact's versions too. */
  | { page: "artifacts"; entity: string; project: string; name?: string }
  /** One version of an artifact; `version` is "v3", an alias or "latest". */
  | { page: "artifact"; entity: string; project: string; name: string; version: string }
  | { page: "notfound"; path: string };

/** A project workspace's shareable state (the query string of /{entity}/{project}); in a Route,
 *  a field left out has its DEFAULT_WORKSPACE value. */
export interface WorkspaceState {
  /** Runs filter text (name, id, tags). */
  q: string;
  /** Sort column id, "-" first for descending (e.g. "-config.lr"); null: newest first. */
  sort: string | null;
  /** Group rows by "group", "job_type", "tags" (a group per tag) or "config.<key>"; null: no grouping. */
  group: string | null;
  /** Column conditions of the runs table, ANDed (`f=column~op~value`, repeated). */
  filters: Condition[];
  /** The runs table's columns, in order; null: the defaults (so the URL has them only once changed). */
  cols: string[] | null;
  /** Run ids unticked: left out of the charts. */
  hide: string[];
  /** Run ids selected for comparing, in the order picked. */
  sel: string[];
  /** EMA smoothing weight in [0, 1). */
  smooth: number;
  /** Panel search text. */
  panels: string;
  /** The charts' x axis: "" for each panel's default (define_metric's step_metric, else the step), "_step",
   *  "_runtime" (relative time), "_timestamp" (wall time) or a metric key. */
  x: string;
}

export const DEFAULT_WORKSPACE: WorkspaceState = {
  q: "", sort: null, group: null, filters: [], cols: null, hide: [], sel: [], smooth: 0, panels: "", x: "",
};

const enc = encodeURIComponent;

function parseSmooth(value: string | null): number {
  const n = Number(value);
  return value && Number.isFinite(n) && n > 0 && n < 1 ? n : 0;
}

/** The route for a URL's path and query string (e.g. location.pathname, location.search). */
export function parseRoute(pathname: string, search = ""): Route {
  const query = new URLSearchParams(search);
  const parts = pathname.split("/").filter((p) => p !== "");
  let decoded: string[];
  try {
    decoded = parts.map((p) => decodeURIComponent(p));
  } catch {
    return { page: "notfound", path: pathname };
  }
  if (decoded.length === 0) return { page: "home" };
  if (decoded.length === 1 && decoded[0] === "signin") {
    const next = query.get("next");
    return { page: "signin", next: next && next.startsWith("/") && !next.startsWith("//") ? next : "/" };
  }
  if (decoded.length === 2) {
    const [entity, project] = decoded as [string, string];
    const route: Route = { page: "project", entity, project };
    const q = query.get("q");
    const sort = query.get("sort");
    const group = query.get("group");
    const smooth = parseSmooth(query.get("smooth"));
    const panels = query.get("panels");
    const x = query.get("x");
    if (x) route.x = x;
    if (q) route.q = q;
    if (sort) route.sort = sort;
    if (group) route.group = group;
    if (smooth) route.smooth = smooth;
    if (panels) route.panels = panels;
    const filters = query.getAll("f");
    if (filters.length) route.filters = filters.map(parseCondition);
    const cols = idList(search, "cols");
    if (cols) route.cols = cols;
    const hide = idList(search, "hide");
    if (hide?.length) route.hide = hide;
    const sel = idList(search, "sel");
    if (sel?.length) route.sel = sel;
    return route;
  }
  if (decoded.length === 3 && decoded[2] === "compare") {
    const [entity, project] = decoded as [string, string];
    return { page: "compare", entity, project, runs: idList(search, "runs") ?? [] };
  }
  if (decoded.length >= 3 && decoded.length <= 5 && decoded[2] === "artifacts") {
    const [entity, project, , name, version] = decoded as [string, string, string, string?, string?];
    if (name !== undefined && version !== undefined) return { page: "artifact", entity, project, name, version };
    return name !== undefined ? { page: "artifacts", entity, project, name } : { page: "artifacts", entity, project };
  }
  if (decoded.length === 4 && decoded[2] === "runs") {
    const [entity, project, , runId] = decoded as [string, string, string, string];
    return { page: "run", entity, project, runId };
  }
  return { page: "notfound", path: pathname };
}

/** A list parameter (compare's "runs"; the workspace's "cols", "hide", "sel"): comma-separated,
 *  each item percent-encoded (read from the raw query so that an item may hold a comma). null when
 *  the parameter is absent ("cols=" is an empty list: every column unticked). */
function idList(search: string, name: string): string[] | null {
  const raw = search.replace(/^\?/, "").split("&").find((p) => p.startsWith(`${name}=`));
  if (raw === undefined) return null;
  try {
    return raw.slice(name.length + 1).split(",").filter((p) => p !== "")
      .map((p) => decodeURIComponent(p.replace(/\+/g, " ")));
  } catch {
    return [];
  }
}

function formatList(name: string, items: readonly string[]): string {
  return `${name}=${items.map(enc).join(",")}`;
}

/** The workspace state of a project route, defaults filled in. */
export function workspaceState(route: Partial<WorkspaceState>): WorkspaceState {
  return {
    q: route.q ?? DEFAULT_WORKSPACE.q,
    sort: route.sort ?? DEFAULT_WORKSPACE.sort,
    group: route.group ?? DEFAULT_WORKSPACE.group,
    filters: route.filters ?? DEFAULT_WORKSPACE.filters,
    cols: route.cols ?? DEFAULT_WORKSPACE.cols,
    hide: route.hide ?? DEFAULT_WORKSPACE.hide,
    sel: route.sel ?? DEFAULT_WORKSPACE.sel,
    smooth: route.smooth ?? DEFAULT_WORKSPACE.smooth,
    panels: route.panels ?? DEFAULT_WORKSPACE.panels,
    x: route.x ?? DEFAULT_WORKSPACE.x,
  };
}

/** The URL (path and query) of a route: parseRoute(formatRoute(r)) equals r. */
export function formatRoute(route: Route): string {
  switch (route.page) {
    case "home":
      return "/";
    case "signin":
      return route.next === "/" ? "/signin" : `/signin?next=${enc(route.next)}`;
    case "project": {
      const base = `/${enc(route.entity)}/${enc(route.project)}`;
      const query = new URLSearchParams();
      if (route.q) query.set("q", route.q);
      if (route.sort) query.set("sort", route.sort);
      if (route.group) query.set("group", route.group);
      if (route.smooth && route.smooth > 0 && route.smooth < 1) query.set("smooth", String(route.smooth));
      if (route.panels) query.set("panels", route.panels);
      if (route.x) query.set("x", route.x);
      // Conditions and lists are encoded by hand: "~" stays readable (URLSearchParams would write
      // %7E), and list items are encoded one by one (ids may hold commas).
      const parts = query.toString() ? [query.toString()] : [];
      for (const condition of route.filters ?? []) parts.push(`f=${enc(formatCondition(condition))}`);
      if (route.cols) parts.push(formatList("cols", route.cols));
      if (route.hide?.length) parts.push(formatList("hide", route.hide));
      if (route.sel?.length) parts.push(formatList("sel", route.sel));
      return parts.length ? `${base}?${parts.join("&")}` : base;
    }
    case "run":
      return `/${enc(route.entity)}/${enc(route.project)}/runs/${enc(route.runId)}`;
    case "compare":
      return `/${enc(route.entity)}/${enc(route.project)}/compare?${formatList("runs", route.runs)}`;
    case "artifacts": {
      const base = `/${enc(route.entity)}/${enc(route.project)}/artifacts`;
      return route.name !== undefined ? `${base}/${enc(route.name)}` : base;
    }
    case "artifact":
      return `/${enc(route.entity)}/${enc(route.project)}/artifacts/${enc(route.name)}/${enc(route.version)}`;
    case "notfound":
      return route.path;
  }
}
