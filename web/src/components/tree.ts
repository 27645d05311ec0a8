// A nested key/value tree (config, summary) with an optional search box that filters it.

import { filterRows, treeRows } from "../lib/tree";
import { h, message } from "./dom";

export function keyValueTree(
  testid: string,
  value: Record<string, unknown>,
  options: { searchable?: boolean; hidePrivate?: boolean; empty: string },
): HTMLElement {
  const rows = treeRows(value, { hidePrivate: options.hidePrivate });
  const box = h("div", { class: "kv", "data-testid": testid });
  if (rows.length === 0) {
    box.append(message("empty", options.empty));
    return box;
  }
  const body = h("tbody", {});
  const draw = (query: string) => {
    const shown = filterRows(rows, query);
    body.replaceChildren(...shown.map((row) => h("tr", { class: row.group ? "group" : "leaf", "data-path": row.path },
      h("td", { class: "key", style: `padding-left:${0.75 + row.depth * 1.1}rem`, title: row.path }, row.key),
      h("td", { class: "value" }, row.value))));
    if (shown.length === 0) body.append(h("tr", {}, h("td", { colspan: 2, class: "message empty" }, "No match.")));
  };
  if (options.searchable) {
    const search = h("input", { type: "search", placeholder: "Search keys and values", class: "search",
                                "data-testid": `${testid}-search`, "aria-label": "Search" });
    search.addEventListener("input", () => draw(search.value));
    box.append(search);
  }
  box.append(h("table", {}, body));
  draw("");
  return box;
}
