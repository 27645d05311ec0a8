// An artifact version's files as a tree: folders collapsible (with their total size and file count),
// each file's size and a download link; a reference shows its URI instead (the server has no bytes).

import { buildFileTree, type Entry, type FileNode, folderPaths, visibleRows } from "../lib/fileTree";
import { formatBytes } from "../lib/format";
import { h, message } from "./dom";

export function fileTreeView(
  entries: Record<string, Entry>,
  download: (file: FileNode) => HTMLElement,
): HTMLElement {
  const root = buildFileTree(entries);
  if (root.files === 0) return message("empty", "This version has no files.");
  const expanded = new Set<string>();
  const body = h("tbody", {});

  const draw = () => {
    body.replaceChildren(...visibleRows(root, expanded).map(({ node, depth, expanded: open }) => {
      const indent = `padding-left:${0.75 + depth * 1.2}rem`;
      if (node.kind === "folder") {
        const toggle = h("button", { type: "button", class: "link folder-toggle", "data-testid": "folder-toggle",
                                     "aria-expanded": String(open), onclick: () => {
          if (open) expanded.delete(node.path);
          else expanded.add(node.path);
          draw();
        } }, `${open ? "▾" : "▸"} ${node.name}/`);
        return h("tr", { class: "folder", "data-testid": "artifact-folder", "data-path": node.path },
          h("td", { style: indent }, toggle),
          h("td", { class: "size", "data-testid": "file-size" }, formatBytes(node.size)),
          h("td", { class: "hint" }, node.files === 1 ? "1 file" : `${node.files} files`));
      }
      const last = node.ref
        ? h("span", {}, "reference: ", h("code", { "data-testid": "file-ref" }, node.ref))
        : download(node);
      return h("tr", { class: "file", "data-testid": "artifact-file", "data-path": node.path },
        h("td", { style: indent, title: `${node.path}\nsha256 ${node.digest}` },
          h("span", { "data-testid": "file-name" }, node.name)),
        h("td", { class: "size", "data-testid": "file-size" }, formatBytes(node.size)),
        h("td", {}, last));
    }));
  };

  const all = (open: boolean) => () => {
    expanded.clear();
    if (open) for (const path of folderPaths(root)) expanded.add(path);
    draw();
  };
  draw();
  return h("div", { class: "file-tree", "data-testid": "artifact-files" },
    h("div", { class: "toolbar" },
      h("span", { "data-testid": "files-total" },
        `${root.files === 1 ? "1 file" : `${root.files} files`}, ${formatBytes(root.size)}`),
      h("button", { type: "button", class: "link", "data-testid": "expand-all", onclick: all(true) }, "Expand all"),
      h("button", { type: "button", class: "link", "data-testid": "collapse-all", onclick: all(false) }, "Collapse all")),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Size"), h("th", {}, ""))), body));
}
