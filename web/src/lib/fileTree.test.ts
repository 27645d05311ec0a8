import { describe, expect, it } from "vitest";

import { buildFileTree, folderPaths, visibleRows } from "./fileTree";

const entries = {
  "train/b.txt": { digest: "d2", size: 20 },
  "README.md": { digest: "d0", size: 5 },
  "train/images/0.png": { digest: "d3", size: 300 },
  "train/a.txt": { digest: "d1", size: 10 },
  "raw.tar": { digest: "etag", size: 99, ref: "s3://bucket/raw.tar" },
  "eval/c.txt": { digest: "d4", size: 1 },
};

const shown = (rows: ReturnType<typeof visibleRows>) =>
  rows.map((r) => `${"  ".repeat(r.depth)}${r.node.name}${r.node.kind === "folder" ? (r.expanded ? "/ -" : "/ +") : ""}`);

describe("artifact file trees", () => {
  it("nests entries in folders, folders first, each level by name", () => {
    const root = buildFileTree(entries);
    expect(root.children.map((c) => `${c.kind}:${c.path}`)).toEqual([
      "folder:eval", "folder:train", "file:README.md", "file:raw.tar",
    ]);
    const train = root.children[1]!;
    expect(train.kind === "folder" && train.children.map((c) => c.path)).toEqual([
      "train/images", "train/a.txt", "train/b.txt",
    ]);
  });

  it("sums each folder's sizes and counts its files at every depth", () => {
    const root = buildFileTree(entries);
    expect([root.size, root.files]).toEqual([435, 6]);
    const train = root.children[1]!;
    expect(train.kind === "folder" && [train.size, train.files]).toEqual([330, 3]);
  });

  it("keeps a reference's URI, and none for stored files", () => {
    const root = buildFileTree(entries);
    const byPath = Object.fromEntries(root.children.map((c) => [c.path, c]));
    expect(byPath["raw.tar"]).toMatchObject({ kind: "file", ref: "s3://bucket/raw.tar", size: 99 });
    expect(byPath["README.md"]).toMatchObject({ kind: "file", ref: null, digest: "d0" });
  });

  it("shows folders collapsed until expanded, and the children of expanded ones only", () => {
    const root = buildFileTree(entries);
    expect(shown(visibleRows(root, new Set()))).toEqual(["eval/ +", "train/ +", "README.md", "raw.tar"]);
    expect(shown(visibleRows(root, new Set(["train"])))).toEqual([
      "eval/ +", "train/ -", "  images/ +", "  a.txt", "  b.txt", "README.md", "raw.tar",
    ]);
    // A folder inside a collapsed one stays hidden even if it is expanded.
    expect(shown(visibleRows(root, new Set(["train/images"])))).toEqual(["eval/ +", "train/ +", "README.md", "raw.tar"]);
    expect(shown(visibleRows(root, new Set(folderPaths(root))))).toEqual([
      "eval/ -", "  c.txt", "train/ -", "  images/ -", "    0.png", "  a.txt", "  b.txt", "README.md", "raw.tar",
    ]);
  });

  it("has an empty root for an empty manifest", () => {
    expect(buildFileTree({})).toEqual({ kind: "folder", name: "", path: "", size: 0, files: 0, children: [] });
  });
});
