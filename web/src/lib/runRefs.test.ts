import { describe, expect, it } from "vitest";

import { byProject, parseRunRef, runKey } from "./runRefs";

describe("lineage run refs", () => {
  it("reads a run of the artifact's project by id, and another project's as entity/project/run_id", () => {
    expect(parseRunRef("abc123", "alice", "mnist")).toEqual({ entity: "alice", project: "mnist", runId: "abc123", elsewhere: false });
    expect(parseRunRef("bob/eval/x9", "alice", "mnist")).toEqual({ entity: "bob", project: "eval", runId: "x9", elsewhere: true });
    expect(parseRunRef("alice/mnist/x9", "alice", "mnist").elsewhere).toBe(false);
    // Anything else is taken as an id of the artifact's project.
    expect(parseRunRef("a/b", "alice", "mnist").runId).toBe("a/b");
    expect(parseRunRef("a//c", "alice", "mnist").runId).toBe("a//c");
  });

  it("groups runs by project, each id once", () => {
    const refs = ["r1", "bob/eval/x9", "r2", "r1", "bob/eval/x8"].map((r) => parseRunRef(r, "alice", "mnist"));
    expect(byProject(refs)).toEqual([
      { entity: "alice", project: "mnist", runIds: ["r1", "r2"] },
      { entity: "bob", project: "eval", runIds: ["x9", "x8"] },
    ]);
    expect(runKey(refs[1]!)).toBe("bob/eval/x9");
  });
});
