// An artifact's manifest as a folder tree (sizes and file counts summed up each folder), and the rows
// it shows with some folders expanded (pure; tested).

/** What the tree needs of a manifest entry (docs/artifacts.md). */
export interface Entry {
  digest: string;
  size: number;
  ref?: string | null;
}

export interface FileNode {
  kind: "file";
  name: string;
  /** The entry's path in the manifest, e.g. "images/0.png". */
  path: string;
  size: number;
  digest: string;
  /** A reference's URI (its bytes are not on the server); null for a stored file. */
  ref: string | null;
}

export interface FolderNode {
  kind: "folder";
  name: string;
  /** "images/train" (the root: ""). */
  path: string;
  /** The sum of the sizes of every file below. */
  size: number;
  /** How many files are below, at any depth. */
  files: number;
  /** Folders first, then files, each by name. */
  children: TreeNode[];
}

export type TreeNode = FileNode | FolderNode;

export interface TreeRow {
  node: TreeNode;
  depth: number;
  /** For a folder: whether its children are shown. */
  expanded: boolean;
}

function folder(name: string, path: string): FolderNode {
  return { kind: "folder", name, path, size: 0, files: 0, children: [] };
}

const byName = (a: TreeNode, b: TreeNode) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function sortTree(node: FolderNode): void {
  const folders = node.children.filter((c): c is FolderNode => c.kind === "folder").sort(byName);
  const files = node.children.filter((c) => c.kind === "file").sort(byName);
  node.children = [...folders, ...files];
  for (const child of folders) sortTree(child);
}

/** The tree of a manifest's entries (paths are relative POSIX paths: "a/b/c.txt"). */
export function buildFileTree(entries: Record<string, Entry>): FolderNode {
  const root = folder("", "");
  for (const [path, entry] of Object.entries(entries)) {
    const parts = path.split("/");
    const name = parts.pop()!;
    let here = root;
    const above: FolderNode[] = [root];
    for (const part of parts) {
      const sub = here.path ? `${here.path}/${part}` : part;
      let next = here.children.find((c): c is FolderNode => c.kind === "folder" && c.name === part);
      if (!next) {
        next = folder(part, sub);
        here.children.push(next);
      }
      here = next;
      above.push(here);
    }
    here.children.push({ kind: "file", name, path, size: entry.size, digest: entry.digest, ref: entry.ref ?? null });
    for (const f of above) {
      f.size += entry.size;
      f.files += 1;
    }
  }
  sortTree(root);
  return root;
}

/** The rows shown: the root's children, and each expanded folder's below it (depth-first). */
export function visibleRows(root: FolderNode, expanded: ReadonlySet<string>): TreeRow[] {
  const rows: TreeRow[] = [];
  const walk = (node: FolderNode, depth: number) => {
    for (const child of node.children) {
      const open = child.kind === "folder" && expanded.has(child.path);
      rows.push({ node: child, depth, expanded: open });
      if (open) walk(child as FolderNode, depth + 1);
    }
  };
  walk(root, 0);
  return rows;
}

/** Every folder's path (to expand them all). */
export function folderPaths(root: FolderNode): string[] {
  const paths: string[] = [];
  const walk = (node: FolderNode) => {
    for (const child of node.children) {
      if (child.kind !== "folder") continue;
      paths.push(child.path);
      walk(child);
    }
  };
  walk(root);
  return paths;
}
