import { describe, expect, it } from "vitest";

import { groupByType } from "./artifactGroups";

describe("artifacts by type", () => {
  it("groups by type, types and names in order", () => {
    const groups = groupByType([
      { name: "mnist", type: "dataset" }, { name: "cnn", type: "model" },
      { name: "cifar", type: "dataset" }, { name: "Zeta", type: "dataset" },
    ]);
    expect(groups.map((g) => [g.type, g.artifacts.map((a) => a.name)])).toEqual([
      ["dataset", ["Zeta", "cifar", "mnist"]],
      ["model", ["cnn"]],
    ]);
  });

  it("keeps each artifact's other fields", () => {
    const [group] = groupByType([{ name: "a", type: "t", versions: 2 }]);
    expect(group!.artifacts[0]!.versions).toBe(2);
    expect(groupByType([])).toEqual([]);
  });
});
