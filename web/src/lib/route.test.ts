import { describe, expect, it } from "vitest";

import { formatRoute, parseRoute, type Route } from "./route";

describe("routes", () => {
  it("parses the pages", () => {
    expect(parseRoute("/")).toEqual({ page: "home" });
    expect(parseRoute("/signin", "?next=%2Fa%2Fb")).toEqual({ page: "signin", next: "/a/b" });
    expect(parseRoute("/team%20x/my%2Fproj", "?metric=train%2Floss")).toEqual({
      page: "project", entity: "team x", project: "my/proj", metric: "train/loss",
    });
    expect(parseRoute("/a/b/c/d").page).toBe("notfound");
    expect(parseRoute("/%E0%A4%A").page).toBe("notfound");
  });

  it("never redirects to another host after sign-in", () => {
    expect(parseRoute("/signin", "?next=//evil.example/x")).toEqual({ page: "signin", next: "/" });
    expect(parseRoute("/signin", "?next=https://evil.example")).toEqual({ page: "signin", next: "/" });
  });

  it("round-trips every route through its URL", () => {
    const routes: Route[] = [
      { page: "home" },
      { page: "signin", next: "/" },
      { page: "signin", next: "/e/p?metric=loss" },
      { page: "project", entity: "e", project: "p", metric: null },
      { page: "project", entity: "ü ?&", project: "a/b#c", metric: "x y/z" },
    ];
    for (const route of routes) {
      const url = formatRoute(route);
      const q = url.indexOf("?");
      expect(parseRoute(q < 0 ? url : url.slice(0, q), q < 0 ? "" : url.slice(q))).toEqual(route);
    }
  });
});
