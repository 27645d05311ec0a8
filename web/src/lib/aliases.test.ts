import { describe, expect, it } from "vitest";

import { aliasProblem, removable, shownAliases, withAlias, withoutAlias } from "./aliases";

describe("alias edits", () => {
  it("never lets latest be removed, added or sent", () => {
    expect(removable("latest")).toBe(false);
    expect(removable("best")).toBe(true);
    expect(aliasProblem("latest", ["best"])).toMatch(/server/);
    expect(withAlias(["latest", "best"], "production")).toEqual(["best", "production"]);
    expect(withoutAlias(["latest", "best", "production"], "best")).toEqual(["production"]);
    expect(withoutAlias(["latest", "best"], "latest")).toEqual(["best"]);
  });

  it("accepts names like an artifact's, and nothing that reads as a version", () => {
    expect(aliasProblem("production", [])).toBeNull();
    expect(aliasProblem("v1.2-rc_3", [])).toBeNull();
    expect(aliasProblem("", [])).toMatch(/empty/);
    expect(aliasProblem("has space", [])).toMatch(/letters/);
    expect(aliasProblem("a:b", [])).toMatch(/letters/);
    expect(aliasProblem("a/b", [])).toMatch(/letters/);
    expect(aliasProblem("x".repeat(129), [])).toMatch(/128/);
    expect(aliasProblem("v3", [])).toMatch(/version/);
    expect(aliasProblem("12", [])).toMatch(/version/);
    expect(aliasProblem("versions", [])).toMatch(/version/);
    expect(aliasProblem("best", ["latest", "best"])).toMatch(/already/);
  });

  it("adds an alias once, at the end", () => {
    expect(withAlias(["best"], "best")).toEqual(["best"]);
    expect(withAlias([], "best")).toEqual(["best"]);
  });

  it("shows latest first", () => {
    expect(shownAliases(["best", "latest", "prod"])).toEqual(["latest", "best", "prod"]);
    expect(shownAliases(["best"])).toEqual(["best"]);
  });
});
