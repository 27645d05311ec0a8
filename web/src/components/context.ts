// What every page gets: the API client, the signed-in viewer, and navigation.

import type { Api } from "../api/client";
import type { Viewer } from "../api/schema";
import type { Route } from "../lib/route";

export interface PageContext {
  api: Api;
  viewer: Viewer;
  /** Go to a route (push a history entry, or replace the current one). */
  navigate(route: Route, options?: { replace?: boolean }): void;
  /** A link to a route that navigates without reloading the page. */
  link(route: Route, ...children: (Node | string)[]): HTMLAnchorElement;
}
