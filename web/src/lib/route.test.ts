import { describe, expect, it } from "vitest";

import { DEFAULT_WORKSPACE, formatRoute, parseRoute, type Route, workspaceState } from "./route";

describe("routes", () => {
  it("parses the pages", () => {
    expect(parseRoute("/")).toEqual({ page: "home" });
    expect(parseRoute("/signin", "?next=%2Fa%2Fb")).toEqual({ page: "signin", next: "/a/b" });
    expect(parseRoute("/team%20x/my%2Fproj", "?sort=-config.lr&smooth=0.6")).toEqual({
      page: "project", entity: "team x", project: "my/proj", sort: "-config.lr", smooth: 0.6,
    });
    expect(parseRoute("/e/p", "?smooth=7&q=")).toEqual({ page: "project", entity: "e", project: "p" });
    expect(workspaceState({ q: "a" })).toEqual({ ...DEFAULT_WORKSPACE, q: "a" });
    expect(parseRoute("/e/p/runs/abc123")).toEqual({ page: "run", entity: "e", project: "p", runId: "abc123" });
    expect(parseRoute("/a/b/c/d").page).toBe("notfound");
    expect(parseRoute("/e/p/compare", "?runs=a,b,c")).toEqual({ page: "compare", entity: "e", project: "p", runs: ["a", "b", "c"] });
    expect(formatRoute({ page: "compare", entity: "e", project: "p", runs: ["a", "b"] })).toBe("/e/p/compare?runs=a,b");
    expect(parseRoute("/e/p/compare", "?x=1&runs=a%2Cb,c")).toEqual({ page: "compare", entity: "e", project: "p", runs: ["a,b", "c"] });
    expect(parseRoute("/a/b/runs").page).toBe("notfound");
    expect(parseRoute("/e/p/artifacts")).toEqual({ page: "artifacts", entity: "e", project: "p" });
    expect(parseRoute("/e/p/artifacts/mnist")).toEqual({ page: "artifacts", entity: "e", project: "p", name: "mnist" });
    expect(parseRoute("/e/p/artifacts/mnist/v3")).toEqual({
      page: "artifact", entity: "e", project: "p", name: "mnist", version: "v3",
    });
    expect(parseRoute("/e/p/artifacts/mnist/v3/x").page).toBe("notfound");
    expect(parseRoute("/e/artifacts")).toEqual({ page: "project", entity: "e", project: "artifacts" });
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
      { page: "signin", next: "/e/p?q=loss" },
      { page: "project", entity: "e", project: "p" },
      { page: "project", entity: "ü ?&", project: "a/b#c", q: "x y/z&", sort: "-config.lr", group: "config.a b",
        smooth: 0.85, panels: "train/" },
      { page: "project", entity: "e", project: "p", x: "_runtime" },
      { page: "project", entity: "e", project: "p", panels: "val", x: "train/acc & more" },
      { page: "run", entity: "e", project: "p", runId: "r1" },
      { page: "run", entity: "ü ?&", project: "a/b#c", runId: "id/with ?#%" },
      { page: "compare", entity: "e", project: "p", runs: ["a", "b", "c"] },
      { page: "artifacts", entity: "e", project: "p" },
      { page: "artifacts", entity: "ü ?&", project: "a/b#c", name: "mnist.v-1_x" },
      { page: "artifact", entity: "e", project: "p", name: "mnist", version: "latest" },
      { page: "artifact", entity: "ü ?&", project: "a/b#c", name: "a b", version: "v12" },
      { page: "compare", entity: "ü ?&", project: "a/b#c", runs: ["id,with comma", "x+y &=?#%"] },
      { page: "project", entity: "e", project: "p", q: "a", group: "tags",
        filters: [{ column: "config.lr", op: "gt", value: "0.01" }, { column: "tags", op: "has", value: "a,b & c~d" },
                  { column: "config.x~y%z", op: "bogus", value: "" }],
        cols: ["name", "notes", "config.a,b"], hide: ["r,1", "r 2&=?#%"], sel: ["x+y", "z"] },
      { page: "project", entity: "e", project: "p", cols: [] },
      { page: "project", entity: "e", project: "p", sel: ["only"], x: "_runtime" },
    ];
    for (const route of routes) {
      const url = formatRoute(route);
      const q = url.indexOf("?");
      expect(parseRoute(q < 0 ? url : url.slice(0, q), q < 0 ? "" : url.slice(q))).toEqual(route);
    }
    expect(formatRoute({ page: "project", entity: "e", project: "p", ...DEFAULT_WORKSPACE })).toBe("/e/p");
  });

  it("keeps the runs table's state in a readable URL", () => {
    expect(formatRoute({ page: "project", entity: "e", project: "p",
                         filters: [{ column: "config.lr", op: "gt", value: "0.01" }, { column: "tags", op: "has", value: "best" }],
                         cols: ["name", "config.lr"], hide: ["a,b"], sel: ["c", "d"] }))
      .toBe("/e/p?f=config.lr~gt~0.01&f=tags~has~best&cols=name,config.lr&hide=a%2Cb&sel=c,d");
    expect(parseRoute("/e/p", "?f=config.lr~gt~0.01&f=garbage&sel=a%2Cb,c&hide=")).toEqual({
      page: "project", entity: "e", project: "p",
      filters: [{ column: "config.lr", op: "gt", value: "0.01" }, { column: "garbage", op: "", value: "" }],
      sel: ["a,b", "c"],
    });
    expect(parseRoute("/e/p", "?sel=%E0%A4%A").page).toBe("project"); // a bad encoding never throws
    expect(workspaceState({})).toEqual(DEFAULT_WORKSPACE);
  });
});
