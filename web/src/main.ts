// The app shell: who is signed in, the header, and URL routing with the browser's location.

import "./styles.css";

import { Api, ApiError } from "./api/client";
import type { Viewer } from "./api/schema";
import type { PageContext } from "./components/context";
import { h, message } from "./components/dom";
import { announcePageShown } from "./components/pageLeft";
import { forgetKey, storedKey } from "./lib/auth";
import { formatRoute, parseRoute, type Route } from "./lib/route";
import { artifactVersionPage } from "./pages/artifactVersion";
import { artifactsPage } from "./pages/artifacts";
import { comparePage } from "./pages/compare";
import { homePage } from "./pages/home";
import { projectPage } from "./pages/project";
import { runPage } from "./pages/run";
import { signInPage } from "./pages/signin";

const root = document.getElementById("app")!;
let session: { api: Api; viewer: Viewer; key: string | null } | null = null;
let rendering = 0;

function navigate(route: Route, options: { replace?: boolean } = {}): void {
  const url = formatRoute(route);
  if (options.replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  void render();
}

function link(route: Route, ...children: (Node | string)[]): HTMLAnchorElement {
  return h("a", { href: formatRoute(route) }, ...children);
}

// Same-origin links navigate in the app, without a reload (modifier keys keep their meaning).
document.addEventListener("click", (event) => {
  const a = (event.target as Element | null)?.closest?.("a");
  if (!a || a.target || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith("/api/")) return;
  event.preventDefault();
  navigate(parseRoute(url.pathname, url.search));
});
window.addEventListener("popstate", () => void render());

/** Who this browser is: its stored key, or no key at all (the local server of `tracklet ui`). */
async function signIn(): Promise<boolean> {
  if (session) return true;
  const key = storedKey();
  const api = new Api(key);
  try {
    session = { api, viewer: await api.viewer(), key };
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      if (key) forgetKey();
      return false;
    }
    throw e;
  }
}

function header(): HTMLElement {
  const bar = h("header", { class: "bar" }, link({ page: "home" }, h("strong", {}, "Tracklet")));
  if (session) {
    bar.append(h("span", { class: "who", "data-testid": "viewer" }, session.viewer.user));
    if (session.key) {
      bar.append(h("button", { type: "button", class: "link", "data-testid": "signout", onclick: () => {
        forgetKey();
        session = null;
        navigate({ page: "signin", next: "/" });
      } }, "Sign out"));
    }
  }
  return bar;
}

async function render(): Promise<void> {
  const mine = ++rendering;
  const route = parseRoute(location.pathname, location.search);
  const show = (page: HTMLElement) => {
    if (mine !== rendering) return;
    root.replaceChildren(header(), page);
    announcePageShown();
  };
  try {
    if (!(await signIn())) {
      if (route.page !== "signin") {
        const here = location.pathname + location.search;
        history.replaceState(null, "", formatRoute({ page: "signin", next: here }));
      }
      const next = route.page === "signin" ? route.next : location.pathname + location.search;
      show(signInPage((key, viewer) => {
        session = { api: new Api(key), viewer, key };
        navigate(parseRoute(...splitUrl(next)), { replace: true });
      }));
      return;
    }
    const ctx: PageContext = { api: session!.api, viewer: session!.viewer, navigate, link };
    switch (route.page) {
      case "signin":
        navigate(parseRoute(...splitUrl(route.next)), { replace: true });
        return;
      case "home":
        show(await homePage(ctx));
        return;
      case "project":
        show(await projectPage(ctx, route));
        return;
      case "run":
        show(await runPage(ctx, route.entity, route.project, route.runId));
        return;
      case "compare":
        show(await comparePage(ctx, route));
        return;
      case "artifacts":
        show(await artifactsPage(ctx, route));
        return;
      case "artifact":
        show(await artifactVersionPage(ctx, route));
        return;
      case "notfound":
        show(h("main", { class: "page" }, message("error", `Nothing at ${route.path}.`)));
        return;
    }
  } catch (e) {
    const text = e instanceof ApiError && e.status === 404 ? "Not found (or not yours to see)." : String(e);
    show(h("main", { class: "page" }, message("error", text)));
  }
}

function splitUrl(url: string): [string, string] {
  const i = url.indexOf("?");
  return i < 0 ? [url, ""] : [url.slice(0, i), url.slice(i)];
}

void render();
