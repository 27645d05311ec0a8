// The UI's location: which page, and its state, as a shareable URL (pure; tested).

export type Route =
  | { page: "home" }
  | { page: "signin"; next: string }
  | ({ page: "project"; entity: string; project: string } & Partial<WorkspaceState>)
  | { page: "run"; entity: string; project: string; runId: string }
  | { page: "compare"; entity: string; project: string; runs: string[] }
  | { page: "notfound"; path: string };

/** A project workspace's shareable state (the query string of /{entity}/{project}); in a Route,
 *  a field left out has its DEFAULT_WORKSPACE value. */
export interface WorkspaceState {
  /** Runs filter text (name, id, tags). */
  q: string;
  /** Sort column id, "-" first for descending (e.g. "-config.lr"); null: newest first. */
  sort: string | null;
  /** Group rows by "group", "job_type" or "config.<key>"; null: no grouping. */
  group: string | null;
  /** EMA smoothing weight in [0, 1). */
  smooth: number;
  /** Panel search text. */
  panels: string;
  /** The charts' x axis: "" for step, "_runtime" (relative time), "_timestamp" (wall time) or a metric key. */
  x: string;
}

export const DEFAULT_WORKSPACE: WorkspaceState = { q: "", sort: null, group: null, smooth: 0, panels: "", x: "" };

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
    return route;
  }
  if (decoded.length === 3 && decoded[2] === "compare") {
    const [entity, project] = decoded as [string, string];
    return { page: "compare", entity, project, runs: compareIds(search) };
  }
  if (decoded.length === 4 && decoded[2] === "runs") {
    const [entity, project, , runId] = decoded as [string, string, string, string];
    return { page: "run", entity, project, runId };
  }
  return { page: "notfound", path: pathname };
}

/** The run ids of a compare URL's "runs" parameter: comma-separated, each id percent-encoded
 *  (read from the raw query so that an id may hold a comma). */
function compareIds(search: string): string[] {
  const raw = search.replace(/^\?/, "").split("&").find((p) => p.startsWith("runs="));
  if (!raw) return [];
  try {
    return raw.slice(5).split(",").filter((p) => p !== "").map((p) => decodeURIComponent(p.replace(/\+/g, " ")));
  } catch {
    return [];
  }
}

/** The workspace state of a project route, defaults filled in. */
export function workspaceState(route: Partial<WorkspaceState>): WorkspaceState {
  return {
    q: route.q ?? DEFAULT_WORKSPACE.q,
    sort: route.sort ?? DEFAULT_WORKSPACE.sort,
    group: route.group ?? DEFAULT_WORKSPACE.group,
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
      const qs = query.toString();
      return qs ? `${base}?${qs}` : base;
    }
    case "run":
      return `/${enc(route.entity)}/${enc(route.project)}/runs/${enc(route.runId)}`;
    case "compare":
      return `/${enc(route.entity)}/${enc(route.project)}/compare?runs=${route.runs.map(enc).join(",")}`;
    case "notfound":
      return route.path;
  }
}
