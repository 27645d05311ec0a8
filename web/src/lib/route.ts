// The UI's location: which page, and its state, as a shareable URL (pure; tested).

export type Route =
  | { page: "home" }
  | { page: "signin"; next: string }
  | { page: "project"; entity: string; project: string; metric: string | null }
  | { page: "notfound"; path: string };

const enc = encodeURIComponent;

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
    return { page: "project", entity, project, metric: query.get("metric") || null };
  }
  return { page: "notfound", path: pathname };
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
      return route.metric ? `${base}?metric=${enc(route.metric)}` : base;
    }
    case "notfound":
      return route.path;
  }
}
